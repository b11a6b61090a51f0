/**
 * Error codes raised by `@smn/subnetworks` (all as `SmnError` from `@smn/core`). Messages name the parameter or
 * file and say what was expected and what was found.
 */
export const SubnetErrorCode = {
  /** `select()` returned something other than 'mask' | 'train' | 'freeze' | [mode, slot]. */
  BadSelection: 'SMN_SUBNET_BAD_SELECTION',
  /** An option has a bad value (unknown mode, k out of range, non-float weight to mask…). */
  BadOption: 'SMN_SUBNET_BAD_OPTION',
  /** A score initialiser returned a tensor of the wrong shape or dtype. */
  BadScores: 'SMN_SUBNET_BAD_SCORES',
  /** The masked model was used after `dispose()`. */
  Disposed: 'SMN_SUBNET_DISPOSED',
  /** A mask and the weight it applies to differ in shape, or a name is missing. */
  MaskMismatch: 'SMN_MASK_MISMATCH',
  /** A mask contains values other than 0/1 (or ±1 for flip). */
  MaskValues: 'SMN_MASK_VALUES',
  /** A `.smnmask` file could not be read, or is not one. */
  FileInvalid: 'SMN_MASK_FILE_INVALID',
  /** A `.smnmask` file is shorter than its header says. */
  FileTruncated: 'SMN_MASK_FILE_TRUNCATED',
  /** A `.smnmask` payload fails its checksum or cannot be decompressed. */
  FileCorrupt: 'SMN_MASK_FILE_CORRUPT',
  /** A `.smnmask` file declares more mask entries than the reader accepts, or its payload inflates past what its header needs. */
  FileTooLarge: 'SMN_MASK_FILE_TOO_LARGE',
  /** A `.smnmask` file was made for other base weights. */
  BaseMismatch: 'SMN_MASK_BASE_MISMATCH',
  /** Brotli was asked for where Node's zlib is absent (browsers); gzip works everywhere. */
  BrotliUnavailable: 'SMN_MASK_BROTLI_UNAVAILABLE',
} as const;

export type SubnetErrorCode = (typeof SubnetErrorCode)[keyof typeof SubnetErrorCode];
