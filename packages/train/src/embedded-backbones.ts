import { fileURLToPath } from 'node:url';

/** The small backbone shipped with smn, supervised (how it was trained: packages/train/assets/embedded-backbone.json; `smn pretrain` rebuilds it). */
export const EMBEDDED_BACKBONE = fileURLToPath(new URL('../assets/embedded-backbone.safetensors', import.meta.url));

/** The same ResNet pretrained with SwAV, without labels (packages/train/assets/embedded-swav-backbone.json; `smn pretrain --method swav` rebuilds it). */
export const EMBEDDED_SWAV_BACKBONE = fileURLToPath(new URL('../assets/embedded-swav-backbone.safetensors', import.meta.url));

/** The backbones shipped with smn, by their `model.pret.name`: 28 px ResNet-18s of width 16 (docs/experiments.md). */
export const EMBEDDED_BACKBONES: Readonly<Record<string, string>> = { embedded: EMBEDDED_BACKBONE, embedded_swav: EMBEDDED_SWAV_BACKBONE };

/** Whether `model.pret.name` names a shipped backbone. */
export function isEmbeddedBackbone(name: string): boolean {
  return Object.hasOwn(EMBEDDED_BACKBONES, name);
}
