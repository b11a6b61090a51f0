/** Error codes raised by @smn/cascade (all thrown as `SmnError` from `@smn/core`). */
export const CASCADE_ERRORS = {
  /** A matrix or label array has the wrong shape or length. */
  SHAPE: 'SMN_CASCADE_SHAPE',
  /** An option is out of range. */
  OPTION: 'SMN_CASCADE_OPTION',
  /** A covariance or Gram matrix is not positive definite. */
  NOT_PD: 'SMN_CASCADE_NOT_POSITIVE_DEFINITE',
  /** A saved clustering folder or file is missing or inconsistent. */
  FILE: 'SMN_CASCADE_FILE',
  /** The work was aborted through an AbortSignal. */
  ABORTED: 'SMN_CASCADE_ABORTED',
} as const;
