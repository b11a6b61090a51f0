import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng } from '@smn/core';
import {
  CLIP_NORM,
  IMAGENET_NORM,
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  centerCrop,
  centerCropBox,
  colorJitter,
  compilePreset,
  crop,
  gaussianBlur,
  boxRadiusForGaussian,
  grayscale,
  hflip,
  normalize,
  randomResizedCropBox,
  resampleBox,
  resizeShorter,
  sampleRng,
  shorterSideSize,
  solarize,
  type RawImage,
} from '../src/index.js';
import { applyJitter, applyTail, jitterParams, jitterThroughLut, normalizeThrough } from '../src/transforms.js';

interface RefCase {
  name: string;
  height: number;
  width: number;
  data: number[];
  interp?: 'bilinear' | 'bicubic';
  size?: number[] | number;
  box?: number[];
  factor?: number;
  resize?: number;
}
const ref = JSON.parse(readFileSync(new URL('./fixtures/transforms-ref.json', import.meta.url), 'utf8')) as {
  height: number;
  width: number;
  input: number[];
  cases: RefCase[];
};
const input: RawImage = { data: Uint8Array.from(ref.input), height: ref.height, width: ref.width };

function maxDiff(a: Uint8Array, b: number[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function randomImage(h: number, w: number, seed: number): RawImage {
  const rng = createRng(seed);
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { data, height: h, width: w };
}

describe('transforms against PIL / torchvision (fixtures from tools/fixtures/datasets/make_transform_ref.py)', () => {
  it('resampling (bilinear and bicubic, up and down, with crop boxes) = PIL, bit for bit', () => {
    const cases = ref.cases.filter((c) => c.name === 'resize');
    expect(cases.length).toBe(8);
    for (const c of cases) {
      const [top, left, h, w] = c.box!;
      const [oh, ow] = c.size as number[];
      const full = top === 0 && h === ref.height && w === ref.width;
      const out = resampleBox(input, { top: top!, left: left!, height: h!, width: w! }, oh!, ow!, c.interp, !full);
      expect(maxDiff(out.data, c.data), `${c.interp} ${oh}x${ow} box ${c.box}`).toBe(0);
    }
  });

  it('brightness, contrast, saturation within 1 level; and hue (PIL 8-bit HSV emulated) within 1 level', () => {
    for (const c of ref.cases) {
      const f = c.factor!;
      if (c.name === 'brightness') expect(maxDiff(adjustBrightness(input, f).data, c.data)).toBeLessThanOrEqual(1);
      if (c.name === 'contrast') expect(maxDiff(adjustContrast(input, f).data, c.data)).toBeLessThanOrEqual(1);
      if (c.name === 'saturation') expect(maxDiff(adjustSaturation(input, f).data, c.data)).toBeLessThanOrEqual(1);
      if (c.name === 'hue') expect(maxDiff(adjustHue(input, f).data, c.data)).toBeLessThanOrEqual(1);
    }
  });

  it('gaussian blur matches PIL ImageFilter.GaussianBlur exactly (also on a 3×4 image)', () => {
    const blurs = ref.cases.filter((c) => c.name === 'blur');
    expect(blurs.length).toBe(4);
    for (const c of blurs) expect(maxDiff(gaussianBlur(input, c.factor!).data, c.data), `radius ${c.factor}`).toBe(0);
    const tinyCase = ref.cases.find((c) => c.name === 'blur-tiny')!;
    const tiny = crop(input, { top: 0, left: 0, height: 3, width: 4 });
    expect(maxDiff(gaussianBlur(tiny, tinyCase.factor!).data, tinyCase.data)).toBe(0);
  });

  it('solarize and grayscale match exactly (grayscale within 1: PIL uses fixed-point weights)', () => {
    const sol = ref.cases.find((c) => c.name === 'solarize')!;
    expect(maxDiff(solarize(input, 128).data, sol.data)).toBe(0);
    const g = ref.cases.find((c) => c.name === 'grayscale')!;
    expect(maxDiff(grayscale(input).data, g.data)).toBeLessThanOrEqual(1);
  });

  it('eval preset = torchvision Resize(r) + CenterCrop(s), bit for bit', () => {
    for (const c of ref.cases.filter((k) => k.name === 'eval')) {
      const size = c.size as number;
      const fn = compilePreset({ preset: 'eval', size, resize: c.resize ?? size, norm: { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] } });
      const out = fn(input, createRng(0));
      if (!('view' in out)) throw new Error('expected one view');
      expect(out.size).toEqual([size, size]);
      expect(maxDiff(Uint8Array.from(out.view, (v) => Math.round(v)), c.data)).toBe(0);
    }
  });
});

describe('transforms against formulas', () => {
  const img = randomImage(9, 14, 3);

  it('hflip twice is the identity and flips columns', () => {
    const f = hflip(img);
    expect(Array.from(hflip(f).data)).toEqual(Array.from(img.data));
    for (let c = 0; c < 3; c++) expect(f.data[(2 * 14 + 0) * 3 + c]).toBe(img.data[(2 * 14 + 13) * 3 + c]);
  });

  it('grayscale uses 0.299/0.587/0.114 and gives three equal channels', () => {
    const g = grayscale(img);
    for (let p = 0; p < 9 * 14; p++) {
      const [r, gg, b] = [img.data[p * 3]!, img.data[p * 3 + 1]!, img.data[p * 3 + 2]!];
      const l = Math.round(0.299 * r + 0.587 * gg + 0.114 * b);
      expect([g.data[p * 3], g.data[p * 3 + 1], g.data[p * 3 + 2]]).toEqual([l, l, l]);
    }
  });

  it('solarize inverts values ≥ 128 only', () => {
    const s = solarize(img);
    for (let i = 0; i < img.data.length; i++) {
      const v = img.data[i]!;
      expect(s.data[i]).toBe(v >= 128 ? 255 - v : v);
    }
  });

  it('normalise computes (v/255 − mean)/std per channel (CLIP and ImageNet constants)', () => {
    const px: RawImage = { data: Uint8Array.from([0, 128, 255, 10, 20, 30]), height: 1, width: 2 };
    for (const stats of [CLIP_NORM, IMAGENET_NORM]) {
      const out = normalize(px, stats);
      for (let i = 0; i < 6; i++) {
        const c = i % 3;
        expect(out[i]).toBeCloseTo((px.data[i]! / 255 - stats.mean[c]!) / stats.std[c]!, 5);
      }
    }
    expect(CLIP_NORM.mean[0]).toBe(0.48145466);
    expect(IMAGENET_NORM.std).toEqual([0.228, 0.224, 0.225]);
  });

  it('brightness factor 1, contrast 1, saturation 1 are identities; saturation 0 is grayscale; hue keeps grays', () => {
    expect(Array.from(adjustBrightness(img, 1).data)).toEqual(Array.from(img.data));
    expect(Array.from(adjustContrast(img, 1).data)).toEqual(Array.from(img.data));
    expect(Array.from(adjustSaturation(img, 1).data)).toEqual(Array.from(img.data));
    const gray = grayscale(img);
    expect(Array.from(adjustHue(gray, 0.3).data)).toEqual(Array.from(gray.data));
    expect(Array.from(adjustSaturation(img, 0).data)).toEqual(Array.from(grayscale(img).data));
  });

  it('jitter through one lookup table, then grayscale, solarize, flip and normalisation in one pass, is bit-identical to the steps one by one', () => {
    // Every byte value, then random pixels (saturated and gray ones included by chance), at an odd width.
    const rng = createRng(7);
    const img: RawImage = { data: Uint8Array.from({ length: 40 * 37 * 3 }, (_, i) => (i < 768 ? i % 256 : rng.int(256))), height: 40, width: 37 };
    let checked = 0;
    for (let k = 0; k < 200; k++) {
      const r = sampleRng(3, 1, k);
      const jit = jitterParams({ brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.4 }, r);
      const gray = r.next() < 0.3;
      const sol = r.next() < 0.3;
      const flip = r.next() < 0.5;
      const norm = k % 2 ? CLIP_NORM : IMAGENET_NORM;
      let x: RawImage = applyJitter({ ...img, data: img.data.slice() }, jit);
      if (gray) x = grayscale(x);
      if (sol) x = solarize(x, 128);
      if (flip) x = hflip(x);
      const want = normalize(x, norm);
      const y = { ...img, data: img.data.slice() };
      const lut = jitterThroughLut(y, jit);
      const got = normalizeThrough(y, norm, { lut, gray, ...(sol ? { solarize: 128 } : {}), flip });
      expect(got).toEqual(want);
      // applyTail materialises the same bytes (the multicrop path blurs them before normalising).
      const z = { ...img, data: img.data.slice() };
      applyTail(z, jitterThroughLut(z, jit), gray);
      expect(z.data).toEqual((gray ? grayscale(applyJitter({ ...img, data: img.data.slice() }, jit)) : applyJitter({ ...img, data: img.data.slice() }, jit)).data);
      checked++;
    }
    expect(checked).toBe(200);
  });

  it('color jitter is deterministic for a seed and differs across seeds', () => {
    const o = { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 };
    const a = colorJitter(img, o, createRng(5)).data;
    const b = colorJitter(img, o, createRng(5)).data;
    const c = colorJitter(img, o, createRng(6)).data;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('resize shorter side follows torchvision sizes; center crop box is centred', () => {
    expect(shorterSideSize(480, 640, 224)).toEqual([224, 298]);
    expect(shorterSideSize(640, 480, 224)).toEqual([298, 224]);
    const r = resizeShorter(img, 6);
    expect([r.height, r.width]).toEqual([6, 9]);
    // torchvision: top = int(round((9 − 5) / 2.0)) = 2, left = int(round(4.5)) = 4 (Python rounds halves to even).
    expect(centerCropBox(9, 14, 5, 5)).toEqual({ top: 2, left: 4, height: 5, width: 5 });
    expect(centerCropBox(9, 16, 5, 5)).toEqual({ top: 2, left: 6, height: 5, width: 5 }); // round(5.5) = 6
    const cc = centerCrop(img, 5);
    expect(Array.from(cc.data.subarray(0, 3))).toEqual(Array.from(img.data.subarray((2 * 14 + 4) * 3, (2 * 14 + 4) * 3 + 3)));
    // Crop outside the image pads with zeros.
    const pad = crop(img, { top: -1, left: -1, height: 2, width: 2 });
    expect(Array.from(pad.data.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(pad.data.subarray(9, 12))).toEqual(Array.from(img.data.subarray(0, 3)));
  });

  it('nearest upsampling by 2 replicates pixels; resampling at the same size is the identity', () => {
    const up = resampleBox(img, { top: 0, left: 0, height: 9, width: 14 }, 18, 28, 'nearest');
    for (let y = 0; y < 18; y++) {
      for (let x = 0; x < 28; x++) {
        const s = ((y >> 1) * 14 + (x >> 1)) * 3;
        expect(up.data[(y * 28 + x) * 3 + 1]).toBe(img.data[s + 1]);
      }
    }
    for (const interp of ['bilinear', 'bicubic'] as const) {
      const same = resampleBox(img, { top: 0, left: 0, height: 9, width: 14 }, 9, 14, interp);
      expect(Array.from(same.data)).toEqual(Array.from(img.data));
    }
  });

  it('random resized crop boxes stay within bounds and scale/ratio ranges; fallback when impossible', () => {
    const rng = createRng(11);
    for (let t = 0; t < 500; t++) {
      const H = 5 + rng.int(60);
      const W = 5 + rng.int(60);
      const b = randomResizedCropBox(H, W, [0.08, 1], [3 / 4, 4 / 3], rng);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top + b.height).toBeLessThanOrEqual(H);
      expect(b.left + b.width).toBeLessThanOrEqual(W);
      expect(b.height).toBeGreaterThan(0);
      expect(b.width).toBeGreaterThan(0);
    }
    // scale (1,1) on a square image: whole image; on 10x100 the ratio cannot fit → centred fallback w = round(10·4/3).
    const sq = randomResizedCropBox(20, 20, [1, 1], [1, 1], createRng(1));
    expect(sq).toEqual({ top: 0, left: 0, height: 20, width: 20 });
    const wide = randomResizedCropBox(10, 100, [1, 1], [3 / 4, 4 / 3], createRng(1));
    expect(wide).toEqual({ top: 0, left: Math.trunc((100 - 13) / 2), height: 10, width: 13 });
  });

  it('gaussian blur keeps a constant image constant, spreads an impulse symmetrically and keeps its mass', () => {
    // Box radius of PIL for sigma² = r²/3 (Gwosdek et al.): r = 2 → l = 1, a = 3·(2 − 4)/(6·(4/3 − 4)) = 0.375.
    expect(boxRadiusForGaussian(2)).toBeCloseTo(1.375, 5);
    const flat: RawImage = { data: new Uint8Array(5 * 6 * 3).fill(77), height: 5, width: 6 };
    expect(Array.from(gaussianBlur(flat, 1.2).data).every((v) => v === 77)).toBe(true);
    const imp: RawImage = { data: new Uint8Array(15 * 15 * 3), height: 15, width: 15 };
    imp.data.fill(255, (7 * 15 + 7) * 3, (7 * 15 + 7) * 3 + 3);
    const b = gaussianBlur(imp, 1.5).data;
    const at = (y: number, x: number) => b[(y * 15 + x) * 3]!;
    expect(at(7, 6)).toBe(at(7, 8));
    expect(at(6, 7)).toBe(at(8, 7));
    expect(at(7, 5)).toBe(at(5, 7));
    expect(at(7, 7)).toBeGreaterThan(at(7, 6));
    let mass = 0;
    for (let i = 0; i < b.length; i += 3) mass += b[i]!;
    expect(Math.abs(mass - 255)).toBeLessThanOrEqual(20); // rounding in 6 uint8 passes
  });
});

describe('presets', () => {
  const img = randomImage(40, 50, 9);

  it('supervised preset gives size×size CLIP-normalised views, deterministic per (seed, epoch, index)', () => {
    const fn = compilePreset({ preset: 'supervised', size: 32 });
    const a = fn(img, sampleRng(1, 0, 3));
    const b = fn(img, sampleRng(1, 0, 3));
    const c = fn(img, sampleRng(1, 1, 3));
    if (!('view' in a) || !('view' in b) || !('view' in c)) throw new Error('expected views');
    expect(a.size).toEqual([32, 32]);
    expect(a.view.length).toBe(32 * 32 * 3);
    expect(Array.from(a.view)).toEqual(Array.from(b.view));
    expect(Array.from(a.view)).not.toEqual(Array.from(c.view));
    const lo = (0 - CLIP_NORM.mean[0]) / CLIP_NORM.std[0];
    const hi = (1 - CLIP_NORM.mean[0]) / CLIP_NORM.std[0];
    for (let i = 0; i < a.view.length; i += 3) {
      expect(a.view[i]).toBeGreaterThanOrEqual(lo - 1e-5);
      expect(a.view[i]).toBeLessThanOrEqual(hi + 1e-5);
    }
  });

  it('multicrop preset: default 2×224 + 6×96, configurable groups, small-image size option', () => {
    const def = compilePreset({ preset: 'multicrop' })(img, sampleRng(0, 0, 0));
    if (!('crops' in def)) throw new Error('expected crops');
    expect(def.crops.map((c) => c.size[0])).toEqual([224, 224, 96, 96, 96, 96, 96, 96]);
    const custom = compilePreset({
      preset: 'multicrop',
      crops: [
        { count: 1, size: 16, scale: [0.5, 1] },
        { count: 3, size: 8, scale: [0.1, 0.3] },
      ],
    })(img, sampleRng(0, 0, 0));
    if (!('crops' in custom)) throw new Error('expected crops');
    expect(custom.crops.map((c) => c.data.length)).toEqual([16 * 16 * 3, 8 * 8 * 3, 8 * 8 * 3, 8 * 8 * 3]);
    const small = compilePreset({ preset: 'multicrop', size: 32 })(img, sampleRng(0, 0, 0));
    if (!('crops' in small)) throw new Error('expected crops');
    expect(small.crops.map((c) => c.size[0])).toEqual([32, 32, 14, 14, 14, 14, 14, 14]);
  });

  it('rejects invalid probabilities and groups with usage errors', () => {
    expect(() => compilePreset({ preset: 'supervised', flipP: 2 })).toThrow(/flipP must be in \[0, 1\]/);
    expect(() => compilePreset({ preset: 'multicrop', crops: [{ count: 0, size: 8, scale: [0.1, 0.2] }] })).toThrow(/invalid/);
  });
});
