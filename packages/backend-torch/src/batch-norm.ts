import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel } from '@smn/core';

type Grad = Parameters<typeof tf.customGrad>[0];

function onTorch(): boolean {
  return tf.getBackend() === 'torch' && tf.getKernel(FusedKernel.batchNormTrain, 'torch') !== undefined;
}

// A customGrad's forward runs inside the engine's kernel scope: what it computes there is not recorded on the gradient
// tape. The batch statistics a caller asked for are kept from there, so the running-statistics update beside a training
// step holds no activation-sized tensor on the tape (tf.moments outside would save x − mean until backprop ends).
let wantStats = false;
let stats: { mean: tf.Tensor; variance: tf.Tensor } | null = null;

function keepStats(mean: tf.Tensor, variance: tf.Tensor): void {
  if (wantStats) stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
}

/** Closed-form train-mode batch norm for any backend (PyTorch's batch_norm_backward arithmetic). */
const portable = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: tf.Tensor, save: tf.GradSaveFunc) => {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const invStd = tf.rsqrt(tf.add(variance, eps));
  const a = tf.mul(gamma, invStd);
  const y = tf.add(tf.mul(x, a), tf.sub(beta, tf.mul(mean, a)));
  save([x, mean, invStd, gamma]);
  keepStats(mean, variance);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, mu, inv, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const n = xs.size / xs.shape[xs.shape.length - 1]!;
      const ax = xs.shape.slice(0, -1).map((_, i) => i);
      // dx = dy·A + x·B + C with per-channel A = γ·inv, B = −γ·inv²·Σ(dy·x̂)/n, C = −μ·B − A·Σdy/n
      const dBeta = tf.sum(dy, ax);
      const dGamma = tf.mul(tf.sub(tf.sum(tf.mul(dy, xs), ax), tf.mul(mu, dBeta)), inv);
      const A = tf.mul(g, inv);
      const B = tf.neg(tf.div(tf.mul(tf.mul(A, inv), dGamma), n));
      const C = tf.sub(tf.neg(tf.mul(mu, B)), tf.div(tf.mul(A, dBeta), n));
      return [tf.add(tf.mul(dy, A), tf.add(tf.mul(xs, B), C)), dGamma, dBeta, tf.zerosLike(eps)];
    },
  };
}) as unknown as Grad) as unknown as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: tf.Tensor) => tf.Tensor;

const epsCache = new Map<string, tf.Tensor>();

function makeFused(eps: number) {
  return tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, invStd, variance] = tf.engine().runKernel(FusedKernel.batchNormTrain, { x, scale: gamma, offset: beta }, { varianceEpsilon: eps }) as tf.Tensor[];
    save([x, gamma, mean!, invStd!]);
    keepStats(mean!, variance!);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, g, m, s] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(FusedKernel.batchNormTrainGrad, { dy, x: xs, scale: g, mean: m, invStd: s }, { varianceEpsilon: eps }) as tf.Tensor[];
      },
    };
  }) as unknown as Grad) as unknown as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
}
const fusedByEps = new Map<number, ReturnType<typeof makeFused>>();

/**
 * Train-mode batch norm over every axis but the last (NHWC [N,H,W,C] or [N,C]): (x − mean)/sqrt(var + eps)·γ + β with
 * the batch's biased variance. On the 'torch' backend forward and gradient are one libtorch kernel each
 * (`native_batch_norm` and its backward); elsewhere the same math runs as tfjs ops with a closed-form gradient.
 * Gradients flow to x, γ and β. Returns y (the caller disposes it).
 */
export function fusedBatchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  return runBatchNormTrain(x, gamma, beta, eps);
}

/**
 * fusedBatchNormTrain, also returning the batch's mean and biased variance per channel (for the running statistics).
 * The statistics come from the same kernel, are not recorded on a gradient tape, and the caller disposes all three.
 */
export function fusedBatchNormTrainStats(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps = 1e-5,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  wantStats = true;
  stats = null;
  try {
    const y = runBatchNormTrain(x, gamma, beta, eps);
    const got = stats as { mean: tf.Tensor; variance: tf.Tensor } | null;
    if (got === null) throw new Error('fusedBatchNormTrainStats: the batch-norm forward kept no statistics');
    return { y, ...got };
  } finally {
    wantStats = false;
    stats = null;
  }
}

function runBatchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  if (onTorch() && x.dtype === 'float32' && (x.rank === 4 || x.rank === 2)) {
    let f = fusedByEps.get(eps);
    if (!f) fusedByEps.set(eps, (f = makeFused(eps)));
    return f(x, gamma, beta);
  }
  const key = `${tf.getBackend()}:${eps}`;
  let e = epsCache.get(key);
  if (!e || e.isDisposed) epsCache.set(key, (e = tf.keep(tf.scalar(eps))));
  return portable(x, gamma, beta, e);
}
