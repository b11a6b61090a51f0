import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel, SmnError, fmtShape } from '@smn/core';
import type { RawTensor } from './types.js';
import { ModelErrorCode } from './errors.js';

/** Gets a parameter from a map or throws SMN_MODEL_PARAM naming it. */
export function req(params: Map<string, tf.Tensor>, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) {
    throw new SmnError(ModelErrorCode.ModelParam, `parameter '${name}' is missing from the parameter map passed to apply()`, { details: { tensor: name } });
  }
  return t;
}

/** 2-D convolution on NHWC input with an HWIO kernel and symmetric zero padding (PyTorch `Conv2d`, no bias). */
export function conv(x: tf.Tensor, w: tf.Tensor, stride: number, pad: number): tf.Tensor4D {
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad === 0 ? 'valid' : pad);
}

type Grad = Parameters<typeof tf.customGrad>[0];

/**
 * a + b for two tensors of one shape (a residual connection). tfjs's Add gradient keeps both inputs alive until the
 * backward pass reaches it, only to read their shapes; this one keeps nothing, so a block's last batch-norm output is
 * freed as soon as the forward pass has used it. Same values and gradients as `tf.add`.
 */
export const residualAdd = tf.customGrad(((a: tf.Tensor, b: tf.Tensor) => {
  if (!tf.util.arraysEqual(a.shape, b.shape)) {
    throw new SmnError(ModelErrorCode.ModelShape, `residualAdd: the branch is ${fmtShape(a.shape)} but the shortcut is ${fmtShape(b.shape)}`, {
      details: { expected: a.shape, found: b.shape },
    });
  }
  const shape = a.shape;
  // New tensor objects sharing dy's memory: each input's gradient is its own tensor, as tfjs's gradients expect.
  return { value: tf.add(a, b), gradFunc: (dy: tf.Tensor) => [tf.reshape(dy, shape), tf.reshape(dy, shape)] };
}) as unknown as Grad) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * A train-mode BatchNorm over every axis but the last: y and the batch's per-channel mean and biased variance (for the
 * running statistics; they need no gradient). The caller disposes all three.
 */
export type TrainBatchNorm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number) => { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor };
let trainBatchNorm: TrainBatchNorm | null | 'auto' = 'auto';

/**
 * Chooses train-mode BatchNorm: `'auto'` (the default) runs the active backend's fused kernel (@smn/core's
 * `FusedKernel.batchNormTrain`, one kernel each way; `torch` registers it) where it is registered and plain tfjs ops
 * elsewhere; `null` always runs plain ops; a function is used instead of either. Eval mode is unchanged.
 */
export function setTrainBatchNorm(impl: TrainBatchNorm | null | 'auto'): void {
  trainBatchNorm = impl;
}

// A customGrad's forward is not recorded on the gradient tape: the batch statistics kept from inside it feed the
// running buffers without the tape holding an activation-sized tensor until backprop ends (tf.moments beside the
// kernel would save x − mean).
let fusedStats: { mean: tf.Tensor; variance: tf.Tensor } | null = null;

function fusedBatchNormFor(eps: number): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, invStd, variance] = tf.engine().runKernel(FusedKernel.batchNormTrain, { x, scale: gamma, offset: beta }, { varianceEpsilon: eps }) as tf.Tensor[];
    save([x, gamma, mean!, invStd!]);
    fusedStats = { mean: tf.keep(mean!), variance: tf.keep(variance!) };
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, g, m, s] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(FusedKernel.batchNormTrainGrad, { dy, x: xs, scale: g, mean: m, invStd: s }, { varianceEpsilon: eps }) as tf.Tensor[];
      },
    };
  }) as unknown as Grad) as unknown as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
}
const fusedByEps = new Map<number, ReturnType<typeof fusedBatchNormFor>>();

/** Train-mode BatchNorm through the backend's FusedKernel.batchNormTrain and its gradient kernel. */
const fusedTrainBatchNorm: TrainBatchNorm = (x, gamma, beta, eps) => {
  let f = fusedByEps.get(eps);
  if (!f) fusedByEps.set(eps, (f = fusedBatchNormFor(eps)));
  fusedStats = null;
  const y = f(x, gamma, beta);
  const stats = fusedStats as { mean: tf.Tensor; variance: tf.Tensor } | null;
  fusedStats = null;
  if (stats === null) throw new Error('batchNorm: the fused batch-norm forward kept no statistics');
  return { y, ...stats };
};

/** The train-mode BatchNorm setTrainBatchNorm chose for x, or null for plain ops. */
function trainBatchNormFor(x: tf.Tensor): TrainBatchNorm | null {
  if (trainBatchNorm !== 'auto') return trainBatchNorm;
  const fits = x.dtype === 'float32' && (x.rank === 4 || x.rank === 2);
  return fits && tf.getKernel(FusedKernel.batchNormTrain, tf.getBackend()) !== undefined ? fusedTrainBatchNorm : null;
}

/** Batches each BatchNorm has averaged while running statistics are cumulative; null: exponential (momentum). */
let cumulative: Map<string, number> | null = null;

/**
 * Runs `fn` with BatchNorm running statistics updated as a cumulative average over the batches seen (PyTorch's
 * `momentum=None`, as `torch.optim.swa_utils.update_bn` uses it) instead of the momentum-0.1 exponential average.
 * Forward batches in training mode inside `fn`: each BatchNorm's first batch replaces its buffers, so afterwards they
 * hold the average batch statistics of exactly those batches (no reset needed).
 */
export async function withCumulativeBatchNorm<T>(fn: () => Promise<T>): Promise<T> {
  const saved = cumulative;
  cumulative = new Map();
  try {
    return await fn();
  } finally {
    cumulative = saved;
  }
}

/**
 * Folds one batch's statistics into the running buffers as PyTorch does (unbiased variance, `num_batches_tracked += 1`),
 * with factor `momentum`, or 1/(batches seen) inside withCumulativeBatchNorm.
 */
function updateRunning(buffers: Map<string, tf.Variable>, prefix: string, mean: tf.Tensor, variance: tf.Tensor, n: number, momentum: number): void {
  const rm = buffers.get(`${prefix}.running_mean`)!;
  const rv = buffers.get(`${prefix}.running_var`)!;
  let f = momentum;
  if (cumulative) {
    const seen = (cumulative.get(prefix) ?? 0) + 1;
    cumulative.set(prefix, seen);
    f = 1 / seen;
  }
  tf.tidy(() => {
    rm.assign(tf.add(tf.mul(rm, 1 - f), tf.mul(mean, f)));
    rv.assign(tf.add(tf.mul(rv, 1 - f), tf.mul(variance, (f * n) / Math.max(1, n - 1))));
    const nbt = buffers.get(`${prefix}.num_batches_tracked`);
    if (nbt) nbt.assign(tf.add(nbt, tf.scalar(1, nbt.dtype)));
  });
}

/**
 * BatchNorm over the channel (last) axis, differentiable. In training mode it normalises with the batch statistics
 * (biased variance; through the backend's fused kernel or plain ops, as chosen with setTrainBatchNorm) and
 * updates the running buffers as PyTorch does (momentum 0.1, unbiased variance, `num_batches_tracked += 1`). In eval
 * mode it uses the running statistics.
 */
export function batchNorm(
  x: tf.Tensor,
  weight: tf.Tensor | undefined,
  bias: tf.Tensor | undefined,
  buffers: Map<string, tf.Variable>,
  prefix: string,
  training: boolean,
  eps = 1e-5,
  momentum = 0.1,
): tf.Tensor {
  const rm = buffers.get(`${prefix}.running_mean`);
  const rv = buffers.get(`${prefix}.running_var`);
  let y: tf.Tensor;
  const impl = training && weight && bias ? trainBatchNormFor(x) : null;
  if (impl && weight && bias) {
    // A backend's fused kernel (one op each way instead of ~15); the running statistics come from it too.
    const out = impl(x, weight, bias, eps);
    if (rm && rv) updateRunning(buffers, prefix, out.mean, out.variance, x.size / x.shape[x.shape.length - 1]!, momentum);
    tf.dispose([out.mean, out.variance]);
    return out.y;
  }
  if (training || !rm || !rv) {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const mean = tf.mean(x, axes);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axes);
    y = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
    if (training && rm && rv) updateRunning(buffers, prefix, mean, variance, x.size / x.shape[x.shape.length - 1]!, momentum);
  } else {
    // Eval mode: one batchNorm kernel (one pass over x on every backend; tfjs's gradient needs scale and offset).
    if (weight && bias) return tf.batchNorm(x, rm, rv, bias, weight, eps);
    y = tf.mul(tf.sub(x, rm), tf.rsqrt(tf.add(rv, eps)));
  }
  if (weight) y = tf.mul(y, weight);
  if (bias) y = tf.add(y, bias);
  return y;
}

/** LayerNorm over the last axis (PyTorch `nn.LayerNorm`). */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const axis = x.shape.length - 1;
  const mean = tf.mean(x, axis, true);
  const c = tf.sub(x, mean);
  const variance = tf.mean(tf.square(c), axis, true);
  return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(variance, eps))), weight), bias);
}

/** Linear layer on the last axis with weight `[in,out]` (already transposed from PyTorch) and optional bias. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = tf.matMul(x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]), w as tf.Tensor2D);
  if (b) y = tf.add(y, b);
  return x.rank === 2 ? y : tf.reshape(y, [...lead, w.shape[1]!]);
}

/** PyTorch → tfjs layout for one tensor: conv OIHW → HWIO, linear [out,in] → [in,out]; others unchanged. */
export function toTf(raw: RawTensor, layout: 'conv' | 'linear' | 'plain', name: string): tf.Tensor {
  if (raw.dtype !== 'float32') {
    throw new SmnError(ModelErrorCode.WeightsDtype, `tensor '${name}' has dtype ${raw.dtype}, expected a floating point type`, { details: { tensor: name } });
  }
  // Transposed in plain loops (tfjs' cpu transpose takes ~20 s on a ResNet-50); 'plain' tensors get their own copy
  // too, since the cpu backend keeps the array it is given and raw.data may be a view into a whole weight file.
  const src = raw.data as Float32Array;
  if (layout === 'plain') return tf.tensor(src.slice(), raw.shape, 'float32');
  if (layout === 'linear') {
    const [o, i] = raw.shape as [number, number];
    return tf.tensor(transpose2d(src, o, i), [i, o], 'float32');
  }
  const [o, i, kh, kw] = raw.shape as [number, number, number, number];
  const k = kh * kw;
  // [o, (i,k)] → [(i,k), o] by tiles, then reorder the rows (i,k) → (k,i) with contiguous copies.
  const tmp = transpose2d(src, o, i * k);
  if (k === 1) return tf.tensor(tmp, [kh, kw, i, o], 'float32');
  const out = new Float32Array(src.length);
  for (let b = 0; b < i; b++) {
    for (let s2 = 0; s2 < k; s2++) out.set(tmp.subarray((b * k + s2) * o, (b * k + s2 + 1) * o), (s2 * i + b) * o);
  }
  return tf.tensor(out, [kh, kw, i, o], 'float32');
}

/** Cache-friendly tiled transpose of a row-major [rows, cols] matrix. */
function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c]!;
      }
    }
  }
  return out;
}

/** tfjs → PyTorch layout (inverse of {@link toTf}); returns a new RawTensor. */
export function fromTf(t: tf.Tensor, layout: 'conv' | 'linear' | 'plain'): RawTensor {
  const src = t.dataSync() as Float32Array;
  if (layout === 'plain') return { shape: t.shape.slice(), dtype: 'float32', data: src.slice() };
  if (layout === 'linear') {
    const [i, o] = t.shape as [number, number];
    return { shape: [o, i], dtype: 'float32', data: transpose2d(src, i, o) };
  }
  const [kh, kw, i, o] = t.shape as [number, number, number, number];
  const k = kh * kw;
  // rows (k,i) → (i,k) with contiguous copies, then [(i,k), o] → [o, (i,k)] by tiles
  const rows = new Float32Array(src.length);
  for (let b = 0; b < i; b++) {
    for (let s2 = 0; s2 < k; s2++) rows.set(src.subarray((s2 * i + b) * o, (s2 * i + b + 1) * o), (b * k + s2) * o);
  }
  const out = transpose2d(rows, i * k, o);
  return { shape: [o, i, kh, kw], dtype: 'float32', data: out };
}

/** Throws SMN_WEIGHTS_SHAPE_MISMATCH naming the tensor with expected and found (PyTorch) shapes. */
export function checkShape(name: string, expected: readonly number[], found: readonly number[], hint: string): void {
  if (expected.length !== found.length || expected.some((d, i) => d !== found[i])) {
    throw new SmnError(
      ModelErrorCode.WeightsShapeMismatch,
      `tensor '${name}': expected shape ${fmtShape(expected)}, found ${fmtShape(found)}${hint ? ` (${hint})` : ''}`,
      { details: { tensor: name, expected, found } },
    );
  }
}
