/** Error codes raised by @smn/datasets (all via `SmnError` from @smn/core). */
export const DatasetErrorCode = {
  /** Unknown dataset name or bad option. */
  Usage: 'SMN_DATA_USAGE',
  /** Dataset folder or file not found under the data root. */
  NotFound: 'SMN_DATA_NOT_FOUND',
  /** File shorter than its header says / than the format needs. */
  Truncated: 'SMN_DATA_TRUNCATED',
  /** Bad magic number, header or structure. */
  Corrupt: 'SMN_DATA_CORRUPT',
  /** A label outside [0, classes). */
  LabelRange: 'SMN_DATA_LABEL_RANGE',
  /** An image that cannot be decoded. */
  Decode: 'SMN_DATA_DECODE',
  /** Sample index out of range. */
  Index: 'SMN_DATA_INDEX',
  /** A worker thread failed. */
  Worker: 'SMN_DATA_WORKER',
  /** The loader was aborted through its AbortSignal. */
  Aborted: 'SMN_DATA_ABORTED',
  /** A dataset path is a FIFO, socket, device or directory, not a regular file (named error or skipped with a warning). */
  NotRegular: 'SMN_DATA_NOT_REGULAR',
  /** A compressed dataset file inflates past the size its header states. */
  TooLarge: 'SMN_DATA_TOO_LARGE',
  /** Warning: more worker threads were asked for than there are cores; the loader uses one per core. */
  WorkersCapped: 'SMN_DATA_WORKERS_CAPPED',
} as const;

export type DatasetErrorCode = (typeof DatasetErrorCode)[keyof typeof DatasetErrorCode];

/** @deprecated The same codes under their 0.1 keys; use {@link DatasetErrorCode}. */
export const DATASET_ERRORS = {
  USAGE: DatasetErrorCode.Usage,
  NOT_FOUND: DatasetErrorCode.NotFound,
  TRUNCATED: DatasetErrorCode.Truncated,
  CORRUPT: DatasetErrorCode.Corrupt,
  LABEL_RANGE: DatasetErrorCode.LabelRange,
  DECODE: DatasetErrorCode.Decode,
  INDEX: DatasetErrorCode.Index,
  WORKER: DatasetErrorCode.Worker,
  ABORTED: DatasetErrorCode.Aborted,
  NOT_REGULAR: DatasetErrorCode.NotRegular,
  TOO_LARGE: DatasetErrorCode.TooLarge,
  WORKERS_CAPPED: DatasetErrorCode.WorkersCapped,
} as const;
