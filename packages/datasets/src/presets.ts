/**
 * The reference's pipelines (docs/method.md#augmentations) as named, serialisable presets: `supervised`, `eval`, `multicrop`.
 * `compilePreset(spec)` gives a function `(image, rng) → float32 NHWC view(s)`.
 */
import { SmnError, createRng, type Rng } from '@smn/core';
import {
  applyJitter,
  applyTail,
  centerCropBox,
  gaussianBlur,
  grayscale,
  hflip,
  jitterParams,
  jitterThroughLut,
  normalize,
  normalizeThrough,
  normStats,
  randomResizedCropBox,
  resampleBox,
  resizeCrop,
  shorterSideSize,
  solarize,
  type CropBox,
  type JitterParams,
} from './transforms.js';
import type { CropGroup, PresetSpec, RawImage, TransformFn, TransformOutput } from './types.js';
import { DatasetErrorCode } from './errors.js';

/** The values of a preset spec's `resample` (`ResampleMode`: fused or step-by-step pixel steps, the same bits); `fast` is the default. */
export const RESAMPLE_MODES = ['fast', 'pil'] as const;

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

function checkResample(spec: PresetSpec): 'fast' | 'pil' {
  const r = spec.resample ?? 'fast';
  if (!(RESAMPLE_MODES as readonly string[]).includes(r)) {
    throw new SmnError(DatasetErrorCode.Usage, `resample must be one of ${RESAMPLE_MODES.join(', ')}, got ${JSON.stringify(r)} (preset ${spec.preset})`, {
      kind: 'usage',
    });
  }
  return r;
}

/**
 * Compiles a preset to a synchronous transform function (float32 HWC views, normalised) that resamples in
 * JavaScript, PIL-exactly, whatever `spec.resample` says: the reference for `compileSampleTransform`'s fast path.
 */
export function compilePreset(spec: PresetSpec): TransformFn {
  checkResample(spec);
  if (spec.preset === 'eval') return compileEval(spec);
  if (spec.preset === 'supervised') return compileSupervised(spec);
  if (spec.preset === 'multicrop') return compileMulticrop(spec);
  throw new SmnError(DatasetErrorCode.Usage, `unknown preset ${JSON.stringify((spec as { preset: unknown }).preset)}`, {
    kind: 'usage',
  });
}

/**
 * Compiles a preset as the loader runs it. `resample: 'fast'` (the default) runs the pixel steps after each resize in
 * as few passes as they allow (colour jitter through byte tables, grayscale, solarize, flip and normalisation in one
 * pass); `'pil'` gives `compilePreset`'s function, one step after the other. Both resample and blur with the PIL
 * arithmetic of kernels/pixels.wat, so their outputs are the same bits (test/fused-path.test.ts), and both make the
 * same random draws from `rng`.
 */
export function compileSampleTransform(spec: PresetSpec): TransformFn {
  if (checkResample(spec) === 'pil') return compilePreset(spec);
  if (spec.preset === 'supervised') return fastSupervised(spec);
  if (spec.preset === 'multicrop') return fastMulticrop(spec);
  return compilePreset(spec);
}

/** The 'eval' preset: Resize(shorter side) then CenterCrop, normalised. */
function evalSettings(spec: Extract<PresetSpec, { preset: 'eval' }>) {
  const size = spec.size ?? 224;
  return { size, rsz: spec.resize ?? size, interp: spec.interpolation ?? 'bilinear', stats: normStats(spec.norm ?? 'clip') };
}

function compileEval(spec: Extract<PresetSpec, { preset: 'eval' }>): TransformFn {
  const { size, rsz, interp, stats } = evalSettings(spec);
  return (img: RawImage): TransformOutput => {
    // Resize(shorter = rsz) then CenterCrop(size), computing only the pixels the crop keeps.
    const [rh, rw] = shorterSideSize(img.height, img.width, rsz);
    const out = resizeCrop(img, rh, rw, centerCropBox(rh, rw, size, size), interp);
    return { view: normalize(out, stats), size: [size, size] };
  };
}

/** The 'supervised' preset: RandomResizedCrop, colour jitter, grayscale, solarize and flip, normalised. */
function supervisedSettings(spec: Extract<PresetSpec, { preset: 'supervised' }>) {
  return {
    size: spec.size ?? 224,
    scale: spec.scale ?? ([1, 1] as [number, number]),
    ratio: spec.ratio ?? DEFAULT_RATIO,
    interp: spec.interpolation ?? 'bicubic',
    jitter: spec.jitter ?? { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 },
    jp: checkProb('jitterP', spec.jitterP ?? 0.8),
    gp: checkProb('grayscaleP', spec.grayscaleP ?? 0.2),
    sp: checkProb('solarizeP', spec.solarizeP ?? 0.2),
    fp: checkProb('flipP', spec.flipP ?? 0.5),
    stats: normStats(spec.norm ?? 'clip'),
  };
}

/** The random draws of one supervised sample after its crop box, in the order the reference makes them. */
interface SupervisedPlan {
  jitter?: JitterParams;
  gray: boolean;
  solarize: boolean;
  flip: boolean;
}

function planSupervised(s: ReturnType<typeof supervisedSettings>, rng: Rng): SupervisedPlan {
  const jitter = rng.next() < s.jp ? jitterParams(s.jitter, rng) : undefined;
  const gray = rng.next() < s.gp;
  const sol = rng.next() < s.sp;
  const flip = rng.next() < s.fp;
  return { ...(jitter ? { jitter } : {}), gray, solarize: sol, flip };
}

function compileSupervised(spec: Extract<PresetSpec, { preset: 'supervised' }>): TransformFn {
  const s = supervisedSettings(spec);
  return (img: RawImage, rng: Rng): TransformOutput => {
    const box = randomResizedCropBox(img.height, img.width, s.scale, s.ratio, rng);
    let x = resampleBox(img, box, s.size, s.size, s.interp, true);
    const p = planSupervised(s, rng);
    if (p.jitter) x = applyJitter(x, p.jitter);
    if (p.gray) x = grayscale(x);
    if (p.solarize) x = solarize(x, 128);
    if (p.flip) x = hflip(x);
    return { view: normalize(x, s.stats), size: [s.size, s.size] };
  };
}

function fastSupervised(spec: Extract<PresetSpec, { preset: 'supervised' }>): TransformFn {
  const s = supervisedSettings(spec);
  return (img: RawImage, rng: Rng): TransformOutput => {
    const box = randomResizedCropBox(img.height, img.width, s.scale, s.ratio, rng);
    const p = planSupervised(s, rng);
    // The resized crop is a new array: the steps below overwrite it, and the flip happens while normalising.
    const x = resampleBox(img, box, s.size, s.size, s.interp, true);
    // Jitter, grayscale, solarize, flip and normalisation in as few passes as the steps allow, bit-identical.
    const lut = p.jitter ? jitterThroughLut(x, p.jitter) : undefined;
    const view = normalizeThrough(x, s.stats, { ...(lut ? { lut } : {}), gray: p.gray, ...(p.solarize ? { solarize: 128 } : {}), flip: p.flip });
    return { view, size: [s.size, s.size] };
  };
}

/** The 'multicrop' preset: The multicrop groups, each crop RandomResizedCrop, flip, colour jitter, grayscale and blur, normalised. */
function multicropSettings(spec: Extract<PresetSpec, { preset: 'multicrop' }>) {
  const groups = multicropGroups(spec);
  for (const g of groups) {
    if (!(g.count >= 1 && g.size >= 1 && g.scale[0] > 0 && g.scale[0] <= g.scale[1])) {
      throw new SmnError(DatasetErrorCode.Usage, `multicrop group ${JSON.stringify(g)} is invalid: need count ≥ 1, size ≥ 1, 0 < scale[0] ≤ scale[1]`, {
        kind: 'usage',
      });
    }
  }
  return {
    groups,
    ratio: spec.ratio ?? DEFAULT_RATIO,
    interp: spec.interpolation ?? 'bilinear',
    jitter: spec.jitter ?? { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 },
    jp: checkProb('jitterP', spec.jitterP ?? 0.8),
    gp: checkProb('grayscaleP', spec.grayscaleP ?? 0.2),
    bp: checkProb('blurP', spec.blurP ?? 0.5),
    br: spec.blurRadius ?? ([0.1, 2.0] as [number, number]),
    fp: checkProb('flipP', spec.flipP ?? 0.5),
    stats: normStats(spec.norm ?? 'imagenet'),
  };
}

/** The random draws of one crop, in the reference's order: box, flip, jitter, grayscale, blur. */
interface CropPlan {
  size: number;
  box: CropBox;
  flip: boolean;
  jitter?: JitterParams;
  gray: boolean;
  blur?: number;
}

function planMulticrop(s: ReturnType<typeof multicropSettings>, img: RawImage, rng: Rng): CropPlan[] {
  const plans: CropPlan[] = [];
  for (const g of s.groups) {
    for (let c = 0; c < g.count; c++) {
      const box = randomResizedCropBox(img.height, img.width, g.scale, s.ratio, rng);
      const flip = rng.next() < s.fp;
      const jitter = rng.next() < s.jp ? jitterParams(s.jitter, rng) : undefined;
      const gray = rng.next() < s.gp;
      const blur = rng.next() < s.bp ? rng.uniform(s.br[0], s.br[1]) : undefined;
      plans.push({ size: g.size, box, flip, gray, ...(jitter ? { jitter } : {}), ...(blur !== undefined ? { blur } : {}) });
    }
  }
  return plans;
}

function compileMulticrop(spec: Extract<PresetSpec, { preset: 'multicrop' }>): TransformFn {
  const s = multicropSettings(spec);
  return (img: RawImage, rng: Rng): TransformOutput => {
    const crops = planMulticrop(s, img, rng).map((p) => {
      let x = resampleBox(img, p.box, p.size, p.size, s.interp, true);
      if (p.flip) x = hflip(x);
      if (p.jitter) x = applyJitter(x, p.jitter);
      if (p.gray) x = grayscale(x);
      if (p.blur !== undefined) x = gaussianBlur(x, p.blur);
      return { data: normalize(x, s.stats), size: [p.size, p.size] as [number, number] };
    });
    return { crops };
  };
}

function fastMulticrop(spec: Extract<PresetSpec, { preset: 'multicrop' }>): TransformFn {
  const s = multicropSettings(spec);
  return (img: RawImage, rng: Rng): TransformOutput => {
    const crops = planMulticrop(s, img, rng).map((p) => {
      // The resized crop is a new array, so the steps below may overwrite it.
      const x = resampleBox(img, p.box, p.size, p.size, s.interp, true);
      // The flip comes first in the reference; every later step is per pixel (jitter's contrast mean and the blur
      // are mirror-symmetric), so flipping while normalising gives the same pixels.
      // The jitter's byte maps and the grayscale are folded into the normalisation's pass unless a blur comes between.
      const lut = p.jitter ? jitterThroughLut(x, p.jitter) : undefined;
      const size: [number, number] = [p.size, p.size];
      if (p.blur === undefined) return { data: normalizeThrough(x, s.stats, { ...(lut ? { lut } : {}), gray: p.gray, flip: p.flip }), size };
      if (lut || p.gray) applyTail(x, lut, p.gray);
      return { data: normalize(gaussianBlur(x, p.blur), s.stats, undefined, 0, p.flip), size };
    });
    return { crops };
  };
}
