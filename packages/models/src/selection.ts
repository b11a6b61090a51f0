import { SmnError } from '@smn/core';
import type { ParameterSelection, SelectionMode } from './types.js';
import { ModelErrorCode } from './errors.js';

/**
 * The reference's ResNet parameter selection (main.py, train(); docs/method.md#parameter-selection): a name containing one of `trainLayers` gets
 * `[backbone, name]` (two matches are an error), a name containing 'fc' gets `[head, name]`, everything else is
 * frozen. With the default `['conv','downsample']` every conv weight and the downsample BN affine are masked:
 * 23,462,592 entries on ResNet-50, 11,168,704 on ResNet-18.
 */
export function resnetSelection(
  trainLayers: readonly string[] = ['conv', 'downsample'],
  modes: { backbone?: SelectionMode; head?: SelectionMode } = {},
): ParameterSelection {
  const backbone = modes.backbone ?? 'mask';
  const head = modes.head ?? 'freeze';
  return (name) => {
    const hits = trainLayers.filter((l) => name.includes(l));
    if (hits.length > 1) {
      throw new SmnError(ModelErrorCode.ModelSelection, `parameter '${name}' matches several train_layers (${hits.join(', ')}); make them unambiguous`, {
        kind: 'usage',
        details: { tensor: name, matches: hits },
      });
    }
    if (hits.length === 1) return [backbone, name];
    if (name.includes('fc')) return [head, name];
    return 'freeze';
  };
}

/** The layer names the reference masks in CLIP (weights and biases). */
export const CLIP_MASKED_LAYERS = ['k_proj', 'v_proj', 'q_proj', 'out_proj', 'mlp.fc1', 'mlp.fc2'] as const;

/**
 * The reference's CLIP selection: names containing k_proj, v_proj, q_proj, out_proj, mlp.fc1 or mlp.fc2 (weights
 * and biases) get `[backbone, name]`; embeddings, LayerNorms and projections are frozen. 85,017,600 entries on
 * ViT-B/32's vision tower.
 */
export function clipSelection(layers: readonly string[] = CLIP_MASKED_LAYERS, modes: { backbone?: SelectionMode } = {}): ParameterSelection {
  const backbone = modes.backbone ?? 'mask';
  return (name) => (layers.some((l) => name.includes(l)) ? [backbone, name] : 'freeze');
}
