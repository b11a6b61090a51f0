/** Error codes raised by @smn/knn (all `SmnError`s from @smn/core). */
export const KNN_ERRORS = {
  /** A matrix argument has the wrong rank, shape or data length. */
  shape: 'SMN_KNN_SHAPE',
  /** Labels are not integers in [0, numClasses) or their count does not match the bank. */
  labels: 'SMN_KNN_LABELS',
  /** An option is out of range (k, temperature, chunk sizes, maxSamples). */
  option: 'SMN_KNN_OPTION',
  /** Aborted through the AbortSignal. */
  aborted: 'SMN_KNN_ABORTED',
} as const;
