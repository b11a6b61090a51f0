import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';

// The wasm backend (tfjs 4.22) has no Conv2DBackpropFilter and a plain-loop Conv2DBackpropInput about 10x slower
// than its XNNPACK forward conv (TFJS-NOTES.md). Both gradients are convolutions themselves, so they are rewritten
// here as its fast forward `Conv2D` on transposed operands, calling the registered wasm kernels directly (no tape,
// no engine bookkeeping) and freeing every intermediate with `backend.disposeData`.

type TI = tf.TensorInfo;
type Attrs = Record<string, unknown>;

/** The subset of the wasm backend this file touches. */
interface WasmBackendLike extends tf.KernelBackend {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  write(values: tf.backend_util.BackendValues | null, shape: number[], dtype: tf.DataType): tf.DataId;
}

/**
 * Kernels run on `cpu` with a copy each way: those the wasm backend lacks that a training step can hit, and
 * `MaxPoolGrad`, whose wasm version (4.22) is wrong when there is more than one channel (up to 18% off in tests).
 */
export const WASM_CPU_FALLBACK_KERNELS = [
  'MaxPoolGrad',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  'Einsum',
] as const;

/** The kernels `registerWasmTrainingKernels` installs (or replaces) on the `wasm` backend. */
export const WASM_TRAINING_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', ...WASM_CPU_FALLBACK_KERNELS] as const;

function runKernel(name: string, backend: WasmBackendLike, inputs: Record<string, TI>, attrs: Attrs): TI {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) {
    throw new SmnError('SMN_BACKEND_KERNEL_MISSING', `wasm kernel '${name}' is not registered; is @tensorflow/tfjs-backend-wasm 4.22 loaded?`);
  }
  return k.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, attrs: attrs as tf.NamedAttrMap, backend }) as TI;
}

function checkNhwc(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new SmnError(
      'SMN_BACKEND_KERNEL_UNSUPPORTED',
      `${kernel} on wasm: expected dataFormat 'NHWC', found '${String(dataFormat)}'; smn keeps activations NHWC`,
    );
  }
}

/**
 * Runs a stride-1 wasm `Conv2D` with explicit paddings that may be negative (a negative pad crops the input).
 * x: [B, H, W, C], filter: [kh, kw, C, O]. The caller owns x and filter; the result is new.
 */
function convAnyPad(
  backend: WasmBackendLike,
  x: TI,
  filter: TI,
  pads: { top: number; bottom: number; left: number; right: number },
  dilations: [number, number],
): TI {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const cropT = Math.max(0, -pads.top);
  const cropB = Math.max(0, -pads.bottom);
  const cropL = Math.max(0, -pads.left);
  const cropR = Math.max(0, -pads.right);
  let input = x;
  if (cropT + cropB + cropL + cropR > 0) {
    input = runKernel('Slice', backend, { x }, { begin: [0, cropT, cropL, 0], size: [b, h - cropT - cropB, w - cropL - cropR, c] });
  }
  const out = runKernel('Conv2D', backend, { x: input, filter }, {
    strides: [1, 1],
    dilations,
    pad: [
      [0, 0],
      [Math.max(0, pads.top), Math.max(0, pads.bottom)],
      [Math.max(0, pads.left), Math.max(0, pads.right)],
      [0, 0],
    ],
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
  });
  if (input !== x) backend.disposeData(input.dataId);
  return out;
}

/**
 * dW[p,q,c,o] = Σ_{n,i,j} x[n, i·sh+p−pt, j·sw+q−pl, c] · dy[n,i,j,o]: a stride-1 convolution of x viewed as
 * [Ci, H, W, N] with dy viewed as a [Ho, Wo, N, Co] filter dilated by the stride, giving [Ci, kh, kw, Co].
 */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TI {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs as { x: TI; dy: TI };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  checkNhwc('Conv2DBackpropFilter', dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  );
  const [kh, kw] = filterShape;
  const [, h, w] = x.shape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  const xt = runKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
  const dyt = runKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, Co]
  const out = convAnyPad(
    backend,
    xt,
    dyt,
    { top: pt, bottom: kh + (ho - 1) * sh - h - pt, left: pl, right: kw + (wo - 1) * sw - w - pl },
    [sh, sw],
  ); // [Ci, kh, kw, Co]
  backend.disposeData(xt.dataId);
  backend.disposeData(dyt.dataId);
  const dw = runKernel('Transpose', backend, { x: out }, { perm: [1, 2, 0, 3] }); // [kh, kw, Ci, Co]
  backend.disposeData(out.dataId);
  return dw;
}

/** Inserts (s−1) zeros between rows / columns of dy [N, Ho, Wo, C] → [N, Ho·sh, Wo·sw, C] (trailing zeros kept). */
function dilateRowsCols(backend: WasmBackendLike, dy: TI, sh: number, sw: number): TI {
  const [n, ho, wo, c] = dy.shape as [number, number, number, number];
  let cur = dy;
  const owned: TI[] = [];
  if (sw > 1) {
    const r = runKernel('Reshape', backend, { x: cur }, { shape: [n * ho * wo, 1, c] });
    owned.push(r);
    const p = runKernel('PadV2', backend, { x: r }, { paddings: [[0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
    owned.push(p);
    cur = p;
  }
  if (sh > 1) {
    const r = runKernel('Reshape', backend, { x: cur }, { shape: [n * ho, 1, wo * sw * c] });
    owned.push(r);
    const p = runKernel('PadV2', backend, { x: r }, { paddings: [[0, 0], [0, sh - 1], [0, 0]], constantValue: 0 });
    owned.push(p);
    cur = p;
  }
  const out = runKernel('Reshape', backend, { x: cur }, { shape: [n, ho * sh, wo * sw, c] });
  for (const t of owned) backend.disposeData(t.dataId);
  return out;
}

/**
 * dX = conv(dy dilated by the stride, filter rotated 180° with in/out swapped), stride 1, padding kh−1−pt on top.
 * dy: [N, Ho, Wo, Co], filter: [kh, kw, Ci, Co] → [N, H, W, Ci].
 */
function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TI {
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs as { dy: TI; filter: TI };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  checkNhwc('Conv2DBackpropInput', dataFormat);
  const fShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, fShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const [kh, kw] = fShape;
  const [, h, w] = inputShape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const dyd = sh > 1 || sw > 1 ? dilateRowsCols(backend, dy, sh, sw) : dy;
  const [, hd, wd] = dyd.shape as [number, number, number, number];
  const rev = runKernel('Reverse', backend, { x: filter }, { dims: [0, 1] });
  const wrot = runKernel('Transpose', backend, { x: rev }, { perm: [0, 1, 3, 2] }); // [kh, kw, Co, Ci]
  backend.disposeData(rev.dataId);
  const padTop = kh - 1 - info.padInfo.top;
  const padLeft = kw - 1 - info.padInfo.left;
  const dx = convAnyPad(
    backend,
    dyd,
    wrot,
    { top: padTop, bottom: h + kh - 1 - hd - padTop, left: padLeft, right: w + kw - 1 - wd - padLeft },
    [1, 1],
  );
  backend.disposeData(wrot.dataId);
  if (dyd !== dy) backend.disposeData(dyd.dataId);
  return dx;
}

/** Runs the `cpu` kernel `name` on copies of the inputs and copies the result(s) back to wasm. */
function cpuFallback(name: string): tf.KernelFunc {
  return (args) => {
    const wasm = args.backend as WasmBackendLike;
    const cpu = tf.findBackend('cpu') as WasmBackendLike | null;
    const kernel = tf.getKernel(name, 'cpu');
    if (cpu === null || kernel === undefined) {
      throw new SmnError('SMN_BACKEND_KERNEL_MISSING', `wasm has no '${name}' kernel and the cpu fallback is not available`);
    }
    const cpuInputs: Record<string, TI> = {};
    for (const [k, t] of Object.entries(args.inputs)) {
      if (t === undefined) continue;
      cpuInputs[k] = { dataId: cpu.write(wasm.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
    }
    const res = kernel.kernelFunc({ inputs: cpuInputs as tf.NamedTensorInfoMap, attrs: args.attrs, backend: cpu });
    const back = (o: TI): TI => {
      const out = { dataId: wasm.write(cpu.readSync(o.dataId), o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
      cpu.disposeData(o.dataId);
      return out;
    };
    const out = Array.isArray(res) ? res.map(back) : back(res as TI);
    for (const t of Object.values(cpuInputs)) cpu.disposeData(t.dataId);
    return out;
  };
}

let registered = false;
const originals = new Map<string, tf.KernelConfig>();
const originalsSetUp = new Set<string>();

/**
 * The wasm kernel a name had before `registerWasmTrainingKernels` replaced it (for benchmarks), if any. Its setup
 * (binding the wasm function) runs on first call, with the backend passed in the call.
 */
export function originalWasmKernel(name: string): tf.KernelFunc | undefined {
  const cfg = originals.get(name);
  if (cfg === undefined) return undefined;
  return (args) => {
    if (!originalsSetUp.has(name)) {
      cfg.setupFunc?.(args.backend);
      originalsSetUp.add(name);
    }
    return cfg.kernelFunc(args);
  };
}

/**
 * Installs the kernels a conv-net training step needs on the `wasm` backend: `Conv2DBackpropFilter` and a faster
 * `Conv2DBackpropInput` (both through wasm's XNNPACK forward conv), and cpu fallbacks for `MaxPoolGrad` (wasm's is
 * wrong for C > 1), depthwise-conv gradients, `UnsortedSegmentSum` and `Einsum`. Idempotent; needs `@tensorflow/tfjs-backend-wasm` imported first.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const replace = (kernelName: string, kernelFunc: tf.KernelFunc): void => {
    const prev = tf.getKernel(kernelName, 'wasm');
    if (prev !== undefined) {
      originals.set(kernelName, prev);
      tf.unregisterKernel(kernelName, 'wasm');
    }
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  };
  replace('Conv2DBackpropFilter', conv2DBackpropFilter as unknown as tf.KernelFunc);
  replace('Conv2DBackpropInput', conv2DBackpropInput as unknown as tf.KernelFunc);
  for (const name of WASM_CPU_FALLBACK_KERNELS) replace(name, cpuFallback(name));
  registered = true;
}
