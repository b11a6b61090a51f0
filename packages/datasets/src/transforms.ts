/**
 * Image transforms on uint8 HWC RGB images, written as plain loops (no tfjs, no sharp): resampling with PIL's
 * convolution scheme (antialiased when shrinking), crops, flips, torchvision's colour jitter, grayscale, solarize,
 * Gaussian blur and normalisation to float32. Every random transform takes an `Rng` (from `createRng`) so a seed
 * fixes the output.
 */
import { SmnError, type Rng } from '@smn/core';
import type { Interpolation, JitterOptions, NormStats, RawImage } from './types.js';
import { DatasetErrorCode } from './errors.js';
import { boxBlurRgb, resampleRgb, type FixedCoeffs } from './kernels/wasm.js';

/** ImageNet statistics as SwAV's multicrop pipeline uses them (docs/method.md#augmentations) (note std[0] = 0.228, as SwAV). */
export const IMAGENET_NORM: NormStats = { mean: [0.485, 0.456, 0.406], std: [0.228, 0.224, 0.225] };
/** CLIP statistics (the supervised and eval pipelines, docs/method.md#augmentations). */
export const CLIP_NORM: NormStats = {
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
};

/** Crop box in source pixels: top row, left column, height, width. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

function checkImage(img: RawImage, what: string): void {
  if (img.data.length !== img.height * img.width * 3) {
    throw new SmnError(
      DatasetErrorCode.Usage,
      `${what}: image data has ${img.data.length} bytes, expected height*width*3 = ${img.height}*${img.width}*3 = ${img.height * img.width * 3}`,
      { kind: 'usage' },
    );
  }
}

/** The identity map of bytes (`lut[v] = v`). */
const IDENTITY_LUT = Uint8Array.from({ length: 256 }, (_, v) => v);

/** Round half up and clip to [0, 255] ((v + 0.5) | 0 = Math.round(v) for v ≥ 0, and faster). */
const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : (v + 0.5) | 0);

/** `lut[v]` for every byte, into `out` (a new array by default; `img.data` itself for in place). */
function applyLut(img: RawImage, lut: Uint8Array, out: Uint8Array = new Uint8Array(img.data.length)): RawImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) out[i] = lut[d[i]!]!;
  return { data: out, height: img.height, width: img.width };
}

function filterOf(interp: Interpolation): { support: number; f: (x: number) => number } {
  if (interp === 'bilinear') {
    return { support: 1, f: (x) => { const a = Math.abs(x); return a < 1 ? 1 - a : 0; } };
  }
  if (interp === 'bicubic') {
    // Keys cubic with a = -0.5, as PIL.
    const a = -0.5;
    return {
      support: 2,
      f: (x) => {
        const t = Math.abs(x);
        if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
        if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
        return 0;
      },
    };
  }
  return { support: 0.5, f: (x) => (x >= -0.5 && x < 0.5 ? 1 : 0) };
}

/** PIL's fixed-point precision of 8-bit resampling weights (libImaging/Resample.c `PRECISION_BITS`). */
const PRECISION_BITS = 22;

/**
 * PIL's `precompute_coeffs` + `normalize_coeffs_8bpc` for `outSize` outputs over the source pixels [lo, hi) of one
 * axis: output i is centred at `lo + in0 + (i + 0.5)·scale` (in0 relative to lo, as PIL's box on a cropped image),
 * its weights are the filter's, normalised, then rounded to 22-bit fixed point. `first` is absolute. With `from`, the
 * outputs from..from+outSize−1 of a longer resize of the same scale (a crop of its result).
 */
function pilCoeffs(lo: number, hi: number, in0: number, scale: number, outSize: number, interp: Interpolation, from = 0): FixedCoeffs {
  const inSize = hi - lo;
  const { support: s0, f } = filterOf(interp);
  const fscale = Math.max(scale, 1);
  const support = s0 * fscale;
  const ss = 1 / fscale;
  const kmax = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * kmax);
  const w = new Float64Array(kmax);
  for (let i = 0; i < outSize; i++) {
    const center = in0 + (from + i + 0.5) * scale;
    if (interp === 'nearest') {
      // PIL's nearest neighbour is a lookup, not a filter: the source pixel under the centre, weight 1.
      first[i] = lo + Math.min(inSize - 1, Math.max(0, Math.floor(center)));
      count[i] = 1;
      k[i * kmax] = 1 << PRECISION_BITS;
      continue;
    }
    // C's (int) truncates toward zero, as Math.trunc.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5));
    const n = Math.max(0, xmax - xmin);
    let total = 0;
    for (let x = 0; x < n; x++) {
      w[x] = f((x + xmin - center + 0.5) * ss);
      total += w[x]!;
    }
    for (let x = 0; x < n; x++) {
      const v = total !== 0 ? w[x]! / total : w[x]!;
      k[i * kmax + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
    first[i] = lo + xmin;
    count[i] = n;
  }
  return { first, count, k, kmax };
}

/**
 * Resamples the region `box` (float coordinates allowed) of `img` to `outH×outW` with PIL's separable convolution
 * (antialiased when shrinking), in PIL's fixed-point arithmetic (the WebAssembly kernels of kernels/pixels.wat).
 * With `clampToBox` (integer boxes) the filter reads only pixels inside the box, as PIL's crop-then-resize
 * (torchvision `resized_crop`); without it, it may read neighbours, as resize-then-crop.
 */
export function resampleBox(
  img: RawImage,
  box: CropBox,
  outH: number,
  outW: number,
  interp: Interpolation = 'bilinear',
  clampToBox = false,
): RawImage {
  checkImage(img, 'resample');
  if (!(outH >= 1 && outW >= 1 && box.width > 0 && box.height > 0)) {
    throw new SmnError(DatasetErrorCode.Usage, `resample: bad output ${outH}x${outW} or box ${JSON.stringify(box)}`, {
      kind: 'usage',
    });
  }
  const { data, width: W, height: H } = img;
  // One axis: clamped, the crop is the image (PIL's crop then resize), read only inside it; else the box is a window
  // of a resize of the whole image.
  const axis = (size: number, start: number, length: number, out: number): FixedCoeffs => {
    if (!clampToBox) return pilCoeffs(0, size, start, length / out, out, interp);
    const lo = Math.max(0, start);
    return pilCoeffs(lo, Math.min(size, start + length), start - lo, length / out, out, interp);
  };
  const cx = axis(W, box.left, box.width, outW);
  const cy = axis(H, box.top, box.height, outH);
  return { data: resampleRgb(data, W, cx, cy), height: outH, width: outW };
}

/**
 * torchvision `Resize((rh, rw))` then the integer crop `cb` (inside the resized image), computing only the pixels the
 * crop keeps: the same bits as resizing the whole image with PIL and cropping.
 */
export function resizeCrop(img: RawImage, rh: number, rw: number, cb: CropBox, interp: Interpolation = 'bilinear'): RawImage {
  checkImage(img, 'resizeCrop');
  const cx = pilCoeffs(0, img.width, 0, img.width / rw, cb.width, interp, cb.left);
  const cy = pilCoeffs(0, img.height, 0, img.height / rh, cb.height, interp, cb.top);
  return { data: resampleRgb(img.data, img.width, cx, cy), height: cb.height, width: cb.width };
}

/** Output size of torchvision `Resize(size)` with an int: shorter side = size, longer = int(size·long/short). */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  if (height <= width) return [size, Math.trunc((size * width) / height)];
  return [Math.trunc((size * height) / width), size];
}

/** Resizes so the shorter side is `size` (torchvision `Resize(int)`), bilinear by default. */
export function resizeShorter(img: RawImage, size: number, interp: Interpolation = 'bilinear'): RawImage {
  const [h, w] = shorterSideSize(img.height, img.width, size);
  if (h === img.height && w === img.width) return img;
  return resampleBox(img, { top: 0, left: 0, height: img.height, width: img.width }, h, w, interp);
}

/** Resizes to exactly `h×w`. */
export function resize(img: RawImage, h: number, w: number, interp: Interpolation = 'bilinear'): RawImage {
  return resampleBox(img, { top: 0, left: 0, height: img.height, width: img.width }, h, w, interp);
}

/** Integer crop; parts outside the image are zero (as torchvision pads). */
export function crop(img: RawImage, box: CropBox): RawImage {
  checkImage(img, 'crop');
  const { top, left, height, width } = box;
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = left + x;
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * 3;
      const d = (y * width + x) * 3;
      out[d] = img.data[s]!;
      out[d + 1] = img.data[s + 1]!;
      out[d + 2] = img.data[s + 2]!;
    }
  }
  return { data: out, height, width };
}

/** torchvision `CenterCrop` box: top = round((H−h)/2), left = round((W−w)/2). */
export function centerCropBox(height: number, width: number, ch: number, cw: number): CropBox {
  return { top: roundHalfEven((height - ch) / 2), left: roundHalfEven((width - cw) / 2), height: ch, width: cw };
}

/** Python 3's `round`: halves go to the even neighbour (torchvision's `center_crop` offsets: round(8.5) = 8). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Center crop to `h×w`. */
export function centerCrop(img: RawImage, h: number, w: number = h): RawImage {
  return crop(img, centerCropBox(img.height, img.width, h, w));
}

/**
 * torchvision `RandomResizedCrop.get_params`: 10 attempts at an area fraction in `scale` and a log-uniform aspect
 * ratio in `ratio`; then the fallback (whole image clamped to the ratio range, centred).
 */
export function randomResizedCropBox(
  height: number,
  width: number,
  scale: [number, number],
  ratio: [number, number],
  rng: Rng,
): CropBox {
  const area = height * width;
  const lr0 = Math.log(ratio[0]);
  const lr1 = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(lr0, lr1));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    w = width;
    h = Math.round(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    h = height;
    w = Math.round(h * Math.max(ratio[0], ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.trunc((height - h) / 2), left: Math.trunc((width - w) / 2), height: h, width: w };
}

/** Crops `box` and resizes it to `size×size` in one pass (= torchvision `resized_crop`: crop, then resize). */
export function resizedCrop(img: RawImage, box: CropBox, size: number, interp: Interpolation = 'bilinear'): RawImage {
  return resampleBox(img, box, size, size, interp, true);
}

/** Horizontal flip (new image). */
export function hflip(img: RawImage): RawImage {
  checkImage(img, 'hflip');
  const { data, height: H, width: W } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    const row = y * W * 3;
    for (let x = 0; x < W; x++) {
      const s = row + x * 3;
      const d = row + (W - 1 - x) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { data: out, height: H, width: W };
}

/** Luma L = round(0.299 R + 0.587 G + 0.114 B), one value per pixel. */
export function luma(img: RawImage): Uint8Array {
  const { data } = img;
  const n = img.height * img.width;
  const out = new Uint8Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    out[i] = (0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]! + 0.5) | 0;
  }
  return out;
}

/** Grayscale with 3 equal channels (torchvision `RandomGrayscale` output). */
export function grayscale(img: RawImage, out: Uint8Array = new Uint8Array(img.data.length)): RawImage {
  checkImage(img, 'grayscale');
  const l = luma(img);
  for (let i = 0, p = 0; i < l.length; i++, p += 3) out[p] = out[p + 1] = out[p + 2] = l[i]!;
  return { data: out, height: img.height, width: img.width };
}

/** PIL `ImageOps.solarize`: values ≥ threshold become 255 − v. */
export function solarize(img: RawImage, threshold = 128, out?: Uint8Array): RawImage {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v >= threshold ? 255 - v : v;
  return applyLut(img, lut, out);
}

/** Brightness: v·f, clamped (PIL `ImageEnhance.Brightness`). */
export function adjustBrightness(img: RawImage, f: number, out?: Uint8Array): RawImage {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clamp8(v * f);
  return applyLut(img, lut, out);
}

/** Contrast: m + f·(v − m) with m the rounded mean luma (PIL `ImageEnhance.Contrast`). */
export function adjustContrast(img: RawImage, f: number, out?: Uint8Array): RawImage {
  const { data } = img;
  const n = img.height * img.width;
  // Sum of the rounded lumas (as luma()), without its array.
  let s = 0;
  for (let i = 0, p = 0; i < n; i++, p += 3) s += (0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]! + 0.5) | 0;
  const m = Math.trunc(s / Math.max(1, n) + 0.5);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clamp8(m + f * (v - m));
  return applyLut(img, lut, out);
}

/** Saturation: L + f·(v − L) per pixel (PIL `ImageEnhance.Color`). */
export function adjustSaturation(img: RawImage, f: number, out: Uint8Array = new Uint8Array(img.data.length)): RawImage {
  const d = img.data;
  const n = img.height * img.width;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const r = d[p]!;
    const gg = d[p + 1]!;
    const b = d[p + 2]!;
    const g = (0.299 * r + 0.587 * gg + 0.114 * b + 0.5) | 0;
    out[p] = clamp8(g + f * (r - g));
    out[p + 1] = clamp8(g + f * (gg - g));
    out[p + 2] = clamp8(g + f * (b - g));
  }
  return { data: out, height: img.height, width: img.width };
}

/**
 * Hue shift by `h` ∈ [−0.5, 0.5] of a turn, as torchvision's `adjust_hue` on PIL images: RGB → PIL's 8-bit HSV,
 * `H += uint8(h·255)` with wrap-around, HSV → RGB (PIL's integer conversions, so results match to ±1).
 */
export function adjustHue(img: RawImage, h: number, out: Uint8Array = new Uint8Array(img.data.length)): RawImage {
  hueThrough(img.data, IDENTITY_LUT, h, out);
  return { data: out, height: img.height, width: img.width };
}

/** `adjustHue` of the pixels `lut[data[p]]` (a per-byte step composed before it; `IDENTITY_LUT` for none) into `out`. */
function hueThrough(data: Uint8Array, lut: Uint8Array, h: number, out: Uint8Array): void {
  const shift = ((Math.trunc(h * 255) % 256) + 256) % 256;
  const { sector, frac } = HSV_TABLES;
  const { quot, sat, satf } = hueDivisionTables();
  for (let p = 0; p < data.length; p += 3) {
    const r = lut[data[p]!]!;
    const g = lut[data[p + 1]!]!;
    const b = lut[data[p + 2]!]!;
    let maxc = r > g ? r : g;
    if (b > maxc) maxc = b;
    let minc = r < g ? r : g;
    if (b < minc) minc = b;
    if (maxc === minc) {
      out[p] = r;
      out[p + 1] = g;
      out[p + 2] = b;
      continue;
    }
    const cr = maxc - minc;
    let hh: number;
    const qc = cr << 8;
    if (r === maxc) hh = quot[qc | (maxc - b)]! - quot[qc | (maxc - g)]!;
    else if (g === maxc) hh = 2 + quot[qc | (maxc - r)]! - quot[qc | (maxc - b)]!;
    else hh = 4 + quot[qc | (maxc - g)]! - quot[qc | (maxc - r)]!;
    // hh ∈ [−1, 5], so hh/6 + 1 ∈ [0.83, 1.84): (x % 1) is x or x − 1, and hh·255 ∈ [0, 255) needs no clipping.
    hh = hh / 6 + 1;
    if (hh >= 1) hh -= 1;
    const uh = (((hh * 255) | 0) + shift) & 255;
    const us = sat[qc | maxc]!;
    const v = maxc;
    if (us === 0) {
      out[p] = out[p + 1] = out[p + 2] = v;
      continue;
    }
    const i = sector[uh]!;
    const f = frac[uh]!;
    const fs = satf[us]!;
    const pp = clamp8(v * (1 - fs));
    const q = clamp8(v * (1 - fs * f));
    const t = clamp8(v * (1 - fs * (1 - f)));
    let rr: number;
    let gg: number;
    let bb: number;
    switch (i) {
      case 0: rr = v; gg = t; bb = pp; break;
      case 1: rr = q; gg = v; bb = pp; break;
      case 2: rr = pp; gg = v; bb = t; break;
      case 3: rr = pp; gg = q; bb = v; break;
      case 4: rr = t; gg = pp; bb = v; break;
      default: rr = v; gg = pp; bb = q; break;
    }
    out[p] = rr;
    out[p + 1] = gg;
    out[p + 2] = bb;
  }
}

let HUE_DIV: { quot: Float32Array; sat: Uint8Array; satf: Float64Array } | undefined;

/**
 * `hueThrough`'s divisions of bytes as tables (built on first use, 320 KB): `quot[cr·256 + a] = fround(a / cr)`,
 * `sat[cr·256 + maxc] = (fround(cr / maxc)·255) | 0` and `satf[us] = us / 255`, the very values the divisions give.
 */
function hueDivisionTables(): { quot: Float32Array; sat: Uint8Array; satf: Float64Array } {
  if (HUE_DIV) return HUE_DIV;
  const quot = new Float32Array(65536);
  const sat = new Uint8Array(65536);
  const satf = new Float64Array(256);
  for (let cr = 1; cr < 256; cr++) {
    for (let a = 0; a <= cr; a++) quot[(cr << 8) | a] = Math.fround(a / cr);
    for (let m = cr; m < 256; m++) sat[(cr << 8) | m] = (Math.fround(cr / m) * 255) | 0;
  }
  for (let u = 0; u < 256; u++) satf[u] = u / 255;
  HUE_DIV = { quot, sat, satf };
  return HUE_DIV;
}

/** Per 8-bit hue: PIL's HSV → RGB sector `floor(6h/255) mod 6` and its fraction `6h/255 − floor(6h/255)`. */
const HSV_TABLES = (() => {
  const sector = new Int32Array(256);
  const frac = new Float64Array(256);
  for (let uh = 0; uh < 256; uh++) {
    const i = Math.floor((uh * 6) / 255);
    sector[uh] = i % 6;
    frac[uh] = (uh * 6) / 255 - i;
  }
  return { sector, frac };
})();
/**
 * torchvision `ColorJitter`: factors drawn first (brightness, contrast, saturation in [max(0, 1−x), 1+x], hue in
 * [−h, h]), then applied in the order of a random permutation of the four.
 */
export function colorJitter(img: RawImage, opts: JitterOptions, rng: Rng): RawImage {
  return applyJitter(img, jitterParams(opts, rng));
}

/** The draws of one `colorJitter` (the order of the four adjustments, then their factors), without the pixels. */
export interface JitterParams {
  order: number[];
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
}

/** Draws the parameters of `colorJitter` from `rng`: exactly the draws `colorJitter` makes. */
export function jitterParams(opts: JitterOptions, rng: Rng): JitterParams {
  const order = Array.from(rng.permutation(4));
  const p: JitterParams = { order };
  if (opts.brightness > 0) p.brightness = rng.uniform(Math.max(0, 1 - opts.brightness), 1 + opts.brightness);
  if (opts.contrast > 0) p.contrast = rng.uniform(Math.max(0, 1 - opts.contrast), 1 + opts.contrast);
  if (opts.saturation > 0) p.saturation = rng.uniform(Math.max(0, 1 - opts.saturation), 1 + opts.saturation);
  if (opts.hue > 0) p.hue = rng.uniform(-opts.hue, opts.hue);
  return p;
}

/** Applies drawn jitter parameters; with `inPlace` every step overwrites `img.data` (same values, no new arrays). */
export function applyJitter(img: RawImage, p: JitterParams, inPlace = false): RawImage {
  let out = img;
  for (const k of p.order) {
    const dst = inPlace ? img.data : undefined;
    if (k === 0 && p.brightness !== undefined) out = adjustBrightness(out, p.brightness, dst);
    else if (k === 1 && p.contrast !== undefined) out = adjustContrast(out, p.contrast, dst);
    else if (k === 2 && p.saturation !== undefined) out = adjustSaturation(out, p.saturation, dst);
    else if (k === 3 && p.hue !== undefined) out = adjustHue(out, p.hue, dst);
  }
  return out;
}

/** PIL's `_gaussian_blur_radius`: the extended-box radius whose `passes` repetitions approximate a Gaussian. */
export function boxRadiusForGaussian(radius: number, passes = 3): number {
  const f = Math.fround;
  const sigma2 = f(f(radius * radius) / passes);
  const L = f(Math.sqrt(12 * sigma2 + 1));
  const l = f(Math.floor((L - 1) / 2));
  let a = f(f(2 * l + 1) * f(l * (l + 1) - 3 * sigma2));
  a = f(a / f(6 * f(sigma2 - (l + 1) * (l + 1))));
  return f(l + a);
}

/**
 * PIL's `ImageFilter.GaussianBlur(radius)` (what SwAV's multicrop uses): three extended-box blur passes along rows,
 * then three along columns, with the box radius from `boxRadiusForGaussian`; matches Pillow's output exactly on the
 * test fixtures. `radius` ≈ the Gaussian's standard deviation. In PIL's integer arithmetic (kernels/pixels.wat).
 */
export function gaussianBlur(img: RawImage, radius: number): RawImage {
  checkImage(img, 'gaussianBlur');
  if (radius <= 0) return img;
  const { height: H, width: W } = img;
  const br = boxRadiusForGaussian(radius, 3);
  if (br === 0) return { data: new Uint8Array(img.data), height: H, width: W };
  return { data: boxBlurRgb(img.data, H, W, br, 3), height: H, width: W };
}

/** Resolves 'clip' | 'imagenet' | explicit stats. */
export function normStats(norm: 'clip' | 'imagenet' | NormStats): NormStats {
  if (norm === 'clip') return CLIP_NORM;
  if (norm === 'imagenet') return IMAGENET_NORM;
  return norm;
}

/**
 * `(v/255 − mean[c]) / std[c]` into `out` (float32 HWC) at `offset`; returns `out`. With `flip` the columns are
 * written mirrored (= `normalize(hflip(img))`, without the flipped copy).
 */
export function normalize(img: RawImage, stats: NormStats, out?: Float32Array, offset = 0, flip = false): Float32Array {
  const n = img.data.length;
  const o = out ?? new Float32Array(n);
  const a0 = 1 / (255 * stats.std[0]);
  const a1 = 1 / (255 * stats.std[1]);
  const a2 = 1 / (255 * stats.std[2]);
  const b0 = -stats.mean[0] / stats.std[0];
  const b1 = -stats.mean[1] / stats.std[1];
  const b2 = -stats.mean[2] / stats.std[2];
  const d = img.data;
  if (flip) {
    const W = img.width;
    const row = W * 3;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0, s = y * row, t = offset + y * row + (W - 1) * 3; x < W; x++, s += 3, t -= 3) {
        o[t] = d[s]! * a0 + b0;
        o[t + 1] = d[s + 1]! * a1 + b1;
        o[t + 2] = d[s + 2]! * a2 + b2;
      }
    }
    return o;
  }
  for (let p = 0; p < n; p += 3) {
    o[offset + p] = d[p]! * a0 + b0;
    o[offset + p + 1] = d[p + 1]! * a1 + b1;
    o[offset + p + 2] = d[p + 2]! * a2 + b2;
  }
  return o;
}

/** The rounded mean of the rounded lumas of the pixels `lut[data[p]]` (PIL `ImageEnhance.Contrast`'s mean). */
function meanLumaThrough(data: Uint8Array, lut: Uint8Array): number {
  const n = data.length / 3;
  let s = 0;
  for (let p = 0; p < data.length; p += 3) s += (0.299 * lut[data[p]!]! + 0.587 * lut[data[p + 1]!]! + 0.114 * lut[data[p + 2]!]! + 0.5) | 0;
  return Math.trunc(s / Math.max(1, n) + 0.5);
}

/** `adjustSaturation` of the pixels `lut[data[p]]`, in place. */
function saturateThrough(data: Uint8Array, lut: Uint8Array, f: number): void {
  for (let p = 0; p < data.length; p += 3) {
    const r = lut[data[p]!]!;
    const gg = lut[data[p + 1]!]!;
    const b = lut[data[p + 2]!]!;
    const g = (0.299 * r + 0.587 * gg + 0.114 * b + 0.5) | 0;
    data[p] = clamp8(g + f * (r - g));
    data[p + 1] = clamp8(g + f * (gg - g));
    data[p + 2] = clamp8(g + f * (b - g));
  }
}

/**
 * `applyJitter(img, p, true)` with its per-byte steps (brightness; contrast, once its mean is known) composed into one
 * lookup table instead of a pass each: the saturation and hue steps read their pixels through the table, and what is
 * left is returned for the caller to apply while it reads the pixels (`img.data` itself is then the jitter's input
 * to that table). Bit-identical to the steps one by one: every step still rounds and clips to bytes, only the passes
 * over the pixels are fewer.
 */
export function jitterThroughLut(img: RawImage, p: JitterParams): Uint8Array {
  const d = img.data;
  let lut = IDENTITY_LUT;
  const compose = (g: (v: number) => number) => {
    const next = new Uint8Array(256);
    for (let v = 0; v < 256; v++) next[v] = clamp8(g(lut[v]!));
    lut = next;
  };
  for (const k of p.order) {
    if (k === 0 && p.brightness !== undefined) {
      const f = p.brightness;
      compose((v) => v * f);
    } else if (k === 1 && p.contrast !== undefined) {
      const f = p.contrast;
      const m = meanLumaThrough(d, lut);
      compose((v) => m + f * (v - m));
    } else if (k === 2 && p.saturation !== undefined) {
      saturateThrough(d, lut, p.saturation);
      lut = IDENTITY_LUT;
    } else if (k === 3 && p.hue !== undefined) {
      hueThrough(d, lut, p.hue, d);
      lut = IDENTITY_LUT;
    }
  }
  return lut;
}

/** The pixel steps after a crop that `normalizeThrough` folds into its one pass. */
export interface PixelTail {
  /** A per-byte map to apply first (from `jitterThroughLut`); default none. */
  lut?: Uint8Array;
  /** `grayscale` next. */
  gray?: boolean;
  /** `solarize(threshold)` next. */
  solarize?: number;
  flip?: boolean;
}

/** Per-channel tables byte → ToTensor + Normalize of `f(byte)`, with the arithmetic of `normalize` (one float32 per entry). */
function normalizeTables(stats: NormStats, f: (v: number) => number): [Float32Array, Float32Array, Float32Array] {
  const t: [Float32Array, Float32Array, Float32Array] = [new Float32Array(256), new Float32Array(256), new Float32Array(256)];
  for (let v = 0; v < 256; v++) {
    const u = f(v);
    for (let c = 0; c < 3; c++) t[c]![v] = u * (1 / (255 * stats.std[c]!)) + -stats.mean[c]! / stats.std[c]!;
  }
  return t;
}

/**
 * `normalize(solarize(grayscale(lut applied to img)))` (each step optional, flip as `normalize`'s) in one pass over the
 * pixels, into `out` at `offset`: the byte maps and the normalisation become three float tables of 256 entries (the
 * same float32 values `normalize` computes). Bit-identical to the steps one by one.
 */
export function normalizeThrough(img: RawImage, stats: NormStats, tail: PixelTail, out?: Float32Array, offset = 0): Float32Array {
  const d = img.data;
  const o = out ?? new Float32Array(d.length);
  const lut = tail.lut ?? IDENTITY_LUT;
  const sol = tail.solarize;
  const post = (v: number) => (sol !== undefined && v >= sol ? 255 - v : v);
  const W = img.width;
  const row = W * 3;
  const step = tail.flip ? -3 : 3;
  if (tail.gray) {
    // The luma of the mapped pixel, then solarize and normalise per channel through tables indexed by the luma.
    const [t0, t1, t2] = normalizeTables(stats, post);
    for (let y = 0; y < img.height; y++) {
      let t = offset + y * row + (tail.flip ? (W - 1) * 3 : 0);
      for (let s = y * row, e = s + row; s < e; s += 3, t += step) {
        const l = (0.299 * lut[d[s]!]! + 0.587 * lut[d[s + 1]!]! + 0.114 * lut[d[s + 2]!]! + 0.5) | 0;
        o[t] = t0[l]!;
        o[t + 1] = t1[l]!;
        o[t + 2] = t2[l]!;
      }
    }
    return o;
  }
  const [t0, t1, t2] = normalizeTables(stats, (v) => post(lut[v]!));
  for (let y = 0; y < img.height; y++) {
    let t = offset + y * row + (tail.flip ? (W - 1) * 3 : 0);
    for (let s = y * row, e = s + row; s < e; s += 3, t += step) {
      o[t] = t0[d[s]!]!;
      o[t + 1] = t1[d[s + 1]!]!;
      o[t + 2] = t2[d[s + 2]!]!;
    }
  }
  return o;
}

/** Applies `lut` (and `grayscale` when `gray`) to `img.data` in place: the bytes `normalizeThrough` would read. */
export function applyTail(img: RawImage, lut: Uint8Array = IDENTITY_LUT, gray = false): void {
  const d = img.data;
  if (!gray) {
    if (lut !== IDENTITY_LUT) for (let i = 0; i < d.length; i++) d[i] = lut[d[i]!]!;
    return;
  }
  for (let p = 0; p < d.length; p += 3) {
    d[p] = d[p + 1] = d[p + 2] = (0.299 * lut[d[p]!]! + 0.587 * lut[d[p + 1]!]! + 0.114 * lut[d[p + 2]!]! + 0.5) | 0;
  }
}
