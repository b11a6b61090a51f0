import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@smn/core';

/** A trainable `nn.Linear` with PyTorch's layout (weight `[out, in]`) and default init U(±1/√in). */
export interface LinearLayer {
  weight: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1> | null;
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-bound, bound);
  return a;
}

/**
 * PyTorch's `nn.Linear` default init: `kaiming_uniform_(a=√5)` gives a weight bound of `gain·√(3/fan_in)` with
 * `gain = √(2/(1+5))`, i.e. `1/√fan_in`; the bias bound is `1/√fan_in` too.
 */
export function createLinear(inF: number, outF: number, bias: boolean, rng: Rng): LinearLayer {
  const bound = 1 / Math.sqrt(inF);
  const wInit = uniform(rng, outF * inF, bound);
  const weight = tf.tidy(() => tf.variable(tf.tensor2d(wInit, [outF, inF]), true));
  const bInit = bias ? uniform(rng, outF, bound) : null;
  const b = bInit ? tf.tidy(() => tf.variable(tf.tensor1d(bInit), true)) : null;
  return { weight: weight as tf.Variable<tf.Rank.R2>, bias: b as tf.Variable<tf.Rank.R1> | null };
}

/** `x Wᵀ + b`. */
export function applyLinear(l: LinearLayer, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy((): tf.Tensor2D => {
    const y = tf.matMul(x, l.weight, false, true) as tf.Tensor2D;
    return l.bias ? (tf.add(y, l.bias) as tf.Tensor2D) : y;
  });
}
