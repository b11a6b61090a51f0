/** Error codes raised by @smn/swav (all `SmnError`s from @smn/core). */
export const SWAV_ERRORS = {
  /** A tensor argument has the wrong rank or shape. */
  shape: 'SMN_SWAV_SHAPE',
  /** An option is out of range or inconsistent (crops, epsilon, temperature, queue length). */
  option: 'SMN_SWAV_OPTION',
  /** A saved head or queue state does not match this head or queue. */
  state: 'SMN_SWAV_STATE',
  /** The object was used after dispose(). */
  disposed: 'SMN_SWAV_DISPOSED',
} as const;
