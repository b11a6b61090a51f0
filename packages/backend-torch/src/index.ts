export {
  registerTorchBackend,
  isTorchAvailable,
  torchUnavailableReason,
  torchNativeKernels,
  torchFallbackKernels,
  TORCH_BACKEND_NAME,
} from './register.js';
export { torchProfile, resetTorchProfile, type TorchProfile } from './profile.js';
export { TorchBackend } from './backend.js';
export type { TorchBackendOptions, TorchBackendInfo } from './types.js';
export { fusedBatchNormTrain, fusedBatchNormTrainStats } from './batch-norm.js';
export { TorchErrorCode } from './errors.js';
