import { resnetFromStateDict, type LoadResNetOptions, type ResNetModel } from './resnet.js';
import type { StateDict } from './types.js';
import { readWeights } from './weights-file.js';

/**
 * Loads a ResNet from a weight file (safetensors, PyTorch checkpoint, see {@link readWeights}) or a state dict in
 * PyTorch layout. Depth, width, stem and number of classes are inferred from the tensors unless given. Errors:
 * SMN_WEIGHTS_MISSING, SMN_WEIGHTS_EXTRA, SMN_WEIGHTS_SHAPE_MISMATCH, naming the tensor.
 */
export async function loadResNet(fileOrState: string | StateDict, opts: LoadResNetOptions = {}): Promise<ResNetModel> {
  const source = typeof fileOrState === 'string' ? fileOrState : '<state dict>';
  const sd = typeof fileOrState === 'string' ? await readWeights(fileOrState) : fileOrState;
  return resnetFromStateDict(sd, opts, source);
}
