import * as tf from '@tensorflow/tfjs-core';
import { BN_TRAIN, BN_TRAIN_GRAD } from './kernels.js';

type Grad = Parameters<typeof tf.customGrad>[0];

function onTorch(): boolean {
  return tf.getBackend() === 'torch' && tf.getKernel(BN_TRAIN, 'torch') !== undefined;
}

/** Closed-form train-mode batch norm for any backend (PyTorch's batch_norm_backward arithmetic). */
const portable = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: tf.Tensor, save: tf.GradSaveFunc) => {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const invStd = tf.rsqrt(tf.add(variance, eps));
  const a = tf.mul(gamma, invStd);
  const y = tf.add(tf.mul(x, a), tf.sub(beta, tf.mul(mean, a)));
  save([x, mean, invStd, gamma]);
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
    const [y, mean, invStd] = tf.engine().runKernel(BN_TRAIN, { x, scale: gamma, offset: beta }, { varianceEpsilon: eps }) as tf.Tensor[];
    save([x, gamma, mean!, invStd!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, g, m, s] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x: xs, scale: g, mean: m, invStd: s }, { varianceEpsilon: eps }) as tf.Tensor[];
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
