import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SmnError } from '@smn/core';
import { loadClip, loadResNet, type ClipModel, type ResNetModel } from '@smn/models';
import type { SmnConfig } from '../config/index.js';

/** The small backbone shipped with smn (see packages/train/assets/README.md and `smn pretrain`). */
export const EMBEDDED_BACKBONE = fileURLToPath(new URL('../../assets/embedded-backbone.safetensors', import.meta.url));

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

/** Builds the backbone named by `model.pret` (SPEC §3 step 6), without its classification head. */
export async function loadBackbone(cfg: SmnConfig): Promise<Backbone> {
  const pret = cfg.model.pret;
  const name = pret.name;
  if (name === 'embedded') {
    const file = pret.weights || EMBEDDED_BACKBONE;
    if (!existsSync(file)) {
      throw new SmnError(
        'SMN_WEIGHTS_MISSING',
        `the embedded backbone ${file} is missing; rebuild it with \`pnpm smn pretrain\` or pass model.pret.weights=FILE`,
      );
    }
    const model = await loadResNet(file, { numClasses: 0 });
    model.output = 'features';
    return { kind: 'resnet', model, featureDim: model.featureDim, inputSize: 28, source: file };
  }
  if (!pret.weights) {
    throw new SmnError(
      'SMN_WEIGHTS_MISSING',
      `model.pret.name=${name} (source ${pret.source}) needs its weights on disk: smn does not download from hubs. ` +
        `Pass model.pret.weights=FILE_OR_DIR (a .safetensors or .pth/.pth.tar file, or a Hugging Face folder for CLIP), ` +
        `or use model.pret.name=embedded.`,
      { kind: 'usage', details: { key: 'model.pret.weights' } },
    );
  }
  if (pret.source === 'clip' || name.includes('clip')) {
    const model = await loadClip(pret.weights);
    model.output = 'pooled';
    return { kind: 'clip', model, featureDim: model.featureDim, inputSize: model.config.vision.imageSize, source: pret.weights };
  }
  const m = RESNET_NAME.exec(name);
  if (!m) {
    throw new SmnError('SMN_CONFIG_MODEL', `model.pret.name=${name} is not a backbone smn knows: use resnet18|resnet34|resnet50|resnet101 (or dino_resnet50), a CLIP name with model.pret.source=clip, or embedded`, {
      kind: 'usage',
    });
  }
  const depth = Number(m[2]) as 18 | 34 | 50 | 101;
  const model = await loadResNet(pret.weights, { depth, numClasses: 0, strict: false });
  model.output = 'features';
  return { kind: 'resnet', model, featureDim: model.featureDim, inputSize: 224, source: pret.weights };
}
