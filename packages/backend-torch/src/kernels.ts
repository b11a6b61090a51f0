import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel } from '@smn/core';
import type { TorchBackend } from './backend.js';
import { convKernels } from './conv-kernels.js';
import { activate, addBias, F32, F32_I32, hasZero, identity, isB, isF, isI, kernel, reshapeTo, type Info, type NativeKernel } from './native-kernel.js';
import { BINARY, DT, OP_NAMES, REDUCE, UNARY, type BinaryOp, type DTypeName, type ReduceOp, type UnaryOp } from './ops.js';

export type { NativeKernel } from './native-kernel.js';

const { backend_util, slice_util, util } = tf;

/** dy·(x > 0) in one pass, used by the Relu gradient while 'torch' is active. */
export const RELU_GRAD = '_SmnTorchReluGrad';

const BOOL: readonly tf.DataType[] = ['bool'];
const ALL: readonly tf.DataType[] = ['float32', 'int32', 'bool'];

/** float32, int32 and bool live in libtorch; strings stay in JS (only fallback kernels read them). */
const isNative = (dtype: tf.DataType): dtype is DTypeName => dtype in DT;

// ---------------------------------------------------------------- element-wise
/** A unary op of the addon; `scalars` reads the op's two numeric arguments from the kernel's attributes. */
function unaryKernel<At = object>(op: UnaryOp, dtypes: readonly tf.DataType[] = F32, scalars?: (a: At) => [number, number]): NativeKernel {
  const code = UNARY[op];
  return kernel<tf.UnaryInputs, At>(({ x }, a, be) => {
    if (!dtypes.includes(x.dtype)) return null;
    const [s, t] = scalars ? scalars(a) : [0, 0];
    return be.wrap(be.native.unary(code, be.h(x), s, t));
  });
}

function binary(be: TorchBackend, op: BinaryOp, dtypes: readonly tf.DataType[], a: Info, b: Info): Info | null {
  if (a.dtype !== b.dtype || !dtypes.includes(a.dtype)) return null;
  const id = be.native.binary(BINARY[op], be.h(a), be.h(b));
  if (op !== 'FloorDiv') return be.wrap(id);
  // tfjs's FloorDiv returns int32
  const out = be.native.cast(id, DT.int32);
  be.native.free(id);
  return be.wrap(out);
}

const binaryKernel = (op: BinaryOp, dtypes: readonly tf.DataType[] = F32): NativeKernel =>
  kernel<tf.BinaryInputs>(({ a, b }, _, be) => binary(be, op, dtypes, a, b));

/** Every unary op of the addon is the tfjs kernel of the same name; most take float32 only. */
const elementwiseKernels: Record<string, NativeKernel> = {
  ...Object.fromEntries(OP_NAMES.unary.map((op) => [op, unaryKernel(op)])),
  Abs: unaryKernel('Abs', F32_I32),
  Neg: unaryKernel('Neg', F32_I32),
  Square: unaryKernel('Square', F32_I32),
  LogicalNot: unaryKernel('LogicalNot', BOOL),
  Step: unaryKernel<tf.StepAttrs>('Step', F32, (a) => [a.alpha ?? 0, 0]),
  LeakyRelu: unaryKernel<tf.LeakyReluAttrs>('LeakyRelu', F32, (a) => [a.alpha, 0]),
  ClipByValue: unaryKernel<tf.ClipByValueAttrs>('ClipByValue', F32, (a) => [a.clipValueMin, a.clipValueMax]),

  Add: binaryKernel('Add', F32_I32),
  Sub: binaryKernel('Sub', F32_I32),
  Multiply: binaryKernel('Multiply', F32_I32),
  RealDiv: binaryKernel('RealDiv'),
  Maximum: binaryKernel('Maximum', F32_I32),
  Minimum: binaryKernel('Minimum', F32_I32),
  Pow: binaryKernel('Pow'),
  SquaredDifference: binaryKernel('SquaredDifference', F32_I32),
  FloorDiv: binaryKernel('FloorDiv'),
  Mod: binaryKernel('Mod'),
  Greater: binaryKernel('Greater', F32_I32),
  GreaterEqual: binaryKernel('GreaterEqual', F32_I32),
  Less: binaryKernel('Less', F32_I32),
  LessEqual: binaryKernel('LessEqual', F32_I32),
  Equal: binaryKernel('Equal', ALL),
  NotEqual: binaryKernel('NotEqual', ALL),
  LogicalAnd: binaryKernel('LogicalAnd', BOOL),
  LogicalOr: binaryKernel('LogicalOr', BOOL),
  Atan2: binaryKernel('Atan2'),
  Prelu: kernel<tf.PreluInputs>(({ x, alpha }, _, be) => binary(be, 'Prelu', F32, x, alpha)),
  EluGrad: kernel<tf.EluGradInputs>(({ dy, y }, _, be) => binary(be, 'EluGrad', F32, dy, y)),
  [RELU_GRAD]: kernel<{ dy: Info; x: Info }>(({ dy, x }, _, be) => {
    if (!isF(dy) || !isF(x)) return null;
    return be.wrapAs(be.native.binary(BINARY.ReluGrad, be.h(dy), be.h(x)), [...x.shape], 'float32');
  }),

  AddN: kernel<tf.AddNInputs>((ts, _, be) => {
    const dt = ts[0]!.dtype;
    if (!ts.every((t) => t.dtype === dt && (dt === 'float32' || dt === 'int32'))) return null;
    return be.wrap(be.native.addN(ts.map((t) => be.h(t))));
  }),

  Select: kernel<tf.SelectInputs>(({ condition, t, e }, _, be) => {
    if (!isB(condition) || t.dtype !== e.dtype || !isNative(t.dtype)) return null;
    let c = be.h(condition);
    let tmp = -1;
    if (condition.shape.length === 1 && t.shape.length > 1) {
      tmp = be.native.reshape(c, [condition.shape[0]!, ...t.shape.slice(1).map(() => 1)]);
      c = tmp;
    }
    const out = be.wrap(be.native.select(c, be.h(t), be.h(e)));
    if (tmp >= 0) be.native.free(tmp);
    return out;
  }),
};

// ---------------------------------------------------------------- reductions
type ReduceAttrs = { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };

/** Sum, Mean, Max, Min, Prod, All and Any over `axis` (Max: `reductionIndices`); every axis when absent. */
function reduceKernel<At extends ReduceAttrs>(op: ReduceOp, dtypes: readonly tf.DataType[], needsNonEmpty = false): NativeKernel {
  const code = REDUCE[op];
  return kernel<tf.SumInputs, At>(({ x }, a, be) => {
    if (!dtypes.includes(x.dtype)) return null;
    if (needsNonEmpty && hasZero(x.shape)) return null;
    const keepDims = !!a.keepDims;
    const axes = util.parseAxisParam((op === 'Max' ? a.reductionIndices : a.axis) as number[], x.shape); // null/undefined: every axis
    const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    if (axes.length === 0) return identity(be, x);
    return be.wrapAs(be.native.reduce(code, be.h(x), axes, keepDims), shape, x.dtype);
  });
}

function argKernel(isMax: boolean): NativeKernel {
  return kernel<tf.ArgMaxInputs, tf.ArgMaxAttrs | tf.ArgMinAttrs>(({ x }, a, be) => {
    if ((!isF(x) && !isI(x)) || hasZero(x.shape)) return null;
    const axis = util.parseAxisParam(a.axis, x.shape)[0]!;
    const shape = x.shape.filter((_, i) => i !== axis);
    return be.wrapAs(be.native.argReduce(isMax, be.h(x), axis), shape, 'int32');
  });
}

const reductionKernels: Record<string, NativeKernel> = {
  Sum: reduceKernel<tf.SumAttrs>('Sum', F32_I32),
  Mean: reduceKernel<tf.MeanAttrs>('Mean', F32),
  Max: reduceKernel<tf.MaxAttrs>('Max', F32_I32, true),
  Min: reduceKernel<tf.MinAttrs>('Min', F32_I32, true),
  Prod: reduceKernel<tf.ProdAttrs>('Prod', F32_I32),
  All: reduceKernel<tf.AllAttrs>('All', BOOL),
  Any: reduceKernel<tf.AnyAttrs>('Any', BOOL),
  ArgMax: argKernel(true),
  ArgMin: argKernel(false),
  Softmax: kernel<tf.SoftmaxInputs, tf.SoftmaxAttrs>(({ logits }, a, be) => {
    if (!isF(logits)) return null;
    return be.wrapAs(be.native.softmax(be.h(logits), a.dim ?? -1), logits.shape, 'float32');
  }),
  LogSoftmax: kernel<tf.LogSoftmaxInputs, tf.LogSoftmaxAttrs>(({ logits }, a, be) => {
    if (!isF(logits)) return null;
    return be.wrapAs(be.native.logSoftmax(be.h(logits), a.axis ?? -1), logits.shape, 'float32');
  }),
  Cumsum: kernel<tf.CumsumInputs, tf.CumsumAttrs>(({ x }, a, be) => {
    if (!isF(x) && !isI(x)) return null;
    const ax = util.parseAxisParam(a.axis, x.shape)[0]!;
    return be.wrapAs(be.native.cumsum(be.h(x), ax, !!a.exclusive, !!a.reverse), x.shape, x.dtype);
  }),
};

// ---------------------------------------------------------------- shapes and copies
const shapeKernels: Record<string, NativeKernel> = {
  Identity: kernel<tf.IdentityInputs>(({ x }, _, be) => identity(be, x)),
  Cast: kernel<tf.CastInputs, tf.CastAttrs>(({ x }, { dtype }, be) => {
    if (!isNative(dtype) || !isNative(x.dtype)) return null;
    if (dtype === x.dtype) return identity(be, x);
    return be.wrapAs(be.native.cast(be.h(x), DT[dtype]), x.shape, dtype);
  }),
  Reshape: kernel<tf.ReshapeInputs, tf.ReshapeAttrs>(({ x }, a, be) => reshapeTo(be, x, util.inferFromImplicitShape(a.shape, util.sizeFromShape(x.shape)))),
  ExpandDims: kernel<tf.ExpandDimsInputs, tf.ExpandDimsAttrs>(({ input }, a, be) => {
    let dim = a.dim;
    const shape = [...input.shape];
    if (dim < 0) dim = shape.length + dim + 1;
    shape.splice(dim, 0, 1);
    return reshapeTo(be, input, shape);
  }),
  Transpose: kernel<tf.TransposeInputs, tf.TransposeAttrs>(({ x }, { perm }, be) => {
    const shape = perm.map((p) => x.shape[p]!);
    return be.wrapAs(be.native.transpose(be.h(x), perm), shape, x.dtype);
  }),
  Slice: kernel<tf.SliceInputs, tf.SliceAttrs>(({ x }, a, be) => {
    const [b, s] = slice_util.parseSliceParams(x as tf.Tensor, a.begin, a.size) as [number[], number[]];
    slice_util.assertParamsValid(x as tf.Tensor, b, s);
    return be.wrapAs(be.native.slice(be.h(x), b, s), s, x.dtype);
  }),
  StridedSlice: kernel<tf.StridedSliceInputs, tf.StridedSliceAttrs>(({ x }, a, be) => {
    const info = slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
    if (info.isIdentity) return reshapeTo(be, x, info.finalShape);
    if (info.strides.some((s) => s <= 0)) return null;
    const id = be.native.stridedSlice(be.h(x), info.begin, info.end, info.strides);
    const out = be.native.reshape(id, info.finalShape);
    be.native.free(id);
    return be.wrapAs(out, info.finalShape, x.dtype);
  }),
  Concat: kernel<tf.ConcatInputs, tf.ConcatAttrs>((ts, a, be) => {
    const axis = util.parseAxisParam(a.axis, ts[0]!.shape)[0]!;
    const dt = ts[0]!.dtype;
    if (!isNative(dt) || !ts.every((t) => t.dtype === dt && t.shape.length === ts[0]!.shape.length)) return null;
    const shape = backend_util.computeOutShape(ts.map((t) => t.shape), axis);
    return be.wrapAs(be.native.concat(ts.map((t) => be.h(t)), axis), shape, dt);
  }),
  Pack: kernel<tf.PackInputs, tf.PackAttrs>((ts, a, be) => {
    const dt = ts[0]!.dtype;
    if (!isNative(dt) || !ts.every((t) => t.dtype === dt)) return null;
    let axis = a.axis ?? 0;
    if (axis < 0) axis += ts[0]!.shape.length + 1;
    return be.wrap(be.native.stack(ts.map((t) => be.h(t)), axis));
  }),
  Unpack: kernel<tf.UnpackInputs, tf.UnpackAttrs>(({ value }, a, be) => {
    if (!isNative(value.dtype)) return null;
    let axis = a.axis ?? 0;
    if (axis < 0) axis += value.shape.length;
    const shape = value.shape.filter((_, i) => i !== axis);
    return be.native.unbind(be.h(value), axis).map((id) => be.wrapAs(id, shape, value.dtype));
  }),
  SplitV: kernel<tf.SplitVInputs, tf.SplitVAttrs>(({ x }, a, be) => {
    if (!isNative(x.dtype)) return null;
    const axis = util.parseAxisParam(a.axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
    return be.native.split(be.h(x), sizes, axis).map((id, i) => {
      const shape = [...x.shape];
      shape[axis] = sizes[i]!;
      return be.wrapAs(id, shape, x.dtype);
    });
  }),
  Reverse: kernel<tf.ReverseInputs, tf.ReverseAttrs>(({ x }, a, be) => {
    if (!isNative(x.dtype)) return null;
    const dims = util.parseAxisParam(a.dims, x.shape);
    if (dims.length === 0) return identity(be, x);
    return be.wrapAs(be.native.flip(be.h(x), dims), x.shape, x.dtype);
  }),
  Tile: kernel<tf.TileInputs, tf.TileAttrs>(({ x }, { reps }, be) => {
    if (!isNative(x.dtype) || reps.length !== x.shape.length) return null;
    return be.wrapAs(be.native.tile(be.h(x), reps), x.shape.map((d, i) => d * reps[i]!), x.dtype);
  }),
  PadV2: kernel<tf.PadV2Inputs, tf.PadV2Attrs>(({ x }, { paddings, constantValue }, be) => {
    if (!isNative(x.dtype) || isB(x)) return null;
    const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
    return be.wrapAs(be.native.pad(be.h(x), paddings.flat(), constantValue ?? 0), shape, x.dtype);
  }),
  FlipLeftRight: kernel<tf.FlipLeftRightInputs>(({ image }, _, be) => {
    if (!isF(image) || image.shape.length !== 4) return null;
    return be.wrapAs(be.native.flip(be.h(image), [2]), [...image.shape], 'float32');
  }),
  BroadcastTo: kernel<tf.BroadcastToInputs, tf.BroadCastToAttrs>(({ x }, { shape }, be) => {
    if (!isNative(x.dtype)) return null;
    return be.wrapAs(be.native.expand(be.h(x), shape), [...shape], x.dtype);
  }),
};

// ---------------------------------------------------------------- creation, gathers, linear algebra
function likeKernel(value: number): NativeKernel {
  return kernel<tf.ZerosLikeInputs>(({ x }, _, be) => {
    if (!isNative(x.dtype)) return null;
    return be.wrapAs(be.native.fill(x.shape, value, DT[x.dtype]), [...x.shape], x.dtype);
  });
}

const creationKernels: Record<string, NativeKernel> = {
  Fill: kernel<object, tf.FillAttrs>((_, { shape, value, dtype }, be) => {
    const dt = dtype ?? (typeof value === 'string' ? 'string' : 'float32');
    if (!isNative(dt) || typeof value !== 'number') return null;
    return be.wrapAs(be.native.fill(shape, value, DT[dt]), [...shape], dt);
  }),
  ZerosLike: likeKernel(0),
  OnesLike: likeKernel(1),
  Range: kernel<object, tf.RangeAttrs>((_, { start, stop, step, dtype }, be) => {
    if (step === 0 || (step > 0 && stop < start) || (step < 0 && stop > start)) return null;
    const n = start === stop ? 0 : Math.abs(Math.ceil((stop - start) / step));
    return be.wrapAs(be.native.range(start, step, n, DT[dtype ?? 'float32']), [n], dtype ?? 'float32');
  }),
  LinSpace: kernel<object, tf.LinSpaceAttrs>((_, { start, stop, num }, be) => {
    if (!(num >= 2)) return null;
    return be.wrapAs(be.native.range(start, (stop - start) / (num - 1), num, DT.float32), [num], 'float32');
  }),
  OneHot: kernel<tf.OneHotInputs, tf.OneHotAttrs>(({ indices }, a, be) => {
    const dtype = a.dtype ?? 'int32';
    if (!isI(indices) || !isNative(dtype)) return null;
    const id = be.native.oneHot(be.h(indices), a.depth, a.onValue ?? 1, a.offValue ?? 0, DT[dtype]);
    return be.wrapAs(id, [...indices.shape, a.depth], dtype);
  }),
  GatherV2: kernel<tf.GatherV2Inputs, tf.GatherV2Attrs>(({ x, indices }, a, be) => {
    if ((a.batchDims ?? 0) !== 0 || !isNative(x.dtype) || !isI(indices)) return null;
    const ax = util.parseAxisParam(a.axis, x.shape)[0]!;
    const shape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    return be.wrapAs(be.native.gather(be.h(x), be.h(indices), ax), shape, x.dtype);
  }),
  TopK: kernel<tf.TopKInputs, tf.TopKAttrs>(({ x }, { k }, be) => {
    if (!isF(x) && !isI(x)) return null;
    const shape = [...x.shape.slice(0, -1), k];
    const [v, i] = be.native.topk(be.h(x), k);
    return [be.wrapAs(v, shape, x.dtype), be.wrapAs(i, shape, 'int32')];
  }),
  UnsortedSegmentSum: kernel<tf.UnsortedSegmentSumInputs, tf.UnsortedSegmentSumAttrs>(({ x, segmentIds }, { numSegments }, be) => {
    if (segmentIds.shape.length !== 1 || x.shape.length < 1 || segmentIds.shape[0] !== x.shape[0] || !(isF(x) || isI(x))) return null;
    return be.wrapAs(be.native.segmentSum(be.h(x), be.h(segmentIds), numSegments), [numSegments, ...x.shape.slice(1)], x.dtype);
  }),
  Einsum: kernel<tf.EinsumInputs, tf.EinsumAttrs>((ts, { equation }, be) => {
    if (!ts.every(isF)) return null;
    return be.wrap(be.native.einsum(equation, ts.map((t) => be.h(t))));
  }),
  BatchMatMul: kernel<tf.BatchMatMulInputs, tf.BatchMatMulAttrs>(({ a, b }, attrs, be) => {
    if (a.dtype !== b.dtype || !(isF(a) || isI(a))) return null;
    return be.wrap(be.native.matmul(be.h(a), be.h(b), !!attrs.transposeA, !!attrs.transposeB));
  }),
  _FusedMatMul: kernel<tf._FusedMatMulInputs, tf._FusedMatMulAttrs>(({ a, b, bias, preluActivationWeights }, attrs, be) => {
    if (!isF(a) || !isF(b)) return null;
    const id = addBias(be, be.native.matmul(be.h(a), be.h(b), !!attrs.transposeA, !!attrs.transposeB), bias);
    const out = activate(be, id, attrs.activation, preluActivationWeights, attrs.leakyreluAlpha);
    if (out === null) {
      be.native.free(id);
      return null;
    }
    return be.wrap(out);
  }),
};

// ---------------------------------------------------------------- normalisation and smn's fused kernels
/** tfjs's FusedBatchNorm inputs; offset and scale may be absent. */
type FusedBatchNormInputs = { x: Info; mean: Info; variance: Info; offset?: Info; scale?: Info };
type BatchNormTrainAttrs = { varianceEpsilon: number };
type MaskAttrs = { k: number; mode: number; scale: boolean };
type SgdAttrs = { lr: number; momentum: number; dampening: number; nesterov: boolean; weightDecay: number; constantWd: boolean };

const normKernels: Record<string, NativeKernel> = {
  FusedBatchNorm: kernel<FusedBatchNormInputs, tf.FusedBatchNormAttrs>(({ x, mean, variance, offset, scale }, a, be) => {
    if (![x, mean, variance, offset, scale].every((t) => t == null || isF(t))) return null;
    const id = be.native.batchNorm(be.h(x), be.h(mean), be.h(variance), offset ? be.h(offset) : -1, scale ? be.h(scale) : -1, a.varianceEpsilon ?? 0.001);
    return be.wrapAs(id, [...x.shape], 'float32');
  }),
  // @smn/core's FusedKernel.batchNormTrain(Grad): train-mode batch norm in one libtorch kernel each way, for
  // @smn/models' BatchNorm and this package's fusedBatchNormTrain().
  [FusedKernel.batchNormTrain]: kernel<{ x: Info; scale: Info; offset: Info }, BatchNormTrainAttrs>(({ x, scale, offset }, a, be) => {
    const c = x.shape[x.shape.length - 1]!;
    const [y, m, s, v] = be.native.batchNormTrain(be.h(x), be.h(scale), be.h(offset), a.varianceEpsilon);
    return [be.wrapAs(y, [...x.shape], 'float32'), be.wrapAs(m, [c], 'float32'), be.wrapAs(s, [c], 'float32'), be.wrapAs(v, [c], 'float32')];
  }),
  [FusedKernel.batchNormTrainGrad]: kernel<{ dy: Info; x: Info; scale: Info; mean: Info; invStd: Info }, BatchNormTrainAttrs>(({ dy, x, scale, mean, invStd }, a, be) => {
    const c = x.shape[x.shape.length - 1]!;
    const [dx, ds, db] = be.native.batchNormTrainGrad(be.h(dy), be.h(x), be.h(scale), be.h(mean), be.h(invStd), a.varianceEpsilon);
    return [be.wrapAs(dx, [...x.shape], 'float32'), be.wrapAs(ds, [c], 'float32'), be.wrapAs(db, [c], 'float32')];
  }),
  // @smn/core's FusedKernel.maskedWeight(Grad): the mask-and-scale step of @smn/subnetworks in one pass each way.
  [FusedKernel.maskedWeight]: kernel<{ w: Info; s: Info }, MaskAttrs>(({ w, s }, { k, mode, scale }, be) => {
    if (!isF(w) || !isF(s) || (mode !== 0 && mode !== 1)) return null;
    const [y, m] = be.native.maskedWeight(be.h(w), be.h(s), k, mode, !!scale);
    return [be.wrapAs(y, [...w.shape], 'float32'), be.wrapAs(m, [], 'float32')];
  }),
  [FusedKernel.maskedWeightGrad]: kernel<{ dy: Info; w: Info; s: Info; mean: Info }, MaskAttrs & { weightGrad: boolean }>(({ dy, w, s, mean }, a, be) => {
    if (!isF(dy) || !isF(w) || !isF(s) || (a.mode !== 0 && a.mode !== 1)) return null;
    const ids = be.native.maskedWeightGrad(be.h(dy), be.h(w), be.h(s), be.h(mean), a.k, a.mode, !!a.scale, !!a.weightGrad);
    return ids.map((id) => be.wrapAs(id, [...w.shape], 'float32'));
  }),
  [FusedKernel.sgdStep]: kernel<{ p: Info; g: Info; buf?: Info }, SgdAttrs>(({ p, g, buf }, a, be) => {
    if (!isF(p) || !isF(g) || (buf && !isF(buf))) return null;
    const ids = be.native.sgdStep(be.h(p), be.h(g), buf ? be.h(buf) : -1, a.lr, a.momentum, a.dampening, !!a.nesterov, a.weightDecay, !!a.constantWd);
    return ids.map((id) => be.wrapAs(id, [...p.shape], 'float32'));
  }),
};

/** Every kernel that runs in libtorch, by kernel name (each may still hand a call to the cpu fallback). */
export const nativeKernels: Record<string, NativeKernel> = {
  ...elementwiseKernels,
  ...reductionKernels,
  ...shapeKernels,
  ...creationKernels,
  ...convKernels,
  ...normKernels,
};
