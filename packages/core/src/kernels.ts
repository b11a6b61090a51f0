/**
 * Names of the fused kernels a tfjs backend may register for smn, and their contract. A package that can use one
 * looks it up with `tf.getKernel(name, tf.getBackend())` and falls back to plain tfjs ops when it is absent, so no
 * package depends on the backend that provides it.
 */
export const FusedKernel = {
  /**
   * `W ⊙ M / √max(|mean M|, 1/N)` (or `W ⊙ M` without scale) with `M = [S > k]` (mode 0, threshold) or
   * `M = ±1` (mode 1, flip). Inputs `{ w, s }` (float32, same shape); attrs `{ k, mode, scale }`.
   * Outputs `[y, mean]`: y shaped like w, mean the scalar mean(M).
   */
  maskedWeight: 'SmnMaskedWeight',
  /**
   * Gradient of {@link FusedKernel.maskedWeight}. Inputs `{ dy, w, s, mean }`; attrs `{ k, mode, scale, weightGrad }`.
   * Outputs `[dS]`, or `[dS, dW]` with weightGrad (see @smn/subnetworks' maskedWeight for the formula).
   */
  maskedWeightGrad: 'SmnMaskedWeightGrad',
  /**
   * One step of SGD (torch.optim.SGD; constantWd: the reference's ConstantWD_SGD, d = g + wd). Inputs `{ p, g }` and
   * `buf` (the momentum buffer) after the first step; attrs `{ lr, momentum, dampening, nesterov, weightDecay,
   * constantWd }`. Outputs `[p']`, or `[p', buf']` when momentum ≠ 0 (buf' = d on the first step).
   */
  sgdStep: 'SmnSgdStep',
  /**
   * Train-mode batch norm over every axis but the last (x float32, [N,H,W,C] or [N,C]): y = (x − mean)·invStd·scale +
   * offset with the batch's mean and biased variance. Inputs `{ x, scale, offset }`; attrs `{ varianceEpsilon }`.
   * Outputs `[y, mean, invStd, variance]`, the last three per channel ([C]).
   */
  batchNormTrain: 'SmnBatchNormTrain',
  /**
   * Gradient of {@link FusedKernel.batchNormTrain}. Inputs `{ dy, x, scale, mean, invStd }` (mean and invStd from the
   * forward kernel); attrs `{ varianceEpsilon }`. Outputs `[dx, dScale, dOffset]`.
   */
  batchNormTrainGrad: 'SmnBatchNormTrainGrad',
} as const;
