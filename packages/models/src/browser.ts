// The browser entry: models, weight parsing from bytes and the tokenizer from parsed JSON, with no Node built-in in
// its import graph. index.ts (the Node entry) re-exports the rest of it and adds the functions that take paths.
export type { RawTensor, RawDtype, StateDict, FunctionalModel, ApplyOptions, ParameterSelection, SelectionMode, SelectionResult } from './types.js';
export { parseSafetensors, encodeSafetensors, type EncodeSafetensorsOptions } from './safetensors.js';
export { readTorchCheckpoint, isRawTensor } from './torch-checkpoint.js';
export { parseWeights, findStateDict } from './weights.js';
// loadResNet here takes a state dict only; reading a path is the Node entry's loadResNet.
export { createResNet, loadResNetState as loadResNet, withHead, resnetSpecs, resnetStateDict, inferResNetConfig } from './resnet.js';
export type { ResNetModel, ResNetConfig, ResNetDepth, ResNetApplyOptions, LoadResNetOptions, ParamSpec } from './resnet.js';
export { resnetSelection, clipSelection, CLIP_MASKED_LAYERS } from './selection.js';
export { createClip, buildClip, parseClipConfig, clipParamSpecs, clipStateDict } from './clip.js';
export type { ClipModel, ClipConfig, ClipTowerConfig, ClipApplyOptions } from './clip.js';
export { createClipTokenizer, clipPrompts, type ClipTokenizer } from './tokenizer.js';
export { setTrainBatchNorm, withCumulativeBatchNorm, type TrainBatchNorm } from './layers.js';
export { ModelErrorCode } from './errors.js';
