/** Error codes raised by @smn/cascade (all thrown as `SmnError` from `@smn/core`). */
export const CascadeErrorCode = {
  /** A matrix or label array has the wrong shape or length. */
  Shape: 'SMN_CASCADE_SHAPE',
  /** An option is out of range. */
  Option: 'SMN_CASCADE_OPTION',
  /** A covariance or Gram matrix is not positive definite. */
  NotPositiveDefinite: 'SMN_CASCADE_NOT_POSITIVE_DEFINITE',
  /** A saved clustering folder or file is missing or inconsistent. */
  File: 'SMN_CASCADE_FILE',
  /** The work was aborted through an AbortSignal. */
  Aborted: 'SMN_CASCADE_ABORTED',
} as const;

export type CascadeErrorCode = (typeof CascadeErrorCode)[keyof typeof CascadeErrorCode];

/** @deprecated The same codes under their 0.1 keys; use {@link CascadeErrorCode}. */
export const CASCADE_ERRORS = {
  SHAPE: CascadeErrorCode.Shape,
  OPTION: CascadeErrorCode.Option,
  NOT_PD: CascadeErrorCode.NotPositiveDefinite,
  FILE: CascadeErrorCode.File,
  ABORTED: CascadeErrorCode.Aborted,
} as const;
