// The browser entry: masking, scores, analysis and .smnmask bytes, with no Node built-in in its import graph.
// index.ts (the Node entry) re-exports all of it and adds the functions that read or write .smnmask files.
export { createMaskedModel, parseSelection, MASKED_MODEL_DEFAULTS } from './masked-model.js';
export { computeMask, maskedWeight, invSqrtSafeMean, type MaskedWeightOptions } from './get-subnet.js';
export { initScores, initScoreValues, fanIn, SQRT5 } from './score-init.js';
export { progressiveK, resolveK, type ProgressiveKOptions } from './k-schedule.js';
export { analyzeMasks, type AnalyzeEntry } from './analyze.js';
export { createMaskedLinear } from './masked-linear.js';
export { encodeMasks, decodeMasks, MAX_MASK_ENTRIES, SMNMASK_MAGIC, SMNMASK_VERSION, type DecodeMasksOptions } from './smnmask.js';
export { applyMasks } from './apply-masks.js';
export { hashParams } from './hash-params.js';
export { packBits, unpackBits } from './bit-pack.js';
export { SubnetErrorCode } from './errors.js';
export type {
  FunctionalModel,
  Selection,
  SelectionMode,
  MaskMode,
  MaskContext,
  KSchedule,
  WeightLayout,
  ScoresInit,
  ScoresInitFn,
  MaskedModelOptions,
  MaskedEntry,
  MaskedApplyOptions,
  MaskAnalysis,
  MaskedModel,
  MaskedLinearOptions,
  MaskedLinear,
  MaskData,
  MaskCompression,
  SaveMasksOptions,
  SmnmaskHeader,
  LoadMasksOptions,
} from './types.js';
