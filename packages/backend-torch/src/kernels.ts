import * as tf from '@tensorflow/tfjs-core';
import type { TorchBackend } from './backend.js';
import { DT } from './native.js';
import { FusedKernel } from '@smn/core';

const { backend_util, slice_util, util } = tf;

/** Kernel names of the fused train-mode batch norm (forward, backward); native on 'torch' only. */
export const BN_TRAIN = '_SmnTorchBatchNormTrain';
export const BN_TRAIN_GRAD = '_SmnTorchBatchNormTrainGrad';
/** dy·(x > 0) in one pass, used by the Relu gradient while 'torch' is active. */
export const RELU_GRAD = '_SmnTorchReluGrad';

type Info = tf.TensorInfo;
type Args = { inputs: tf.NamedTensorInfoMap | Info[]; attrs: tf.NamedAttrMap; backend: TorchBackend };
/** A native kernel: returns its outputs, or null to hand the call to the cpu fallback (unsupported dtype, shape…). */
export type NativeKernel = (args: Args) => Info | Info[] | null;

// Attributes arrive untyped; read them through these.
/* eslint-disable @typescript-eslint/no-explicit-any */
const A = (attrs: tf.NamedAttrMap): any => attrs;
const I = (args: Args): any => args.inputs;

const isF = (t: Info) => t.dtype === 'float32';
const isI = (t: Info) => t.dtype === 'int32';
const isB = (t: Info) => t.dtype === 'bool';

// ---------------------------------------------------------------- unary
const UNARY: Record<string, { code: number; ints?: boolean; bools?: boolean; floatsOnly?: boolean; attrs?: (a: any) => [number, number] }> = {
  Abs: { code: 0, ints: true },
  Neg: { code: 1, ints: true },
  Exp: { code: 2 },
  Log: { code: 3 },
  Sqrt: { code: 4 },
  Rsqrt: { code: 5 },
  Square: { code: 6, ints: true },
  Relu: { code: 7 },
  Relu6: { code: 8 },
  Step: { code: 9, attrs: (a) => [a.alpha ?? 0, 0] },
  Sigmoid: { code: 10 },
  Tanh: { code: 11 },
  Sign: { code: 12 },
  Erf: { code: 13 },
  Floor: { code: 14 },
  Ceil: { code: 15 },
  Round: { code: 16 },
  Sin: { code: 17 },
  Cos: { code: 18 },
  Reciprocal: { code: 19 },
  Softplus: { code: 20 },
  Expm1: { code: 21 },
  Log1p: { code: 22 },
  Elu: { code: 23 },
  LeakyRelu: { code: 24, attrs: (a) => [a.alpha, 0] },
  IsNan: { code: 25 },
  IsInf: { code: 26 },
  IsFinite: { code: 27 },
  LogicalNot: { code: 28, bools: true, floatsOnly: false },
  ClipByValue: { code: 29, attrs: (a) => [a.clipValueMin, a.clipValueMax] },
  Selu: { code: 30 },
  Tan: { code: 31 },
  Asin: { code: 32 },
  Acos: { code: 33 },
  Atan: { code: 34 },
  Sinh: { code: 35 },
  Cosh: { code: 36 },
  Asinh: { code: 37 },
  Acosh: { code: 38 },
  Atanh: { code: 39 },
};

function unaryKernel(name: string): NativeKernel {
  const spec = UNARY[name]!;
  return (args) => {
    const { x } = I(args);
    const ok = name === 'LogicalNot' ? isB(x) : isF(x) || (spec.ints === true && isI(x));
    if (!ok) return null;
    const [a, b] = spec.attrs ? spec.attrs(A(args.attrs)) : [0, 0];
    return args.backend.wrap(args.backend.native.unary(spec.code, args.backend.h(x), a, b));
  };
}

// ---------------------------------------------------------------- binary
const BINARY: Record<string, { code: number; ints?: boolean; bools?: boolean }> = {
  Add: { code: 0, ints: true },
  Sub: { code: 1, ints: true },
  Multiply: { code: 2, ints: true },
  RealDiv: { code: 3 },
  Maximum: { code: 4, ints: true },
  Minimum: { code: 5, ints: true },
  Pow: { code: 6 },
  SquaredDifference: { code: 7, ints: true },
  FloorDiv: { code: 8 },
  Mod: { code: 9 },
  Greater: { code: 10, ints: true },
  GreaterEqual: { code: 11, ints: true },
  Less: { code: 12, ints: true },
  LessEqual: { code: 13, ints: true },
  Equal: { code: 14, ints: true, bools: true },
  NotEqual: { code: 15, ints: true, bools: true },
  LogicalAnd: { code: 16, bools: true },
  LogicalOr: { code: 17, bools: true },
  Atan2: { code: 18 },
  Prelu: { code: 19 },
  EluGrad: { code: 20 },
};

function binaryKernel(name: string): NativeKernel {
  const spec = BINARY[name]!;
  const logical = name === 'LogicalAnd' || name === 'LogicalOr';
  return (args) => {
    const inp = I(args);
    const a: Info = name === 'Prelu' ? inp.x : name === 'EluGrad' ? inp.dy : inp.a;
    const b: Info = name === 'Prelu' ? inp.alpha : name === 'EluGrad' ? inp.y : inp.b;
    if (a.dtype !== b.dtype) return null;
    const ok = logical ? isB(a) : isF(a) || (spec.ints === true && isI(a)) || (spec.bools === true && isB(a));
    if (!ok) return null;
    const be = args.backend;
    const id = be.native.binary(spec.code, be.h(a), be.h(b));
    if (name !== 'FloorDiv') return be.wrap(id);
    // tfjs's FloorDiv returns int32
    const out = be.native.cast(id, DT.int32);
    be.native.free(id);
    return be.wrap(out);
  };
}

// ---------------------------------------------------------------- helpers
function identity(be: TorchBackend, x: Info): Info {
  be.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function reshapeTo(be: TorchBackend, x: Info, shape: number[]): Info {
  return be.wrapAs(be.native.reshape(be.h(x), shape), shape, x.dtype);
}

/** Applies a tfjs fused activation to a native handle, freeing the input handle; returns the new handle. */
function activate(be: TorchBackend, id: number, activation: string, prelu: Info | undefined, alpha: number | undefined): number | null {
  const n = be.native;
  let out: number;
  switch (activation ?? 'linear') {
    case 'linear':
      return id;
    case 'relu':
      out = n.unary(7, id, 0, 0);
      break;
    case 'relu6':
      out = n.unary(8, id, 0, 0);
      break;
    case 'elu':
      out = n.unary(23, id, 0, 0);
      break;
    case 'sigmoid':
      out = n.unary(10, id, 0, 0);
      break;
    case 'leakyrelu':
      out = n.unary(24, id, alpha ?? 0.2, 0);
      break;
    case 'prelu':
      if (!prelu) return null;
      out = n.binary(19, id, be.h(prelu));
      break;
    default:
      return null;
  }
  n.free(id);
  return out;
}

function addBias(be: TorchBackend, id: number, bias: Info | undefined): number {
  if (!bias) return id;
  const out = be.native.binary(0, id, be.h(bias));
  be.native.free(id);
  return out;
}

/** [strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW], or null if libtorch's output size would differ. */
function convParams(info: tf.backend_util.Conv2DInfo): number[] | null {
  const p = info.padInfo;
  const oh = Math.floor((info.inHeight + p.top + p.bottom - info.effectiveFilterHeight) / info.strideHeight) + 1;
  const ow = Math.floor((info.inWidth + p.left + p.right - info.effectiveFilterWidth) / info.strideWidth) + 1;
  if (oh !== info.outHeight || ow !== info.outWidth || p.top < 0 || p.left < 0 || p.bottom < 0 || p.right < 0) return null;
  if (info.dataFormat !== 'channelsLast') return null;
  return [info.strideHeight, info.strideWidth, p.top, p.bottom, p.left, p.right, info.dilationHeight, info.dilationWidth];
}

function poolParams(info: tf.backend_util.Conv2DInfo): number[] | null {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const c = convParams(info);
  if (!c) return null;
  return [info.filterHeight, info.filterWidth, c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!];
}

function hasZero(shape: number[]): boolean {
  return shape.some((d) => d === 0);
}

// ---------------------------------------------------------------- the table
export const nativeKernels: Record<string, NativeKernel> = {};
for (const name of Object.keys(UNARY)) nativeKernels[name] = unaryKernel(name);
for (const name of Object.keys(BINARY)) nativeKernels[name] = binaryKernel(name);

Object.assign(nativeKernels, {
  Identity: (args) => identity(args.backend, I(args).x),

  Cast: (args) => {
    const { x } = I(args);
    const { dtype } = A(args.attrs);
    if (!(dtype in DT) || !(x.dtype in DT)) return null;
    if (dtype === x.dtype) return identity(args.backend, x);
    return args.backend.wrapAs(args.backend.native.cast(args.backend.h(x), DT[dtype as 'float32']), x.shape, dtype);
  },

  Reshape: (args) => {
    const { x } = I(args);
    const shape = util.inferFromImplicitShape(A(args.attrs).shape, util.sizeFromShape(x.shape));
    return reshapeTo(args.backend, x, shape);
  },

  ExpandDims: (args) => {
    const x = I(args).input;
    let dim: number = A(args.attrs).dim;
    const shape = [...x.shape];
    if (dim < 0) dim = shape.length + dim + 1;
    shape.splice(dim, 0, 1);
    return reshapeTo(args.backend, x, shape);
  },

  AddN: (args) => {
    const ts = args.inputs as Info[];
    const dt = ts[0]!.dtype;
    if (!ts.every((t) => t.dtype === dt && (dt === 'float32' || dt === 'int32'))) return null;
    return args.backend.wrap(args.backend.native.addN(ts.map((t) => args.backend.h(t))));
  },

  Select: (args) => {
    const { condition, t, e } = I(args);
    if (!isB(condition) || t.dtype !== e.dtype || !(t.dtype in DT)) return null;
    const be = args.backend;
    let c = be.h(condition);
    let tmp = -1;
    if (condition.shape.length === 1 && t.shape.length > 1) {
      tmp = be.native.reshape(c, [condition.shape[0], ...t.shape.slice(1).map(() => 1)]);
      c = tmp;
    }
    const out = be.wrap(be.native.select(c, be.h(t), be.h(e)));
    if (tmp >= 0) be.native.free(tmp);
    return out;
  },

  // reductions
  Sum: (args) => reduceKernel(args, 0, A(args.attrs).axis, ['float32', 'int32']),
  Mean: (args) => reduceKernel(args, 1, A(args.attrs).axis, ['float32']),
  Max: (args) => reduceKernel(args, 2, A(args.attrs).reductionIndices, ['float32', 'int32'], true),
  Min: (args) => reduceKernel(args, 3, A(args.attrs).axis, ['float32', 'int32'], true),
  Prod: (args) => reduceKernel(args, 4, A(args.attrs).axis, ['float32', 'int32']),
  All: (args) => reduceKernel(args, 5, A(args.attrs).axis, ['bool']),
  Any: (args) => reduceKernel(args, 6, A(args.attrs).axis, ['bool']),
  ArgMax: (args) => argKernel(args, true),
  ArgMin: (args) => argKernel(args, false),

  Softmax: (args) => {
    const { logits } = I(args);
    if (!isF(logits)) return null;
    const dim = A(args.attrs).dim ?? -1;
    return args.backend.wrapAs(args.backend.native.softmax(args.backend.h(logits), dim), logits.shape, 'float32');
  },
  LogSoftmax: (args) => {
    const { logits } = I(args);
    if (!isF(logits)) return null;
    const axis = A(args.attrs).axis ?? -1;
    return args.backend.wrapAs(args.backend.native.logSoftmax(args.backend.h(logits), axis), logits.shape, 'float32');
  },
  Cumsum: (args) => {
    const { x } = I(args);
    if (!isF(x) && !isI(x)) return null;
    const { axis, exclusive, reverse } = A(args.attrs);
    const ax = util.parseAxisParam(axis, x.shape)[0]!;
    return args.backend.wrapAs(args.backend.native.cumsum(args.backend.h(x), ax, !!exclusive, !!reverse), x.shape, x.dtype);
  },

  // shapes and copies
  Transpose: (args) => {
    const { x } = I(args);
    const perm: number[] = A(args.attrs).perm;
    const shape = perm.map((p) => x.shape[p]);
    return args.backend.wrapAs(args.backend.native.transpose(args.backend.h(x), perm), shape, x.dtype);
  },
  Slice: (args) => {
    const { x } = I(args);
    const { begin, size } = A(args.attrs);
    const [b, s] = slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
    slice_util.assertParamsValid(x as tf.Tensor, b, s);
    return args.backend.wrapAs(args.backend.native.slice(args.backend.h(x), b, s), s, x.dtype);
  },
  StridedSlice: (args) => {
    const { x } = I(args);
    const a = A(args.attrs);
    const info = slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
    const be = args.backend;
    if (info.isIdentity) return reshapeTo(be, x, info.finalShape);
    if (info.strides.some((s) => s <= 0)) return null;
    const id = be.native.stridedSlice(be.h(x), info.begin, info.end, info.strides);
    const out = be.native.reshape(id, info.finalShape);
    be.native.free(id);
    return be.wrapAs(out, info.finalShape, x.dtype);
  },
  Concat: (args) => {
    const ts = args.inputs as Info[];
    const axis = util.parseAxisParam(A(args.attrs).axis, ts[0]!.shape)[0]!;
    const dt = ts[0]!.dtype;
    if (!(dt in DT) || !ts.every((t) => t.dtype === dt && t.shape.length === ts[0]!.shape.length)) return null;
    const shapes = ts.map((t) => t.shape);
    const shape = backend_util.computeOutShape(shapes, axis);
    return args.backend.wrapAs(args.backend.native.concat(ts.map((t) => args.backend.h(t)), axis), shape, dt);
  },
  Pack: (args) => {
    const ts = args.inputs as Info[];
    const dt = ts[0]!.dtype;
    if (!(dt in DT) || !ts.every((t) => t.dtype === dt)) return null;
    let axis: number = A(args.attrs).axis ?? 0;
    if (axis < 0) axis += ts[0]!.shape.length + 1;
    return args.backend.wrap(args.backend.native.stack(ts.map((t) => args.backend.h(t)), axis));
  },
  Unpack: (args) => {
    const { value } = I(args);
    if (!(value.dtype in DT)) return null;
    let axis: number = A(args.attrs).axis ?? 0;
    if (axis < 0) axis += value.shape.length;
    const shape = value.shape.filter((_: number, i: number) => i !== axis);
    return args.backend.native.unbind(args.backend.h(value), axis).map((id) => args.backend.wrapAs(id, shape, value.dtype));
  },
  SplitV: (args) => {
    const { x } = I(args);
    if (!(x.dtype in DT)) return null;
    const { numOrSizeSplits, axis } = A(args.attrs);
    const $axis = util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    return args.backend.native.split(args.backend.h(x), sizes, $axis).map((id, i) => {
      const shape = [...x.shape];
      shape[$axis] = sizes[i]!;
      return args.backend.wrapAs(id, shape, x.dtype);
    });
  },
  Reverse: (args) => {
    const { x } = I(args);
    if (!(x.dtype in DT)) return null;
    const dims = util.parseAxisParam(A(args.attrs).dims, x.shape);
    if (dims.length === 0) return identity(args.backend, x);
    return args.backend.wrapAs(args.backend.native.flip(args.backend.h(x), dims), x.shape, x.dtype);
  },
  Tile: (args) => {
    const { x } = I(args);
    if (!(x.dtype in DT)) return null;
    const reps: number[] = A(args.attrs).reps;
    if (reps.length !== x.shape.length) return null;
    return args.backend.wrapAs(args.backend.native.tile(args.backend.h(x), reps), x.shape.map((d: number, i: number) => d * reps[i]!), x.dtype);
  },
  PadV2: (args) => {
    const { x } = I(args);
    if (!(x.dtype in DT) || isB(x)) return null;
    const { paddings, constantValue } = A(args.attrs);
    const flat = (paddings as [number, number][]).flat();
    const shape = x.shape.map((d: number, i: number) => d + paddings[i][0] + paddings[i][1]);
    return args.backend.wrapAs(args.backend.native.pad(args.backend.h(x), flat, constantValue ?? 0), shape, x.dtype);
  },
  FlipLeftRight: (args) => {
    const { image } = I(args);
    if (!isF(image) || image.shape.length !== 4) return null;
    return args.backend.wrapAs(args.backend.native.flip(args.backend.h(image), [2]), [...image.shape], 'float32');
  },
  BroadcastTo: (args) => {
    const { x } = I(args);
    if (!(x.dtype in DT)) return null;
    const shape: number[] = A(args.attrs).shape;
    return args.backend.wrapAs(args.backend.native.expand(args.backend.h(x), shape), [...shape], x.dtype);
  },

  // creation
  Fill: (args) => {
    const { shape, value, dtype } = A(args.attrs);
    const dt = dtype ?? (typeof value === 'string' ? 'string' : 'float32');
    if (!(dt in DT) || typeof value !== 'number') return null;
    return args.backend.wrapAs(args.backend.native.fill(shape, value, DT[dt as 'float32']), [...shape], dt);
  },
  ZerosLike: (args) => likeKernel(args, 0),
  OnesLike: (args) => likeKernel(args, 1),
  Range: (args) => {
    const { start, stop, step, dtype } = A(args.attrs);
    if (step === 0 || (step > 0 && stop < start) || (step < 0 && stop > start)) return null;
    const n = start === stop ? 0 : Math.abs(Math.ceil((stop - start) / step));
    return args.backend.wrapAs(args.backend.native.range(start, step, n, DT[(dtype ?? 'float32') as 'float32']), [n], dtype ?? 'float32');
  },
  LinSpace: (args) => {
    const { start, stop, num } = A(args.attrs);
    if (!(num >= 2)) return null;
    return args.backend.wrapAs(args.backend.native.range(start, (stop - start) / (num - 1), num, DT.float32), [num], 'float32');
  },
  OneHot: (args) => {
    const { indices } = I(args);
    const { depth, onValue, offValue, dtype } = A(args.attrs);
    if (!isI(indices) || !((dtype ?? 'int32') in DT)) return null;
    return args.backend.wrapAs(
      args.backend.native.oneHot(args.backend.h(indices), depth, onValue ?? 1, offValue ?? 0, DT[(dtype ?? 'int32') as 'float32']),
      [...indices.shape, depth],
      dtype ?? 'int32',
    );
  },

  // gathers and top-k
  GatherV2: (args) => {
    const { x, indices } = I(args);
    const { axis, batchDims } = A(args.attrs);
    if ((batchDims ?? 0) !== 0 || !(x.dtype in DT) || !isI(indices)) return null;
    const ax = util.parseAxisParam(axis, x.shape)[0]!;
    const shape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    return args.backend.wrapAs(args.backend.native.gather(args.backend.h(x), args.backend.h(indices), ax), shape, x.dtype);
  },
  TopK: (args) => {
    const { x } = I(args);
    if (!isF(x) && !isI(x)) return null;
    const { k } = A(args.attrs);
    const shape = [...x.shape.slice(0, -1), k];
    const [v, i] = args.backend.native.topk(args.backend.h(x), k);
    return [args.backend.wrapAs(v, shape, x.dtype), args.backend.wrapAs(i, shape, 'int32')];
  },
  UnsortedSegmentSum: (args) => {
    const { x, segmentIds } = I(args);
    const { numSegments } = A(args.attrs);
    if (segmentIds.shape.length !== 1 || x.shape.length < 1 || segmentIds.shape[0] !== x.shape[0] || !(isF(x) || isI(x))) return null;
    return args.backend.wrapAs(
      args.backend.native.segmentSum(args.backend.h(x), args.backend.h(segmentIds), numSegments),
      [numSegments, ...x.shape.slice(1)],
      x.dtype,
    );
  },
  Einsum: (args) => {
    const ts = args.inputs as Info[];
    if (!ts.every(isF)) return null;
    return args.backend.wrap(args.backend.native.einsum(A(args.attrs).equation, ts.map((t) => args.backend.h(t))));
  },

  // linear algebra
  BatchMatMul: (args) => {
    const { a, b } = I(args);
    if (a.dtype !== b.dtype || !(isF(a) || isI(a))) return null;
    const { transposeA, transposeB } = A(args.attrs);
    return args.backend.wrap(args.backend.native.matmul(args.backend.h(a), args.backend.h(b), !!transposeA, !!transposeB));
  },
  _FusedMatMul: (args) => {
    const { a, b, bias, preluActivationWeights } = I(args);
    if (!isF(a) || !isF(b)) return null;
    const { transposeA, transposeB, activation, leakyreluAlpha } = A(args.attrs);
    const be = args.backend;
    let id = be.native.matmul(be.h(a), be.h(b), !!transposeA, !!transposeB);
    id = addBias(be, id, bias);
    const out = activate(be, id, activation, preluActivationWeights, leakyreluAlpha);
    if (out === null) {
      be.native.free(id);
      return null;
    }
    return be.wrap(out);
  },

  // convolution
  Conv2D: (args) => {
    const { x, filter } = I(args);
    if (!isF(x) || !isF(filter)) return null;
    const a = A(args.attrs);
    const info = backend_util.computeConv2DInfo(x.shape, filter.shape, a.strides, a.dilations, a.pad, a.dimRoundingMode, false, backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'));
    const p = convParams(info);
    if (!p || hasZero(x.shape)) return null;
    return args.backend.wrapAs(args.backend.native.conv2d(args.backend.h(x), args.backend.h(filter), p, false), [...info.outShape], 'float32');
  },
  Conv2DBackpropInput: (args) => {
    const { dy, filter } = I(args);
    if (!isF(dy) || !isF(filter)) return null;
    const a = A(args.attrs);
    const info = backend_util.computeConv2DInfo(a.inputShape, filter.shape, a.strides, 1, a.pad, a.dimRoundingMode, false, backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'));
    const p = convParams(info);
    if (!p || hasZero(a.inputShape)) return null;
    return args.backend.wrapAs(args.backend.native.conv2dBackpropInput(args.backend.h(dy), args.backend.h(filter), a.inputShape, p, false), [...a.inputShape], 'float32');
  },
  Conv2DBackpropFilter: (args) => {
    const { x, dy } = I(args);
    if (!isF(x) || !isF(dy)) return null;
    const a = A(args.attrs);
    const info = backend_util.computeConv2DInfo(x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'));
    const p = convParams(info);
    if (!p || hasZero(x.shape)) return null;
    return args.backend.wrapAs(args.backend.native.conv2dBackpropFilter(args.backend.h(x), args.backend.h(dy), a.filterShape, p, false), [...a.filterShape], 'float32');
  },
  DepthwiseConv2dNative: (args) => {
    const { x, filter } = I(args);
    if (!isF(x) || !isF(filter)) return null;
    const a = A(args.attrs);
    const info = backend_util.computeConv2DInfo(x.shape, filter.shape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    const p = convParams(info);
    if (!p || hasZero(x.shape)) return null;
    return args.backend.wrapAs(args.backend.native.conv2d(args.backend.h(x), args.backend.h(filter), p, true), [...info.outShape], 'float32');
  },
  DepthwiseConv2dNativeBackpropInput: (args) => {
    const { dy, filter } = I(args);
    if (!isF(dy) || !isF(filter)) return null;
    const a = A(args.attrs);
    const info = backend_util.computeConv2DInfo(a.inputShape, filter.shape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    const p = convParams(info);
    if (!p || hasZero(a.inputShape)) return null;
    return args.backend.wrapAs(args.backend.native.conv2dBackpropInput(args.backend.h(dy), args.backend.h(filter), a.inputShape, p, true), [...a.inputShape], 'float32');
  },
  DepthwiseConv2dNativeBackpropFilter: (args) => {
    const { x, dy } = I(args);
    if (!isF(x) || !isF(dy)) return null;
    const a = A(args.attrs);
    const info = backend_util.computeConv2DInfo(x.shape, a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    const p = convParams(info);
    if (!p || hasZero(x.shape)) return null;
    return args.backend.wrapAs(args.backend.native.conv2dBackpropFilter(args.backend.h(x), args.backend.h(dy), a.filterShape, p, true), [...a.filterShape], 'float32');
  },
  FusedConv2D: (args) => fusedConv(args, false),
  FusedDepthwiseConv2D: (args) => fusedConv(args, true),

  // pooling
  MaxPool: (args) => poolKernel(args, 'max'),
  AvgPool: (args) => poolKernel(args, 'avg'),
  MaxPoolGrad: (args) => {
    const { dy, input } = I(args);
    if (!isF(dy) || !isF(input)) return null;
    const a = A(args.attrs);
    const info = backend_util.computePool2DInfo(input.shape, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const p = poolParams(info);
    if (!p || hasZero(input.shape)) return null;
    return args.backend.wrapAs(args.backend.native.maxPoolGrad(args.backend.h(dy), args.backend.h(input), p), [...input.shape], 'float32');
  },
  AvgPoolGrad: (args) => {
    const { dy, input } = I(args);
    if (!isF(dy) || !isF(input)) return null;
    const a = A(args.attrs);
    const info = backend_util.computePool2DInfo(input.shape, a.filterSize, a.strides, 1, a.pad);
    const p = poolParams(info);
    if (!p || hasZero(input.shape)) return null;
    return args.backend.wrapAs(args.backend.native.avgPoolGrad(args.backend.h(dy), args.backend.h(input), p), [...input.shape], 'float32');
  },

  // Kernels of fusedBatchNormTrain() (batch-norm.ts), registered for 'torch' only. BN_TRAIN: [y, mean, invStd, biased variance].
  [BN_TRAIN]: (args) => {
    const { x, scale, offset } = I(args);
    const be = args.backend;
    const c = x.shape[x.shape.length - 1];
    const [y, m, s, v] = be.native.batchNormTrain(be.h(x), be.h(scale), be.h(offset), A(args.attrs).varianceEpsilon);
    return [be.wrapAs(y, [...x.shape], 'float32'), be.wrapAs(m, [c], 'float32'), be.wrapAs(s, [c], 'float32'), be.wrapAs(v, [c], 'float32')];
  },
  [BN_TRAIN_GRAD]: (args) => {
    const { dy, x, scale, mean, invStd } = I(args);
    const be = args.backend;
    const c = x.shape[x.shape.length - 1];
    const [dx, ds, db] = be.native.batchNormTrainGrad(be.h(dy), be.h(x), be.h(scale), be.h(mean), be.h(invStd), A(args.attrs).varianceEpsilon);
    return [be.wrapAs(dx, [...x.shape], 'float32'), be.wrapAs(ds, [c], 'float32'), be.wrapAs(db, [c], 'float32')];
  },

  // @smn/core's FusedKernel.maskedWeight(Grad): the mask-and-scale step of @smn/subnetworks in one pass each way.
  [FusedKernel.maskedWeight]: (args) => {
    const { w, s } = I(args);
    const { k, mode, scale } = A(args.attrs);
    if (!isF(w) || !isF(s) || (mode !== 0 && mode !== 1)) return null;
    const be = args.backend;
    const [y, m] = be.native.maskedWeight(be.h(w), be.h(s), k, mode, !!scale);
    return [be.wrapAs(y, [...w.shape], 'float32'), be.wrapAs(m, [], 'float32')];
  },
  [FusedKernel.maskedWeightGrad]: (args) => {
    const { dy, w, s, mean } = I(args);
    const { k, mode, scale, weightGrad } = A(args.attrs);
    if (!isF(dy) || !isF(w) || !isF(s) || (mode !== 0 && mode !== 1)) return null;
    const be = args.backend;
    const ids = be.native.maskedWeightGrad(be.h(dy), be.h(w), be.h(s), be.h(mean), k, mode, !!scale, !!weightGrad);
    return ids.map((id) => be.wrapAs(id, [...w.shape], 'float32'));
  },
  [FusedKernel.sgdStep]: (args) => {
    const { p, g, buf } = I(args);
    if (!isF(p) || !isF(g) || (buf && !isF(buf))) return null;
    const a = A(args.attrs);
    const be = args.backend;
    const ids = be.native.sgdStep(be.h(p), be.h(g), buf ? be.h(buf) : -1, a.lr, a.momentum, a.dampening, !!a.nesterov, a.weightDecay, !!a.constantWd);
    return ids.map((id) => be.wrapAs(id, [...p.shape], 'float32'));
  },

  [RELU_GRAD]: (args) => {
    const { dy, x } = I(args);
    if (!isF(dy) || !isF(x)) return null;
    return args.backend.wrapAs(args.backend.native.binary(21, args.backend.h(dy), args.backend.h(x)), [...x.shape], 'float32');
  },

  FusedBatchNorm: (args) => {
    const { x, mean, variance, offset, scale } = I(args);
    if (![x, mean, variance, offset, scale].every((t) => t == null || isF(t))) return null;
    const be = args.backend;
    const eps = A(args.attrs).varianceEpsilon ?? 0.001;
    return be.wrapAs(
      be.native.batchNorm(be.h(x), be.h(mean), be.h(variance), offset ? be.h(offset) : -1, scale ? be.h(scale) : -1, eps),
      [...x.shape],
      'float32',
    );
  },
} satisfies Record<string, NativeKernel>);

function reduceKernel(args: Args, op: number, axis: number | number[] | undefined, dtypes: string[], needsNonEmpty = false): Info | null {
  const { x } = I(args);
  if (!dtypes.includes(x.dtype)) return null;
  if (needsNonEmpty && hasZero(x.shape)) return null;
  const keepDims = !!A(args.attrs).keepDims;
  const axes = util.parseAxisParam(axis as number[], x.shape); // null/undefined: every axis
  const shape = keepDims ? x.shape.map((d: number, i: number) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_: number, i: number) => !axes.includes(i));
  if (axes.length === 0) return identity(args.backend, x);
  return args.backend.wrapAs(args.backend.native.reduce(op, args.backend.h(x), axes, keepDims), shape, x.dtype);
}

function argKernel(args: Args, isMax: boolean): Info | null {
  const { x } = I(args);
  if ((!isF(x) && !isI(x)) || hasZero(x.shape)) return null;
  const axis = util.parseAxisParam(A(args.attrs).axis, x.shape)[0]!;
  const shape = x.shape.filter((_: number, i: number) => i !== axis);
  return args.backend.wrapAs(args.backend.native.argReduce(isMax, args.backend.h(x), axis), shape, 'int32');
}

function likeKernel(args: Args, value: number): Info | null {
  const { x } = I(args);
  if (!(x.dtype in DT)) return null;
  return args.backend.wrapAs(args.backend.native.fill(x.shape, value, DT[x.dtype as 'float32']), [...x.shape], x.dtype);
}

function poolKernel(args: Args, kind: 'max' | 'avg'): Info | null {
  const { x } = I(args);
  if (!isF(x)) return null;
  const a = A(args.attrs);
  const info = backend_util.computePool2DInfo(x.shape, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const p = poolParams(info);
  if (!p || hasZero(x.shape)) return null;
  const be = args.backend;
  const id = kind === 'max' ? be.native.maxPool(be.h(x), p) : be.native.avgPool(be.h(x), p);
  return be.wrapAs(id, [...info.outShape], 'float32');
}

function fusedConv(args: Args, depthwise: boolean): Info | null {
  const { x, filter, bias, preluActivationWeights } = I(args);
  if (!isF(x) || !isF(filter)) return null;
  const a = A(args.attrs);
  const info = backend_util.computeConv2DInfo(x.shape, filter.shape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, depthwise, backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'));
  const p = convParams(info);
  if (!p || hasZero(x.shape)) return null;
  const be = args.backend;
  let id = be.native.conv2d(be.h(x), be.h(filter), p, depthwise);
  id = addBias(be, id, bias);
  const out = activate(be, id, a.activation, preluActivationWeights, a.leakyreluAlpha);
  if (out === null) {
    be.native.free(id);
    return null;
  }
  return be.wrapAs(out, [...info.outShape], 'float32');
}
