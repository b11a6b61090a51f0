import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng, torchLinearInit } from '@smn/core';
import { SubnetErrorCode } from './errors.js';
import { createMaskedModel } from './masked-model.js';
import type { FunctionalModel, MaskedLinear, MaskedLinearOptions } from './types.js';

/**
 * The reference's `MaskedLinear` (subnetworks/submasking.py; docs/method.md#heads), the supervised-masking classification head: a frozen random weight
 * `W` `[in, out]` ~ U(±1/√in) (PyTorch's `nn.Linear` default init, no bias), learnable scores all equal to
 * `scoreInit`, and `y = x · (W ⊙ M) / √mean(M)` with `M = (S > 0)`. The parameter is named `weight`.
 *
 * ```ts
 * const head = createMaskedLinear(512, 10, { seed: 1 });
 * const logits = head.apply(features); // [B, 512] -> [B, 10]
 * ```
 * Dispose with `head.dispose()` (frees the weight too).
 */
export function createMaskedLinear(inFeatures: number, outFeatures: number, options: MaskedLinearOptions = {}): MaskedLinear {
  for (const [what, v] of [
    ['inFeatures', inFeatures],
    ['outFeatures', outFeatures],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new SmnError(SubnetErrorCode.BadOption, `createMaskedLinear: ${what} must be a positive integer, found ${v}`, { kind: 'usage' });
    }
  }
  const scoreInit = options.scoreInit ?? 1.0;
  const rng = createRng(options.seed ?? 0);
  // nn.Linear's init (bound 1/√in), drawn in [in, out] order.
  const weight = tf.tensor2d(torchLinearInit(rng, inFeatures * outFeatures, inFeatures), [inFeatures, outFeatures], 'float32');
  const base: FunctionalModel = {
    params: new Map([['weight', weight]]),
    apply: (params, x) => tf.matMul(x, params.get('weight')!),
  };
  const masked = createMaskedModel(base, {
    select: () => ['mask', 'head'],
    scoresInit: { kind: 'constant', value: scoreInit },
    mode: 'threshold',
    k: 0,
    scale: true,
  });
  return {
    ...masked,
    inFeatures,
    outFeatures,
    weight,
    dispose(): void {
      masked.dispose();
      weight.dispose();
    },
  };
}
