/** Error codes raised by @smn/datasets (all via `SmnError` from @smn/core). */
export const DATASET_ERRORS = {
  /** Unknown dataset name or bad option. */
  USAGE: 'SMN_DATA_USAGE',
  /** Dataset folder or file not found under the data root. */
  NOT_FOUND: 'SMN_DATA_NOT_FOUND',
  /** File shorter than its header says / than the format needs. */
  TRUNCATED: 'SMN_DATA_TRUNCATED',
  /** Bad magic number, header or structure. */
  CORRUPT: 'SMN_DATA_CORRUPT',
  /** A label outside [0, classes). */
  LABEL_RANGE: 'SMN_DATA_LABEL_RANGE',
  /** An image that cannot be decoded. */
  DECODE: 'SMN_DATA_DECODE',
  /** Sample index out of range. */
  INDEX: 'SMN_DATA_INDEX',
  /** A worker thread failed. */
  WORKER: 'SMN_DATA_WORKER',
  /** The loader was aborted through its AbortSignal. */
  ABORTED: 'SMN_DATA_ABORTED',
} as const;
