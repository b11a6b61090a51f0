import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel, SmnError, fmtShape } from '@smn/core';
import { SubnetErrorCode } from './errors.js';
import type { MaskMode } from './types.js';

const MODES: readonly MaskMode[] = ['threshold', 'topk', 'flip'];

/** Throws unless `mode` is a known mask mode and `k` is valid for it. `what` names the caller in the message. */
export function checkModeAndK(mode: string, k: number, what: string): asserts mode is MaskMode {
  if (!MODES.includes(mode as MaskMode)) {
    throw new SmnError(SubnetErrorCode.BadOption, `${what}: unknown mask mode '${mode}'; expected one of ${MODES.join(', ')}`, {
      kind: 'usage',
      details: { mode },
    });
  }
  if (!Number.isFinite(k)) {
    throw new SmnError(SubnetErrorCode.BadOption, `${what}: k must be a finite number, found ${k}`, { kind: 'usage', details: { k } });
  }
  if (mode === 'topk' && (k < 0 || k > 1)) {
    throw new SmnError(
      SubnetErrorCode.BadOption,
      `${what}: topk keeps the fraction k of each tensor, so k must be in [0, 1]; found ${k}`,
      { kind: 'usage', details: { k } },
    );
  }
}

/**
 * The reference's `GetSubnet` forward (subnetworks/submasking.py; docs/method.md#masks), without gradient. Returns a new float32 tensor shaped like
 * `scores`; the caller disposes it.
 * - `threshold`: 1 where S > k, else 0. This is a plain comparison: for k < 0 the reference's in-place code returns
 *   all ones instead (its zeros are then > k); we do not copy that quirk.
 * - `topk`: per tensor, on signed scores: the j = ⌊(1 − k)·numel⌋ lowest scores → 0, the rest → 1 (ties broken by
 *   `tf.topk`, which keeps the lower index).
 * - `flip`: +1 where S > k, else −1 (the reference returns all +1 for k < −1; we compare plainly).
 */
export function computeMask(scores: tf.Tensor, k: number, mode: MaskMode): tf.Tensor {
  checkModeAndK(mode, k, 'computeMask');
  return tf.tidy(() => {
    if (mode === 'threshold') return tf.cast(tf.greater(scores, k), 'float32');
    if (mode === 'flip') return tf.sub(tf.mul(tf.cast(tf.greater(scores, k), 'float32'), 2), 1);
    const n = scores.size;
    const j = Math.floor((1 - k) * n);
    const keep = n - j;
    if (keep <= 0) return tf.zeros(scores.shape, 'float32');
    if (keep >= n) return tf.ones(scores.shape, 'float32');
    const { indices } = tf.topk(tf.reshape(scores, [n]), keep, false);
    const flat = tf.scatterND(tf.reshape(indices, [keep, 1]), tf.ones([keep], 'float32'), [n]);
    return tf.reshape(flat, scores.shape);
  });
}

/**
 * Effective masked weight `W ⊙ M / √d` with `M = computeMask(S, k, mode)` and a straight-through gradient to the
 * scores S that, like autograd through the reference's `GetSubnet`, also flows through the mean:
 *
 *   dL/dS_i = g_i·W_i/√m − (1/(2N))·m^(−3/2)·Σ_j g_j·W_j·M_j      (g = dL/dŵ, N = numel, m = mean(M) > 0)
 *
 * Safe denominator (the reference has none and returns inf/NaN): `d = max(|m|, 1/N)`.
 * - Whenever m > 0 this is exactly the reference (a 0/1 or ±1 mask with m > 0 has m ≥ 1/N).
 * - All-zero 0/1 mask (m = 0): the weight is all zeros and the score gradient is g_i·W_i·√N, finite, the value the
 *   formula takes at the smallest non-empty mask (its Σ term vanishes because M = 0). Scores can therefore recover.
 * - flip with m ≤ 0 (the reference gives NaN): d = |m| (or 1/N when m = 0), so negating a mask negates the weight;
 *   the gradient follows autograd through |m| (the Σ term changes sign), and stops at the clamp when m = 0.
 * With `scale = false` the weight is `W ⊙ M` and dL/dS = g ⊙ W.
 *
 * @param weight frozen base weight, any shape (float32)
 * @param scores learnable scores, same shape
 * @returns a new tensor shaped like `weight`; the gradient w.r.t. `weight` is g ⊙ M / √d.
 */
export function maskedWeight(weight: tf.Tensor, scores: tf.Tensor, k: number, mode: MaskMode, scale = true, opts: MaskedWeightOptions = {}): tf.Tensor {
  checkModeAndK(mode, k, 'maskedWeight');
  if (!tf.util.arraysEqual(weight.shape, scores.shape)) {
    throw new SmnError(
      SubnetErrorCode.MaskMismatch,
      `maskedWeight: scores have shape ${fmtShape(scores.shape)} but the weight has shape ${fmtShape(weight.shape)}`,
      { details: { weightShape: weight.shape, scoresShape: scores.shape } },
    );
  }
  const weightGrad = opts.weightGrad ?? true;
  if (mode !== 'topk' && weight.dtype === 'float32' && scores.dtype === 'float32' && tf.getKernel(FusedKernel.maskedWeight, tf.getBackend())) {
    return fusedMaskedWeight(weight, scores, k, mode === 'flip' ? 1 : 0, scale, weightGrad);
  }
  const n = weight.size;
  // gradFunc returns [dW, dS], dW only when weightGrad (masked models freeze W: one pass less per step).
  const run: MaskedRun = (w, s, save) => {
    const mask = computeMask(s, k, mode);
    if (!scale) {
      save([w, mask]);
      return {
        value: tf.mul(w, mask),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [w0, m0] = saved as [tf.Tensor, tf.Tensor];
          return weightGrad ? [tf.mul(dy, m0), tf.mul(dy, w0)] : [tf.mul(dy, w0)];
        },
      };
    }
    const m = tf.mean(mask);
    const absM = tf.abs(m);
    const inv = invSqrtSafeMean(mask, m);
    // d|m|/dm = sign(m) while the clamp is inactive (m ≠ 0; masks have |m| in multiples of 1/N), else 0.
    const flows = tf.mul(tf.sign(m), tf.cast(tf.greater(absM, 0.5 / n), 'float32'));
    save([w, mask, inv, flows]);
    return {
      value: tf.mul(tf.mul(w, mask), inv),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [w0, m0, inv0, flows0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const gw = tf.mul(dy, w0);
        const dot = tf.sum(tf.mul(gw, m0));
        const coef = tf.mul(tf.mul(dot, tf.pow(inv0, 3)), tf.mul(flows0, 0.5 / n));
        const gs = tf.sub(tf.mul(gw, inv0), coef);
        return weightGrad ? [tf.mul(tf.mul(dy, m0), inv0), gs] : [gs];
      },
    };
  };
  return withGradient(run, weight, scores, weightGrad);
}

/** Options of {@link maskedWeight}. */
export interface MaskedWeightOptions {
  /**
   * Compute the gradient with respect to the weight (default true). Masked models keep their base weights frozen and
   * pass false: the weight is then a constant of the gradient, which saves a pass over it on every step.
   */
  weightGrad?: boolean;
}

/** maskedWeight through the backend's fused kernel (one pass each way, @smn/core FusedKernel). */
function fusedMaskedWeight(weight: tf.Tensor, scores: tf.Tensor, k: number, mode: 0 | 1, scale: boolean, weightGrad: boolean): tf.Tensor {
  const attrs = { k, mode, scale };
  const run: MaskedRun = (w, s, save) => {
    const [y, mean] = tf.engine().runKernel(FusedKernel.maskedWeight, { w, s }, attrs) as tf.Tensor[];
    save([w, s, mean!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [w0, s0, m0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const g = tf.engine().runKernel(FusedKernel.maskedWeightGrad, { dy, w: w0, s: s0, mean: m0 }, { ...attrs, weightGrad }) as tf.Tensor[];
        return weightGrad ? [g[1]!, g[0]!] : [g[0]!];
      },
    };
  };
  return withGradient(run, weight, scores, weightGrad);
}

/** One step of a masked weight: its value and a gradFunc returning [dW, dS] (weightGrad) or [dS]. */
type MaskedRun = (w: tf.Tensor, s: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** Applies `run` as a custom-gradient op of (weight, scores), or of the scores alone with the weight as a constant. */
function withGradient(run: MaskedRun, weight: tf.Tensor, scores: tf.Tensor, weightGrad: boolean): tf.Tensor {
  type Grad = Parameters<typeof tf.customGrad>[0];
  if (weightGrad) return tf.customGrad(((w: tf.Tensor, s: tf.Tensor, save: tf.GradSaveFunc) => run(w, s, save)) as unknown as Grad)(weight, scores);
  return tf.customGrad(((s: tf.Tensor, save: tf.GradSaveFunc) => run(weight, s, save)) as unknown as Grad)(scores);
}

/**
 * `1/√max(|mean(mask)|, 1/N)` as a scalar tensor: the scale of {@link maskedWeight} and {@link applyMasks}.
 * `mean` may be passed when already computed.
 */
export function invSqrtSafeMean(mask: tf.Tensor, mean?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.rsqrt(tf.maximum(tf.abs(mean ?? tf.mean(mask)), 1 / mask.size)) as tf.Scalar);
}
