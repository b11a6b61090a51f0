/** Error codes raised by @smn/swav (all `SmnError`s from @smn/core). */
export const SwavErrorCode = {
  /** A tensor argument has the wrong rank or shape. */
  Shape: 'SMN_SWAV_SHAPE',
  /** An option is out of range or inconsistent (crops, epsilon, temperature, queue length). */
  Option: 'SMN_SWAV_OPTION',
  /** A saved head or queue state does not match this head or queue. */
  State: 'SMN_SWAV_STATE',
  /** The object was used after dispose(). */
  Disposed: 'SMN_SWAV_DISPOSED',
} as const;

export type SwavErrorCode = (typeof SwavErrorCode)[keyof typeof SwavErrorCode];

/** @deprecated The same codes under their 0.1 keys; use {@link SwavErrorCode}. */
export const SWAV_ERRORS = {
  shape: SwavErrorCode.Shape,
  option: SwavErrorCode.Option,
  state: SwavErrorCode.State,
  disposed: SwavErrorCode.Disposed,
} as const;
