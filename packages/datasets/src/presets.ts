/**
 * The reference's pipelines (docs/method.md#augmentations) as named, serialisable presets: `supervised`, `eval`, `multicrop`.
 * `compilePreset(spec)` gives a function `(image, rng) → float32 NHWC view(s)`.
 */
import { SmnError, createRng, type Rng } from '@smn/core';
import {
  centerCropBox,
  colorJitter,
  gaussianBlur,
  grayscale,
  hflip,
  normalize,
  normStats,
  randomResizedCropBox,
  resampleBox,
  shorterSideSize,
  solarize,
} from './transforms.js';
import type { CropGroup, PresetSpec, RawImage, TransformFn, TransformOutput } from './types.js';
import { DatasetErrorCode } from './errors.js';

const DEFAULT_RATIO: [number, number] = [3 / 4, 4 / 3];

/** Default multicrop groups (volt/modules/ssl.py, SWAVConfig): 2×224 (scale .14–1) + 6×96 (scale .05–.14). */
export const DEFAULT_MULTICROP: CropGroup[] = [
  { count: 2, size: 224, scale: [0.14, 1] },
  { count: 6, size: 96, scale: [0.05, 0.14] },
];

/** Names accepted where a preset spec is expected. */
export const PRESET_NAMES = ['supervised', 'eval', 'multicrop'] as const;

/** Turns a preset name or spec into a full spec. */
export function presetSpec(p: PresetSpec | (typeof PRESET_NAMES)[number], size?: number): PresetSpec {
  if (typeof p === 'string') {
    if (!(PRESET_NAMES as readonly string[]).includes(p)) {
      throw new SmnError(DatasetErrorCode.Usage, `unknown transform preset '${p}'; expected one of ${PRESET_NAMES.join(', ')}`, {
        kind: 'usage',
      });
    }
    return size === undefined ? ({ preset: p } as PresetSpec) : ({ preset: p, size } as PresetSpec);
  }
  return p;
}

/** The crop groups of a multicrop spec after defaults. */
export function multicropGroups(spec: Extract<PresetSpec, { preset: 'multicrop' }>): CropGroup[] {
  if (spec.crops) return spec.crops;
  if (spec.size !== undefined) {
    const small = Math.max(1, Math.round((spec.size * 96) / 224));
    return [
      { count: 2, size: spec.size, scale: [0.14, 1] },
      { count: 6, size: small, scale: [0.05, 0.14] },
    ];
  }
  return DEFAULT_MULTICROP;
}

/** Output view sizes of a preset: one entry per view (crops expanded). */
export function presetViewSizes(spec: PresetSpec): number[] {
  if (spec.preset === 'multicrop') return multicropGroups(spec).flatMap((g) => Array<number>(g.count).fill(g.size));
  return [spec.size ?? 224];
}

/** Mixes (seed, epoch, index) into one 32-bit seed (murmur3 finaliser on each step). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let k = Math.floor(p) >>> 0;
    // Include the high bits of large integers (indices stay < 2^32, seeds may not).
    const hi = Math.floor(p / 4294967296) >>> 0;
    for (const w of [k, hi]) {
      k = Math.imul(w, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The RNG of sample `index` in `epoch`: depends only on (seed, epoch, index), never on worker scheduling. */
export function sampleRng(seed: number, epoch: number, index: number): Rng {
  return createRng(mixSeed(seed, epoch, index, 0x5a3c));
}

function checkProb(name: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new SmnError(DatasetErrorCode.Usage, `${name} must be in [0, 1], got ${p}`, { kind: 'usage' });
  return p;
}

/** Compiles a preset to a transform function (float32 HWC views, normalised). */
export function compilePreset(spec: PresetSpec): TransformFn {
  if (spec.preset === 'eval') return compileEval(spec);
  if (spec.preset === 'supervised') return compileSupervised(spec);
  if (spec.preset === 'multicrop') return compileMulticrop(spec);
  throw new SmnError(DatasetErrorCode.Usage, `unknown preset ${JSON.stringify((spec as { preset: unknown }).preset)}`, {
    kind: 'usage',
  });
}

/** The 'eval' preset: Resize(shorter side) then CenterCrop, normalised. */
function compileEval(spec: Extract<PresetSpec, { preset: 'eval' }>): TransformFn {
  const size = spec.size ?? 224;
  const rsz = spec.resize ?? size;
  const interp = spec.interpolation ?? 'bilinear';
  const stats = normStats(spec.norm ?? 'clip');
  return (img: RawImage): TransformOutput => {
    // Resize(shorter = rsz) then CenterCrop(size), done as one resampling of the matching source box.
    const [rh, rw] = shorterSideSize(img.height, img.width, rsz);
    const cb = centerCropBox(rh, rw, size, size);
    const sy = img.height / rh;
    const sx = img.width / rw;
    const out = resampleBox(
      img,
      { top: cb.top * sy, left: cb.left * sx, height: size * sy, width: size * sx },
      size,
      size,
      interp,
    );
    return { view: normalize(out, stats), size: [size, size] };
  };
}

/** The 'supervised' preset: RandomResizedCrop, colour jitter, grayscale, solarize and flip, normalised. */
function compileSupervised(spec: Extract<PresetSpec, { preset: 'supervised' }>): TransformFn {
  const size = spec.size ?? 224;
  const scale = spec.scale ?? [1, 1];
  const ratio = spec.ratio ?? DEFAULT_RATIO;
  const interp = spec.interpolation ?? 'bicubic';
  const jitter = spec.jitter ?? { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 };
  const jp = checkProb('jitterP', spec.jitterP ?? 0.8);
  const gp = checkProb('grayscaleP', spec.grayscaleP ?? 0.2);
  const sp = checkProb('solarizeP', spec.solarizeP ?? 0.2);
  const fp = checkProb('flipP', spec.flipP ?? 0.5);
  const stats = normStats(spec.norm ?? 'clip');
  return (img: RawImage, rng: Rng): TransformOutput => {
    const box = randomResizedCropBox(img.height, img.width, scale, ratio, rng);
    let x = resampleBox(img, box, size, size, interp, true);
    if (rng.next() < jp) x = colorJitter(x, jitter, rng);
    if (rng.next() < gp) x = grayscale(x);
    if (rng.next() < sp) x = solarize(x, 128);
    if (rng.next() < fp) x = hflip(x);
    return { view: normalize(x, stats), size: [size, size] };
  };
}

/** The 'multicrop' preset: The multicrop groups, each crop RandomResizedCrop, flip, colour jitter, grayscale and blur, normalised. */
function compileMulticrop(spec: Extract<PresetSpec, { preset: 'multicrop' }>): TransformFn {
  const groups = multicropGroups(spec);
  const ratio = spec.ratio ?? DEFAULT_RATIO;
  const interp = spec.interpolation ?? 'bilinear';
  const jitter = spec.jitter ?? { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 };
  const jp = checkProb('jitterP', spec.jitterP ?? 0.8);
  const gp = checkProb('grayscaleP', spec.grayscaleP ?? 0.2);
  const bp = checkProb('blurP', spec.blurP ?? 0.5);
  const br = spec.blurRadius ?? [0.1, 2.0];
  const fp = checkProb('flipP', spec.flipP ?? 0.5);
  const stats = normStats(spec.norm ?? 'imagenet');
  for (const g of groups) {
    if (!(g.count >= 1 && g.size >= 1 && g.scale[0] > 0 && g.scale[0] <= g.scale[1])) {
      throw new SmnError(DatasetErrorCode.Usage, `multicrop group ${JSON.stringify(g)} is invalid: need count ≥ 1, size ≥ 1, 0 < scale[0] ≤ scale[1]`, {
        kind: 'usage',
      });
    }
  }
  return (img: RawImage, rng: Rng): TransformOutput => {
    const crops: { data: Float32Array; size: [number, number] }[] = [];
    for (const g of groups) {
      for (let c = 0; c < g.count; c++) {
        const box = randomResizedCropBox(img.height, img.width, g.scale, ratio, rng);
        let x = resampleBox(img, box, g.size, g.size, interp, true);
        if (rng.next() < fp) x = hflip(x);
        if (rng.next() < jp) x = colorJitter(x, jitter, rng);
        if (rng.next() < gp) x = grayscale(x);
        if (rng.next() < bp) x = gaussianBlur(x, rng.uniform(br[0], br[1]));
        crops.push({ data: normalize(x, stats), size: [g.size, g.size] });
      }
    }
    return { crops };
  };
}
