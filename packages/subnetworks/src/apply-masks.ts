import * as tf from '@tensorflow/tfjs-core';
import { SmnError, fmtShape } from '@smn/core';
import { SubnetErrorCode } from './errors.js';
import { invSqrtSafeMean } from './get-subnet.js';
import type { MaskData } from './types.js';

/**
 * Effective weights from base weights and fixed masks, as the masked model computes them: for each masked name
 * `W ⊙ M / √max(|mean(M)|, 1/N)` (or `W ⊙ M` with `scale: false`); other names are passed through. Every tensor in
 * the returned map is new (pass-through entries are clones sharing memory): the caller disposes them all.
 */
export function applyMasks(
  baseParams: Map<string, tf.Tensor>,
  masks: Map<string, tf.Tensor | MaskData>,
  opts: { scale?: boolean } = {},
): Map<string, tf.Tensor> {
  const scale = opts.scale ?? true;
  for (const [name, m] of masks) {
    const w = baseParams.get(name);
    if (w === undefined) {
      throw new SmnError(SubnetErrorCode.MaskMismatch, `applyMasks: mask "${name}" has no base weight of that name (${baseParams.size} entries)`, {
        details: { name },
      });
    }
    if (!tf.util.arraysEqual(w.shape, m.shape as number[])) {
      throw new SmnError(
        SubnetErrorCode.MaskMismatch,
        `applyMasks: mask "${name}" has shape ${fmtShape(m.shape)} but the weight has shape ${fmtShape(w.shape)}`,
        { details: { name, maskShape: m.shape, weightShape: w.shape } },
      );
    }
  }
  const out = new Map<string, tf.Tensor>();
  for (const [name, w] of baseParams) {
    const m = masks.get(name);
    if (m === undefined) {
      out.set(name, tf.clone(w));
      continue;
    }
    out.set(
      name,
      tf.tidy(() => {
        const mask = m instanceof tf.Tensor ? tf.cast(m, 'float32') : tf.tensor(Float32Array.from(m.values), m.shape, 'float32');
        const masked = tf.mul(w, mask);
        return scale ? tf.mul(masked, invSqrtSafeMean(mask)) : masked;
      }),
    );
  }
  return out;
}
