import { SmnError } from '@smn/core';
import type { SmnConfig } from './schema.js';

/** Where the reference gets each backbone, and what to pass as model.pret.weights instead. */
function hint(pret: SmnConfig['model']['pret']): string {
  const { source, repo, name } = pret;
  switch (source) {
    case 'hub':
      if (repo.startsWith('facebookresearch/swav') && name === 'resnet50') {
        return 'the reference loads SwAV ResNet-50 from torch hub; pass the checkpoint swav_800ep_pretrain.pth.tar (https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar)';
      }
      if (repo.startsWith('facebookresearch/dino') && name === 'dino_resnet50') {
        return 'the reference loads DINO ResNet-50 from torch hub; pass dino_resnet50_pretrain.pth (https://dl.fbaipublicfiles.com/dino/dino_resnet50_pretrain/dino_resnet50_pretrain.pth)';
      }
      return `the reference loads ${repo} ${name} from torch hub; pass that model's weight file`;
    case 'timm':
      return `the reference loads timm '${name}' (timm 0.9.2 default tag, e.g. ${name}.a1_in1k); pass its model.safetensors or pytorch_model.bin from the Hugging Face repo timm/${name}.a1_in1k`;
    case 'torch':
      return `the reference loads torchvision's ${name} ImageNet weights (resnet18 IMAGENET1K_V1, resnet50 IMAGENET1K_V2); pass that .pth file`;
    case 'clip':
      return `the reference loads Hugging Face '${name}'; pass the folder (or its model.safetensors) of that repository`;
    case 'mocov2':
      return `the reference reads data/models/${name}.pth.tar; pass that file`;
  }
}

/**
 * The backbone weight path of a config, or `undefined` for the shipped backbone (`model.pret.name=embedded`).
 * smn downloads nothing: where the reference loads from a hub, this throws a usage error that says which file to
 * pass as `model.pret.weights=FILE_OR_DIR`.
 */
export function backboneWeights(config: SmnConfig): string | undefined {
  const pret = config.model.pret;
  if (pret.name === 'embedded') return pret.weights ?? undefined;
  if (pret.weights === null || pret.weights === '') {
    throw new SmnError(
      'SMN_CONFIG_WEIGHTS_MISSING',
      `model.pret.weights is not set for model.pret.source=${pret.source} model.pret.name=${pret.name}: smn does not download weights; ${hint(pret)}, e.g. model.pret.weights=PATH (or use model.pret.name=embedded, the backbone shipped with smn)`,
      { kind: 'usage', details: { key: 'model.pret.weights', source: pret.source, name: pret.name } },
    );
  }
  return pret.weights;
}
