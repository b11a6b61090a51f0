/** Error codes raised by @smn/backend (all `SmnError`s from @smn/core). */
export const BackendErrorCode = {
  /** A backend name (argument or SMN_BACKEND) that is not one of `BACKEND_NAMES`. */
  Unknown: 'SMN_BACKEND_UNKNOWN',
  /** The backend asked for cannot be initialised here (the message says why and how to get it), or none can. */
  Unavailable: 'SMN_BACKEND_UNAVAILABLE',
  /** A wasm kernel smn needs is not registered (and no cpu fallback is available). */
  KernelMissing: 'SMN_BACKEND_KERNEL_MISSING',
  /** A wasm kernel called with attributes it does not implement. */
  KernelUnsupported: 'SMN_BACKEND_KERNEL_UNSUPPORTED',
  /** A kernel on the path from the loss has no registered gradient, or nothing to differentiate. */
  NoGradient: 'SMN_NO_GRADIENT',
  /** A gradient (or dy) that is not float32. */
  GradientDtype: 'SMN_GRADIENT_DTYPE',
  /** A gradient whose shape differs from its input's. */
  GradientShape: 'SMN_GRADIENT_SHAPE',
  /** The function passed to `gradients()` did not return a tensor. */
  GradientValue: 'SMN_GRADIENT_VALUE',
  /** This tfjs-core lacks an engine internal the lean backward walk relies on. */
  LeanBackpropUnsupported: 'SMN_LEAN_BACKPROP_UNSUPPORTED',
} as const;

export type BackendErrorCode = (typeof BackendErrorCode)[keyof typeof BackendErrorCode];
