export { BACKEND_NAMES } from '@smn/core';
export { useBackend, releaseBackend, currentBackend, AUTO_ORDER, BACKEND_HINTS, OPTIONAL_BACKEND_PACKAGES } from './use-backend.js';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS, WASM_CPU_FALLBACK_KERNELS } from './wasm-kernels.js';
export type { BackendName, ConcreteBackendName, BackendChoice, SkippedBackend, UseBackendOptions } from './types.js';
export { BackendErrorCode } from './errors.js';
export { tf } from './tf.js';
export { enableLeanBackprop, disableLeanBackprop, leanBackpropEnabled } from './lean-backprop.js';
