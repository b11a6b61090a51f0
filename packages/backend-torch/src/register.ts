import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { SmnError } from '@smn/core';
import { TorchErrorCode } from './errors.js';
import { TorchBackend } from './backend.js';
import { runFallback } from './fallback.js';
import { RELU_GRAD, nativeKernels } from './kernels.js';
import { loadNative } from './native.js';
import { countNative } from './profile.js';
import type { TorchBackendInfo, TorchBackendOptions } from './types.js';

/** The tfjs backend name this package registers. */
export const TORCH_BACKEND_NAME = 'torch';

let state: { device: 'cpu' | 'cuda'; info: TorchBackendInfo } | undefined;
let kernelsRegistered = false;

/** True when the libtorch addon is built and loads (it does not register anything). */
export function isTorchAvailable(): boolean {
  return 'native' in loadNative();
}

/** Why the addon is unavailable, or null when it loads. */
export function torchUnavailableReason(): string | null {
  const r = loadNative();
  return 'error' in r ? r.error : null;
}

function kernelFuncFor(name: string): tf.KernelFunc {
  const impl = nativeKernels[name];
  const fallbackOnly: tf.KernelFunc = (args) => runFallback(name, args as never);
  if (impl === undefined) return fallbackOnly;
  return (args) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo | null | undefined>;
    for (const k in inputs) {
      const t = inputs[k];
      if (t != null && (t.dtype === 'string' || t.dtype === 'complex64')) return runFallback(name, args as never);
    }
    const out = impl(args as never);
    if (out === null) return runFallback(name, args as never);
    countNative(name);
    return out;
  };
}

/** Names of the kernels that run natively in libtorch (some fall back to cpu for unusual dtypes or shapes). */
export function torchNativeKernels(): string[] {
  return Object.keys(nativeKernels).sort();
}

/** Names of the kernels that always run on the cpu fallback. */
export function torchFallbackKernels(): string[] {
  return tf
    .getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((n) => nativeKernels[n] === undefined)
    .sort();
}

function registerKernels(): void {
  if (kernelsRegistered) return;
  const names = new Set<string>([...Object.keys(nativeKernels), ...tf.getKernelsForBackend('cpu').map((k) => k.kernelName)]);
  for (const kernelName of names) {
    if (tf.getKernel(kernelName, TORCH_BACKEND_NAME) !== undefined) continue;
    tf.registerKernel({ kernelName, backendName: TORCH_BACKEND_NAME, kernelFunc: kernelFuncFor(kernelName) });
  }
  registerFusedGradients();
  kernelsRegistered = true;
}

/**
 * Replaces tfjs's Relu gradient (dy·cast(step(x)): two passes, a temporary, and the input kept alive) by one that
 * reads the output and runs a single fused kernel while 'torch' is the active backend, and is tfjs's own formula on
 * every other backend. (If a package that registers tfjs's gradients, e.g. @tensorflow/tfjs-layers, is imported
 * afterwards, tfjs's version wins again; results are the same except that a NaN input gives dy rather than NaN.)
 */
function registerFusedGradients(): void {
  tf.registerGradient({
    kernelName: 'Relu',
    // The output, not the input: y > 0 exactly where x > 0, and y is what the next layer saves anyway, so the input
    // (a batch norm's output) is freed as soon as the forward pass moves on, as with PyTorch's in-place ReLU.
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      return {
        x: () =>
          tf.getBackend() === TORCH_BACKEND_NAME && y.dtype === 'float32' && d.dtype === 'float32'
            ? (tf.engine().runKernel(RELU_GRAD, { dy: d, x: y }, {}) as tf.Tensor)
            : tf.mul(d, tf.cast(tf.step(y), 'float32')),
      };
    },
  });
}

/**
 * Registers the tfjs backend 'torch' (libtorch through the N-API addon) and its kernels; activate it with
 * `await tf.setBackend('torch')`. Calling it again with the same device is a no-op; another device replaces the
 * backend (its tensors are freed).
 * @throws SmnError SMN_TORCH_UNAVAILABLE when the addon is not built or cannot load; SMN_TORCH_DEVICE for 'cuda'
 *   without a CUDA device.
 */
export async function registerTorchBackend(options: TorchBackendOptions = {}): Promise<TorchBackendInfo> {
  const loaded = loadNative();
  if ('error' in loaded) {
    throw new SmnError(
      TorchErrorCode.Unavailable,
      `libtorch not found: ${loaded.error}. Install libtorch-dev (Debian) or set LIBTORCH (a libtorch folder) or LIBTORCH_PY (a Python with torch), then run \`pnpm rebuild @smn/backend-torch\``,
      { details: { reason: loaded.error } },
    );
  }
  const native = loaded.native;
  const envDevice = process.env.SMN_TORCH_DEVICE;
  const device = options.device ?? (envDevice === 'cuda' || envDevice === 'cpu' ? envDevice : native.info().cudaAvailable ? 'cuda' : 'cpu');
  if (device !== 'cpu' && device !== 'cuda') {
    throw new SmnError(TorchErrorCode.Device, `registerTorchBackend: device must be 'cpu' or 'cuda', found '${String(device)}'`, { kind: 'usage' });
  }
  const envThreads = Number(process.env.SMN_TORCH_THREADS);
  const threads = options.threads ?? (Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
  if (!Number.isInteger(threads) || threads < 1) {
    throw new SmnError(TorchErrorCode.Threads, `registerTorchBackend: threads must be a positive integer, found ${threads}`, { kind: 'usage' });
  }
  if (state && state.device === device) {
    if (threads !== state.info.threads) state.info.threads = native.init(device, threads);
    return { ...state.info };
  }
  if (device === 'cuda' && !native.info().cudaAvailable) {
    throw new SmnError(TorchErrorCode.Device, "registerTorchBackend: device 'cuda' requested, but libtorch sees no CUDA device (CPU-only libtorch, or no GPU); use device 'cpu' or build against a CUDA libtorch with LIBTORCH_PY", { kind: 'usage' });
  }
  if (state) tf.removeBackend(TORCH_BACKEND_NAME);
  const used = native.init(device, threads);
  const info = native.info();
  registerKernels();
  tf.registerBackend(TORCH_BACKEND_NAME, () => new TorchBackend(native, device), 3);
  state = { device, info: { device: info.device, threads: used, torchVersion: info.torchVersion ?? 'unknown' } };
  return { ...state.info };
}
