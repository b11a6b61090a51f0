import { existsSync } from 'node:fs';
import { SmnError } from '@smn/core';
import { ModelErrorCode, loadClip, loadResNet, type ClipModel, type ResNetModel } from '@smn/models';
import type { SmnConfig } from '../config/index.js';
import { fetchBackboneWeights, type FetchInputsOptions } from './fetch-inputs.js';
import { TrainErrorCode } from '../errors.js';

import { EMBEDDED_BACKBONES, isEmbeddedBackbone } from '../embedded-backbones.js';

/** A pretrained backbone ready for masking: pooled features out, and what its inputs look like. */
export interface Backbone {
  kind: 'resnet' | 'clip';
  model: ResNetModel | ClipModel;
  featureDim: number;
  /** Side of the square input the backbone expects (224, or 28 for the embedded one). */
  inputSize: number;
  /** Where the weights came from. */
  source: string;
}

const RESNET_NAME = /^(dino_)?resnet(18|34|50|101)$/;

/** A missing embedded backbone file (the shipped one is rebuilt by `smn pretrain`). */
function embeddedMissing(file: string, name: string): SmnError {
  const cmd = name === 'embedded_swav' ? 'pnpm smn pretrain --method swav' : 'pnpm smn pretrain';
  return new SmnError(ModelErrorCode.WeightsMissing, `the embedded backbone ${file} is missing; rebuild it with \`${cmd}\` or pass model.pret.weights=FILE`);
}

/** ResNet depth of a backbone name; the reference's mocov2 loader is always a torchvision ResNet-50. */
function resnetDepth(pret: SmnConfig['model']['pret']): 18 | 34 | 50 | 101 {
  if (pret.source === 'mocov2') return 50;
  const m = RESNET_NAME.exec(pret.name);
  if (!m) {
    throw new SmnError(TrainErrorCode.ConfigModel, `model.pret.name=${pret.name} is not a backbone smn knows: use resnet18|resnet34|resnet50|resnet101 (or dino_resnet50), a CLIP name with model.pret.source=clip, or embedded|embedded_swav`, {
      kind: 'usage',
    });
  }
  return Number(m[2]) as 18 | 34 | 50 | 101;
}

/**
 * Builds the backbone named by `model.pret` (main.py, train(); docs/method.md#run-order), without its classification head. Its weights are
 * model.pret.weights when given, else what the reference's loader would load (`model.pret.source/repo/name`),
 * fetched through @smn/hub on first use (`opts`: progress, AbortSignal, environment; see fetchBackboneWeights).
 * `source` of the result is the path read: the weight file, or for CLIP the folder (with its tokenizer files).
 */
export async function loadBackbone(cfg: SmnConfig, opts: FetchInputsOptions = {}): Promise<Backbone> {
  const pret = cfg.model.pret;
  const clip = pret.source === 'clip' || pret.name.includes('clip');
  // An unknown name is a usage error before anything is downloaded.
  const embedded = isEmbeddedBackbone(pret.name);
  const depth = embedded || clip ? undefined : resnetDepth(pret);
  const { path } = await fetchBackboneWeights(cfg, opts);
  if (embedded) {
    const file = path || EMBEDDED_BACKBONES[pret.name]!;
    if (!existsSync(file)) throw embeddedMissing(file, pret.name);
    const model = await loadResNet(file, { numClasses: 0 });
    model.output = 'features';
    return { kind: 'resnet', model, featureDim: model.featureDim, inputSize: 28, source: file };
  }
  const file = path!;
  if (clip) {
    const model = await loadClip(file);
    model.output = 'pooled';
    return { kind: 'clip', model, featureDim: model.featureDim, inputSize: model.config.vision.imageSize, source: file };
  }
  // strict: false because hub checkpoints carry more than the backbone (SwAV's projection head and prototypes,
  // MoCo's key encoder); every backbone tensor must still be there.
  const model = await loadResNet(file, { depth, numClasses: 0, strict: false });
  model.output = 'features';
  return { kind: 'resnet', model, featureDim: model.featureDim, inputSize: 224, source: file };
}
