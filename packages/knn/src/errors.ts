/** Error codes raised by @smn/knn (all `SmnError`s from @smn/core). */
export const KnnErrorCode = {
  /** A matrix argument has the wrong rank, shape or data length. */
  Shape: 'SMN_KNN_SHAPE',
  /** Labels are not integers in [0, numClasses) or their count does not match the bank. */
  Labels: 'SMN_KNN_LABELS',
  /** An option is out of range (k, temperature, chunk sizes, maxSamples). */
  Option: 'SMN_KNN_OPTION',
  /** Aborted through the AbortSignal. */
  Aborted: 'SMN_KNN_ABORTED',
} as const;

export type KnnErrorCode = (typeof KnnErrorCode)[keyof typeof KnnErrorCode];

/** @deprecated The same codes under their 0.1 keys; use {@link KnnErrorCode}. */
export const KNN_ERRORS = {
  shape: KnnErrorCode.Shape,
  labels: KnnErrorCode.Labels,
  option: KnnErrorCode.Option,
  aborted: KnnErrorCode.Aborted,
} as const;
