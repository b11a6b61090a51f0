import * as tf from '@tensorflow/tfjs-core';
import { SmnError, fmtShape } from '@smn/core';
import { SwavErrorCode } from './errors.js';
import type { SinkhornOptions } from './types.js';

/** SwAV's Sinkhorn-Knopp settings (volt/modules/ssl.py, SWAVConfig: epsilon 0.05, 3 iterations). */
export const SINKHORN_DEFAULTS = { epsilon: 0.05, iterations: 3, domain: 'auto' } as const;

/**
 * Largest spread `(max(o) - min(o)) / ε` for which `domain: 'auto'` keeps the reference's exp-domain steps.
 * After the max is subtracted the smallest entry is ≥ e^-50 ≈ 2e-22, and after the division by the total (at most
 * B·K ≈ 1e7 entries of at most 1) still ≥ 1e-29: far above float32's smallest normal (1.2e-38), so no row or column
 * can underflow to zero. Unit-norm embeddings and prototypes give |o| ≤ 1, a spread ≤ 2/0.05 = 40.
 */
export const SINKHORN_EXP_MAX_SPREAD = 50;

/**
 * SwAV's Sinkhorn-Knopp equal-partition assignment, exactly the reference's steps (volt/modules/ssl.py, SWAVModule.sinkhorn):
 * `Q = exp(o/ε)ᵀ` (K × B); `Q /= sum(Q)`; `iterations` times: `Q /= rowSums; Q /= K; Q /= colSums; Q /= B`;
 * `Q *= B`; return `Qᵀ`. After the last column step every sample (row of the result) sums to 1; every prototype
 * (column of the result) sums to ≈ B/K, exactly so only in the limit of many iterations.
 *
 * Numerical safety. `exp` domain computes `exp((o − max o)/ε)` instead of `exp(o/ε)`. This gives the same Q:
 * `exp((o − m)/ε) = e^(−m/ε) · exp(o/ε)` multiplies every entry by one constant c > 0, and the next step divides by
 * the total, `c·x / Σ c·x = x / Σ x`; all later steps are ratios of entries of that normalised Q. (Checked in the
 * tests against a float64 JS implementation of the unshifted formula.) The shift removes the overflow of
 * `exp(o/ε)` (float32 overflows at o/ε > 88.7, i.e. o > 4.4 with ε = 0.05). For wide score ranges entries can
 * still underflow to 0 and a whole prototype row become 0 (0/0 = NaN in the row step), so `log` domain runs the same
 * steps on `log Q` with `logSumExp` (`log Q −= logSumExp(rows) + log K`, and so on) and exponentiates at the end:
 * finite for any finite scores. `auto` (default) reads the spread of the scores (one scalar download) and uses
 * `exp` when it is ≤ {@link SINKHORN_EXP_MAX_SPREAD}·ε (always the case for unit-norm inputs), `log` otherwise.
 *
 * @param scores `[B, K]` prototype scores o (not disposed).
 * @returns `[B, K]` soft assignments; the caller disposes them. Not detached: wrap in a no-gradient scope
 *   (see {@link swavLoss}) when used as a target.
 */
export function sinkhorn(scores: tf.Tensor2D, options: SinkhornOptions = {}): tf.Tensor2D {
  const { epsilon, iterations, domain } = { ...SINKHORN_DEFAULTS, ...options };
  if (scores.rank !== 2 || scores.shape[0] < 1 || scores.shape[1] < 1) {
    throw new SmnError(
      SwavErrorCode.Shape,
      `sinkhorn scores must be a non-empty 2-D tensor [B, K]; found shape ${fmtShape(scores.shape)}.`,
      { kind: 'usage' },
    );
  }
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new SmnError(SwavErrorCode.Option, `sinkhorn epsilon must be a finite number > 0; found ${epsilon}.`, {
      kind: 'usage',
    });
  }
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new SmnError(SwavErrorCode.Option, `sinkhorn iterations must be an integer >= 0; found ${iterations}.`, {
      kind: 'usage',
    });
  }
  if (domain !== 'auto' && domain !== 'exp' && domain !== 'log') {
    throw new SmnError(SwavErrorCode.Option, `sinkhorn domain must be 'auto', 'exp' or 'log'; found '${String(domain)}'.`, {
      kind: 'usage',
    });
  }
  const [B, K] = scores.shape;
  return tf.tidy(() => {
    const o = scores.dtype === 'float32' ? scores : tf.cast(scores, 'float32');
    const max = tf.max(o);
    let useLog = domain === 'log';
    if (domain === 'auto') {
      const spread = tf.sub(max, tf.min(o)).dataSync()[0]!;
      useLog = !(spread / epsilon <= SINKHORN_EXP_MAX_SPREAD); // NaN spread also goes to the log path
    }
    const logits = tf.div(tf.sub(tf.transpose(o), max), epsilon); // [K, B], ≤ 0
    if (useLog) {
      const logK = Math.log(K);
      const logB = Math.log(B);
      let L = tf.sub(logits, tf.logSumExp(logits));
      for (let it = 0; it < iterations; it++) {
        L = tf.sub(tf.sub(L, tf.logSumExp(L, 1, true)), logK);
        L = tf.sub(tf.sub(L, tf.logSumExp(L, 0, true)), logB);
      }
      return tf.transpose(tf.exp(tf.add(L, logB))) as tf.Tensor2D;
    }
    let Q: tf.Tensor = tf.exp(logits);
    Q = tf.div(Q, tf.sum(Q));
    for (let it = 0; it < iterations; it++) {
      Q = tf.div(tf.div(Q, tf.sum(Q, 1, true)), K);
      Q = tf.div(tf.div(Q, tf.sum(Q, 0, true)), B);
    }
    return tf.transpose(tf.mul(Q, B)) as tf.Tensor2D;
  });
}
