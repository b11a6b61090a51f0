import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import { BackendErrorCode } from './errors.js';

// The wasm backend (tfjs 4.22) has no Conv2DBackpropFilter and a plain-loop Conv2DBackpropInput about 10x slower
// than its XNNPACK forward conv (this package's README, "The wasm training kernels"). Both gradients are convolutions themselves, so they are rewritten
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
    throw new SmnError(BackendErrorCode.KernelMissing, `wasm kernel '${name}' is not registered; is @tensorflow/tfjs-backend-wasm 4.22 loaded?`);
  }
  return k.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, attrs: attrs as tf.NamedAttrMap, backend }) as TI;
}

function checkNhwc(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new SmnError(
      BackendErrorCode.KernelUnsupported,
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

type Shape4 = [number, number, number, number];

/** The geometry of a conv gradient kernel's call (NHWC only), from its attributes and the input and filter shapes. */
function convGradInfo(kernel: string, attrs: tf.NamedAttrMap, xShape: Shape4, filterShape: Shape4): tf.backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  checkNhwc(kernel, dataFormat);
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
}

/**
 * dW[p,q,c,o] = Σ_{n,i,j} x[n, i·sh+p−pt, j·sw+q−pl, c] · dy[n,i,j,o]: a stride-1 convolution of x viewed as
 * [Ci, H, W, N] with dy viewed as a [Ho, Wo, N, Co] filter dilated by the stride, giving [Ci, kh, kw, Co].
 */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TI {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs as { x: TI; dy: TI };
  const { filterShape } = args.attrs as unknown as { filterShape: Shape4 };
  const info = convGradInfo('Conv2DBackpropFilter', args.attrs, x.shape as Shape4, filterShape);
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

let useZeroInsertion = false;

/** Strided dX by zero insertion (`true`) or by phases (`false`, default); for tests and benchmarks. */
export function setWasmStridedBackpropInputMethod(method: 'zeros' | 'phases'): void {
  useZeroInsertion = method === 'zeros';
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

/** Per-dimension plan of one output phase r of a strided conv's input gradient (see `conv2DBackpropInputStrided`). */
interface Phase {
  /** Number of rows h = s·u + r in the input. */
  count: number;
  /** First filter tap used (taps a, a+s, ...). */
  a: number;
  /** Number of taps used. */
  taps: number;
  /** Pads of the stride-1 correlation of dy with the reversed sub-filter. */
  before: number;
  after: number;
}

function phasePlan(size: number, outSize: number, k: number, s: number, pad: number): Phase[] {
  const out: Phase[] = [];
  for (let r = 0; r < s; r++) {
    const count = Math.max(0, Math.ceil((size - r) / s));
    const a = (((r + pad) % s) + s) % s;
    const taps = Math.max(0, Math.ceil((k - a) / s));
    const d = (r + pad - a) / s;
    const before = taps - 1 - d;
    out.push({ count, a, taps, before, after: count + taps - 1 - outSize - before });
  }
  return out;
}

/**
 * Strided dX without inserting zeros: input rows h = s·u + r only receive filter taps p ≡ (r + pad) mod s, so each of
 * the s_h·s_w phases is a stride-1 conv of dy with a reversed sub-filter; the phases are then interleaved.
 * dX[s·u + r] = Σ_t dy[u + d − t] · W[a + s·t], with a = (r + pad) mod s, d = (r + pad − a) / s.
 */
function conv2DBackpropInputStrided(
  backend: WasmBackendLike,
  dy: TI,
  filter: TI,
  inputShape: [number, number, number, number],
  info: tf.backend_util.Conv2DInfo,
): TI {
  const [n, h, w, ci] = inputShape;
  const [kh, kw] = filter.shape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const rows = phasePlan(h, ho, kh, sh, info.padInfo.top);
  const cols = phasePlan(w, wo, kw, sw, info.padInfo.left);
  const uc = Math.ceil(h / sh);
  const vc = Math.ceil(w / sw);
  const rowBlocks: TI[] = [];
  for (const ph of rows) {
    const colBlocks: TI[] = [];
    for (const pw of cols) {
      let block: TI;
      if (ph.taps === 0 || pw.taps === 0 || ph.count === 0 || pw.count === 0) {
        block = runKernel('Fill', backend, {}, { shape: [n, uc, vc, ci], value: 0, dtype: 'float32' });
      } else {
        const sub = runKernel('StridedSlice', backend, { x: filter }, {
          begin: [ph.a, pw.a, 0, 0],
          end: [kh, kw, filter.shape[2], filter.shape[3]],
          strides: [sh, sw, 1, 1],
          beginMask: 0,
          endMask: 0,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 0,
        }); // [taps_h, taps_w, Ci, Co]
        const rev = runKernel('Reverse', backend, { x: sub }, { dims: [0, 1] });
        const f = runKernel('Transpose', backend, { x: rev }, { perm: [0, 1, 3, 2] }); // [taps_h, taps_w, Co, Ci]
        backend.disposeData(sub.dataId);
        backend.disposeData(rev.dataId);
        const part = convAnyPad(backend, dy, f, { top: ph.before, bottom: ph.after, left: pw.before, right: pw.after }, [1, 1]);
        backend.disposeData(f.dataId);
        if (ph.count === uc && pw.count === vc) block = part;
        else {
          block = runKernel('PadV2', backend, { x: part }, {
            paddings: [[0, 0], [0, uc - ph.count], [0, vc - pw.count], [0, 0]],
            constantValue: 0,
          });
          backend.disposeData(part.dataId);
        }
      }
      const r = runKernel('Reshape', backend, { x: block }, { shape: [n, uc, 1, vc, 1, ci] });
      backend.disposeData(block.dataId);
      colBlocks.push(r);
    }
    const row = colBlocks.length === 1 ? colBlocks[0]! : runKernel('Concat', backend, colBlocks as unknown as Record<string, TI>, { axis: 4 });
    if (colBlocks.length > 1) for (const b of colBlocks) backend.disposeData(b.dataId);
    rowBlocks.push(row);
  }
  const all = rowBlocks.length === 1 ? rowBlocks[0]! : runKernel('Concat', backend, rowBlocks as unknown as Record<string, TI>, { axis: 2 });
  if (rowBlocks.length > 1) for (const b of rowBlocks) backend.disposeData(b.dataId);
  const flat = runKernel('Reshape', backend, { x: all }, { shape: [n, uc * sh, vc * sw, ci] });
  backend.disposeData(all.dataId);
  if (uc * sh === h && vc * sw === w) return flat;
  const dx = runKernel('Slice', backend, { x: flat }, { begin: [0, 0, 0, 0], size: [n, h, w, ci] });
  backend.disposeData(flat.dataId);
  return dx;
}

/**
 * dX = conv(dy dilated by the stride, filter rotated 180° with in/out swapped), stride 1, padding kh−1−pt on top.
 * dy: [N, Ho, Wo, Co], filter: [kh, kw, Ci, Co] → [N, H, W, Ci].
 */
function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TI {
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs as { dy: TI; filter: TI };
  const { inputShape } = args.attrs as unknown as { inputShape: Shape4 };
  const fShape = filter.shape as Shape4;
  const info = convGradInfo('Conv2DBackpropInput', args.attrs, inputShape, fShape);
  const [kh, kw] = fShape;
  const [, h, w] = inputShape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  if ((sh > 1 || sw > 1) && !useZeroInsertion) return conv2DBackpropInputStrided(backend, dy, filter, inputShape, info);
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
      throw new SmnError(BackendErrorCode.KernelMissing, `wasm has no '${name}' kernel and the cpu fallback is not available`);
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
