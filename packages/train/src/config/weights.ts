import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SmnError } from '@smn/core';
import { entryForReference, type HubOptions } from '@smn/hub';
import type { SmnConfig } from './schema.js';
import { TrainErrorCode } from '../errors.js';
import { isEmbeddedBackbone } from '../embedded-backbones.js';

/**
 * Where a config's backbone weights come from (see {@link resolveBackboneWeights}):
 * - `embedded`: a small backbone shipped with smn, `embedded` or `embedded_swav` (`path` = model.pret.weights when given, else the shipped file);
 * - `file`: a file or folder on disk (model.pret.weights, or the MoCo v2 file the reference reads);
 * - `registry`: a @smn/hub registry name, fetched into the cache on first use (`fetchBackboneWeights`).
 */
export type BackboneWeightsSource =
  | { kind: 'embedded'; path: string | undefined }
  | { kind: 'file'; path: string }
  | { kind: 'registry'; name: string };

/** What the reference loads for `model.pret.source`, said in the error when smn knows no file for it. */
function referenceLoader(pret: SmnConfig['model']['pret']): string {
  const { source, repo, name } = pret;
  switch (source) {
    case 'hub':
      return `torch.hub.load('${repo}', '${name}')`;
    case 'timm':
      return `timm.create_model('${name}', pretrained=True)`;
    case 'torch':
      return `torchvision's ${name} with its default ImageNet weights`;
    case 'clip':
      return `the Hugging Face model '${name}'`;
    case 'mocov2':
      return `data/models/${name}.pth.tar`;
  }
}

/** The file the reference's mocov2 loader reads (a checkpoint of the user's own, relative to the working directory). */
export function mocoWeightsPath(name: string): string {
  return join('data', 'models', `${name}.pth.tar`);
}

/**
 * Where the backbone weights of a config come from, as the reference's loaders would find them, without touching
 * the network: model.pret.weights when set; else the @smn/hub registry name of `model.pret.source/repo/name`
 * (`hub` + `facebookresearch/swav:main` + `resnet50` → `swav-resnet50`, `timm` + `resnet18` →
 * `timm/resnet18.a1_in1k`, …); else, for `mocov2`, `data/models/<name>.pth.tar` when it exists. Anything else is a
 * usage error (SMN_CONFIG_WEIGHTS_MISSING) that names the combination and says how to pass a file. The registry
 * honours SMN_REGISTRY (read from `opts.env`, default `process.env`).
 */
export function resolveBackboneWeights(config: SmnConfig, opts: HubOptions = {}): BackboneWeightsSource {
  const pret = config.model.pret;
  const given = pret.weights === null || pret.weights === '' ? undefined : pret.weights;
  if (isEmbeddedBackbone(pret.name)) return { kind: 'embedded', path: given };
  if (given) return { kind: 'file', path: given };
  if (pret.source === 'mocov2') {
    const path = mocoWeightsPath(pret.name);
    if (existsSync(path)) return { kind: 'file', path };
    throw missing(pret, `the reference reads the MoCo v2 checkpoint ${path}, which is not there (MoCo files are not in smn's registry): place it there or`);
  }
  const name = entryForReference({ source: pret.source, repo: pret.repo, name: pret.name }, opts);
  if (name) return { kind: 'registry', name };
  throw missing(
    pret,
    `smn's registry has no file for ${referenceLoader(pret)} (smn weights list shows the names it can fetch; SMN_REGISTRY=FILE adds your own):`,
  );
}

function missing(pret: SmnConfig['model']['pret'], why: string): SmnError {
  const combo = `model.pret.source=${pret.source}${pret.source === 'hub' ? ` model.pret.repo=${pret.repo}` : ''} model.pret.name=${pret.name}`;
  return new SmnError(
    TrainErrorCode.ConfigWeightsMissing,
    `no weights for ${combo}: ${why} pass a weight file or folder with model.pret.weights=PATH (safetensors, .pth/.pth.tar, ` +
      `a Hugging Face folder for CLIP), or use model.pret.name=embedded, the backbone shipped with smn`,
    { kind: 'usage', details: { key: 'model.pret.weights', source: pret.source, repo: pret.repo, name: pret.name } },
  );
}
