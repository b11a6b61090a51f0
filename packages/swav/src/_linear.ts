import * as tf from '@tensorflow/tfjs-core';
import { torchLinearInit, type Rng } from '@smn/core';

/** A trainable `nn.Linear` with PyTorch's layout (weight `[out, in]`) and default init U(±1/√in). */
export interface LinearLayer {
  weight: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1> | null;
}

/** A trainable `nn.Linear(inF, outF)` with PyTorch's default init ({@link torchLinearInit}), weight then bias. */
export function createLinear(inF: number, outF: number, bias: boolean, rng: Rng): LinearLayer {
  const wInit = torchLinearInit(rng, outF * inF, inF);
  const weight = tf.tidy(() => tf.variable(tf.tensor2d(wInit, [outF, inF]), true));
  const bInit = bias ? torchLinearInit(rng, outF, inF) : null;
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
