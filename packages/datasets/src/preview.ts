/** A PNG grid of augmented samples (for `smn data preview`): tiles of de-normalised views, encoded with sharp. */
import sharp from 'sharp';
import { SmnError } from '@smn/core';
import { createLoader } from './loader.js';
import { normStats } from './transforms.js';
import type { ImageDataset, NormStats, PresetSpec } from './types.js';
import { DatasetErrorCode } from './errors.js';

/** Options of `previewGrid`. */
export interface PreviewOptions {
  /** Transform preset (spec or name). */
  preset: PresetSpec;
  /** Number of samples (default 16). */
  n?: number;
  /** Picks the samples (first n of a permutation seeded with it) and their augmentations. Default 0. */
  seed?: number;
  /** Gap between tiles in pixels (default 2). */
  gap?: number;
}

function statsOf(spec: PresetSpec): NormStats {
  return normStats(spec.norm ?? (spec.preset === 'multicrop' ? 'imagenet' : 'clip'));
}

/**
 * Renders `n` augmented samples of `ds` as a PNG: a square-ish grid of views (supervised/eval presets) or one row per
 * sample with all its crops side by side (multicrop). Returns the PNG bytes and the grid size.
 */
export async function previewGrid(ds: ImageDataset, opts: PreviewOptions): Promise<{ png: Uint8Array; width: number; height: number }> {
  const n = Math.min(opts.n ?? 16, ds.length);
  if (!(n >= 1)) throw new SmnError(DatasetErrorCode.Usage, `preview needs n ≥ 1 samples, got ${opts.n}`, { kind: 'usage' });
  const gap = opts.gap ?? 2;
  const loader = createLoader(ds, { batchSize: n, seed: opts.seed ?? 0, transform: opts.preset, workers: 0 });
  let batch;
  for await (const b of loader) {
    batch = b;
    break;
  }
  if (!batch) throw new SmnError(DatasetErrorCode.Decode, `no sample of ${ds.source} could be read for the preview`);
  const views = 'images' in batch ? [{ images: batch.images, shape: batch.shape }] : batch.crops;
  const count = batch.indices.length;
  const { mean, std } = statsOf(opts.preset);
  // Tile layout: (row, col) → (view k, sample s).
  const tiles: { k: number; s: number; row: number; col: number }[] = [];
  let cols: number;
  let rows: number;
  if (views.length === 1) {
    cols = Math.ceil(Math.sqrt(count));
    rows = Math.ceil(count / cols);
    for (let s = 0; s < count; s++) tiles.push({ k: 0, s, row: Math.floor(s / cols), col: s % cols });
  } else {
    cols = views.length;
    rows = count;
    for (let s = 0; s < count; s++) for (let k = 0; k < views.length; k++) tiles.push({ k, s, row: s, col: k });
  }
  const cell = Math.max(...views.map((v) => Math.max(v.shape[1], v.shape[2])));
  const W = cols * cell + (cols + 1) * gap;
  const H = rows * cell + (rows + 1) * gap;
  const out = new Uint8Array(W * H * 3).fill(255);
  for (const t of tiles) {
    const v = views[t.k]!;
    const [, h, w] = v.shape;
    const base = t.s * h * w * 3;
    const y0 = gap + t.row * (cell + gap);
    const x0 = gap + t.col * (cell + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          const f = (v.images[base + (y * w + x) * 3 + c]! * std[c]! + mean[c]!) * 255;
          out[((y0 + y) * W + x0 + x) * 3 + c] = f < 0 ? 0 : f > 255 ? 255 : Math.round(f);
        }
      }
    }
  }
  const png = await sharp(out, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  return { png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width: W, height: H };
}
