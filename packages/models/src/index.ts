export type { RawTensor, RawDtype, StateDict, FunctionalModel, ApplyOptions, ParameterSelection, SelectionMode, SelectionResult } from './types.js';
export { parseSafetensors, readSafetensors, encodeSafetensors, writeSafetensors } from './safetensors.js';
export { readTorchCheckpoint, isRawTensor } from './torch-checkpoint.js';
export { readWeights, parseWeights, findStateDict } from './weights.js';
export {
  createResNet,
  loadResNet,
  withHead,
  resnetSpecs,
  resnetStateDict,
  inferResNetConfig,
  type ResNetModel,
  type ResNetConfig,
  type ResNetDepth,
  type ResNetApplyOptions,
  type LoadResNetOptions,
  type ParamSpec,
} from './resnet.js';
export { resnetSelection, clipSelection, CLIP_MASKED_LAYERS } from './selection.js';
export {
  createClip,
  loadClip,
  buildClip,
  parseClipConfig,
  clipParamSpecs,
  clipStateDict,
  type ClipModel,
  type ClipConfig,
  type ClipTowerConfig,
  type ClipApplyOptions,
} from './clip.js';
export { createClipTokenizer, loadClipTokenizer, clipPrompts, type ClipTokenizer } from './tokenizer.js';
export { setTrainBatchNorm, withCumulativeBatchNorm, type TrainBatchNorm } from './layers.js';
