/** Error codes thrown (as SmnError) by @smn/backend-torch. */
export const TorchErrorCode = {
  /** The addon is not built or cannot load (no libtorch at install time, or a broken build). */
  Unavailable: 'SMN_TORCH_UNAVAILABLE',
  /** An unknown device, or 'cuda' without a CUDA libtorch/device. */
  Device: 'SMN_TORCH_DEVICE',
  /** threads is not a positive integer. */
  Threads: 'SMN_TORCH_THREADS',
  /** A tensor's data is not on this backend (disposed). */
  Data: 'SMN_TORCH_DATA',
  /** A dtype the backend cannot hold natively (complex64). */
  Dtype: 'SMN_TORCH_DTYPE',
} as const;

export type TorchErrorCode = (typeof TorchErrorCode)[keyof typeof TorchErrorCode];
