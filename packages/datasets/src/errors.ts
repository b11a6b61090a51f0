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
  /** A dataset path is a FIFO, socket, device or directory, not a regular file (named error or skipped with a warning). */
  NOT_REGULAR: 'SMN_DATA_NOT_REGULAR',
  /** A compressed dataset file inflates past the size its header states. */
  TOO_LARGE: 'SMN_DATA_TOO_LARGE',
  /** Warning: more worker threads were asked for than there are cores; the loader uses one per core. */
  WORKERS_CAPPED: 'SMN_DATA_WORKERS_CAPPED',
} as const;
