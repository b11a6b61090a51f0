/**
 * Image transforms on uint8 HWC RGB images, written as plain loops (no tfjs, no sharp): resampling with PIL's
 * convolution scheme (antialiased when shrinking), crops, flips, torchvision's colour jitter, grayscale, solarize,
 * Gaussian blur and normalisation to float32. Every random transform takes an `Rng` (from `createRng`) so a seed
 * fixes the output.
 */
import { SmnError, type Rng } from '@smn/core';
import type { Interpolation, JitterOptions, NormStats, RawImage } from './types.js';
import { DatasetErrorCode } from './errors.js';

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

/** Round half up and clip to [0, 255] ((v + 0.5) | 0 = Math.round(v) for v ≥ 0, and faster). */
const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : (v + 0.5) | 0);

function applyLut(img: RawImage, lut: Uint8Array): RawImage {
  const d = img.data;
  const out = new Uint8Array(d.length);
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

/** Per output pixel: first source index, count, and normalised weights (PIL `precompute_coeffs`). */
function coeffs(inSize: number, start: number, length: number, outSize: number, interp: Interpolation, lo = 0, hi = inSize) {
  const scale = length / outSize;
  const { support: s0, f } = filterOf(interp);
  const fscale = Math.max(scale, 1);
  const support = s0 * fscale;
  const kmax = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const w = new Float32Array(outSize * kmax);
  for (let i = 0; i < outSize; i++) {
    const center = start + (i + 0.5) * scale;
    if (interp === 'nearest') {
      first[i] = Math.min(hi - 1, Math.max(lo, Math.floor(center)));
      count[i] = 1;
      w[i * kmax] = 1;
      continue;
    }
    let xmin = lo + Math.trunc(center - lo - support + 0.5);
    if (xmin < lo) xmin = lo;
    let xmax = lo + Math.trunc(center - lo + support + 0.5);
    if (xmax > hi) xmax = hi;
    const n = Math.max(0, xmax - xmin);
    let total = 0;
    for (let k = 0; k < n; k++) {
      const v = f((k + xmin - center + 0.5) / fscale);
      w[i * kmax + k] = v;
      total += v;
    }
    if (total !== 0) for (let k = 0; k < n; k++) w[i * kmax + k]! /= total;
    first[i] = xmin;
    count[i] = n;
  }
  return { first, count, w, kmax };
}

/**
 * Resamples the region `box` (float coordinates allowed) of `img` to `outH×outW` with PIL's separable convolution
 * (antialiased when shrinking). With `clampToBox` (integer boxes) the filter reads only pixels inside the box, as
 * PIL's crop-then-resize (torchvision `resized_crop`); without it, it may read neighbours, as resize-then-crop.
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
  const cx = clampToBox
    ? coeffs(W, box.left, box.width, outW, interp, Math.max(0, box.left), Math.min(W, box.left + box.width))
    : coeffs(W, box.left, box.width, outW, interp);
  const cy = clampToBox
    ? coeffs(H, box.top, box.height, outH, interp, Math.max(0, box.top), Math.min(H, box.top + box.height))
    : coeffs(H, box.top, box.height, outH, interp);
  // Rows of the source that the vertical pass touches.
  let r0 = H;
  let r1 = 0;
  for (let i = 0; i < outH; i++) {
    r0 = Math.min(r0, cy.first[i]!);
    r1 = Math.max(r1, cy.first[i]! + cy.count[i]!);
  }
  const rows = Math.max(0, r1 - r0);
  const tmp = new Uint8Array(rows * outW * 3);
  for (let y = 0; y < rows; y++) {
    const srow = (y + r0) * W * 3;
    const trow = y * outW * 3;
    for (let x = 0; x < outW; x++) {
      const f0 = cx.first[x]!;
      const n = cx.count[x]!;
      const wo = x * cx.kmax;
      let a = 0;
      let b = 0;
      let c = 0;
      let p = srow + f0 * 3;
      for (let k = 0; k < n; k++, p += 3) {
        const wk = cx.w[wo + k]!;
        a += data[p]! * wk;
        b += data[p + 1]! * wk;
        c += data[p + 2]! * wk;
      }
      // PIL stores the horizontal pass as uint8 (rounded, clipped) before the vertical pass; so do we.
      tmp[trow + x * 3] = clamp8(a);
      tmp[trow + x * 3 + 1] = clamp8(b);
      tmp[trow + x * 3 + 2] = clamp8(c);
    }
  }
  const out = new Uint8Array(outH * outW * 3);
  const rowLen = outW * 3;
  const acc = new Float64Array(rowLen);
  for (let y = 0; y < outH; y++) {
    const f0 = cy.first[y]! - r0;
    const n = cy.count[y]!;
    const wo = y * cy.kmax;
    // Accumulate whole source rows (contiguous reads) into the output row.
    acc.fill(0);
    for (let k = 0; k < n; k++) {
      const w = cy.w[wo + k]!;
      const base = (f0 + k) * rowLen;
      for (let x = 0; x < rowLen; x++) acc[x]! += tmp[base + x]! * w;
    }
    const orow = y * rowLen;
    for (let x = 0; x < rowLen; x++) out[orow + x] = clamp8(acc[x]!);
  }
  return { data: out, height: outH, width: outW };
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
  return { top: Math.round((height - ch) / 2), left: Math.round((width - cw) / 2), height: ch, width: cw };
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
export function grayscale(img: RawImage): RawImage {
  checkImage(img, 'grayscale');
  const l = luma(img);
  const out = new Uint8Array(img.data.length);
  for (let i = 0, p = 0; i < l.length; i++, p += 3) out[p] = out[p + 1] = out[p + 2] = l[i]!;
  return { data: out, height: img.height, width: img.width };
}

/** PIL `ImageOps.solarize`: values ≥ threshold become 255 − v. */
export function solarize(img: RawImage, threshold = 128): RawImage {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v >= threshold ? 255 - v : v;
  return applyLut(img, lut);
}

/** Brightness: v·f, clamped (PIL `ImageEnhance.Brightness`). */
export function adjustBrightness(img: RawImage, f: number): RawImage {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clamp8(v * f);
  return applyLut(img, lut);
}

/** Contrast: m + f·(v − m) with m the rounded mean luma (PIL `ImageEnhance.Contrast`). */
export function adjustContrast(img: RawImage, f: number): RawImage {
  const l = luma(img);
  let s = 0;
  for (let i = 0; i < l.length; i++) s += l[i]!;
  const m = Math.trunc(s / Math.max(1, l.length) + 0.5);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clamp8(m + f * (v - m));
  return applyLut(img, lut);
}

/** Saturation: L + f·(v − L) per pixel (PIL `ImageEnhance.Color`). */
export function adjustSaturation(img: RawImage, f: number): RawImage {
  const l = luma(img);
  const out = new Uint8Array(img.data.length);
  for (let i = 0, p = 0; i < l.length; i++, p += 3) {
    const g = l[i]!;
    out[p] = clamp8(g + f * (img.data[p]! - g));
    out[p + 1] = clamp8(g + f * (img.data[p + 1]! - g));
    out[p + 2] = clamp8(g + f * (img.data[p + 2]! - g));
  }
  return { data: out, height: img.height, width: img.width };
}

/**
 * Hue shift by `h` ∈ [−0.5, 0.5] of a turn, as torchvision's `adjust_hue` on PIL images: RGB → PIL's 8-bit HSV,
 * `H += uint8(h·255)` with wrap-around, HSV → RGB (PIL's integer conversions, so results match to ±1).
 */
export function adjustHue(img: RawImage, h: number): RawImage {
  const { data } = img;
  const out = new Uint8Array(data.length);
  const shift = ((Math.trunc(h * 255) % 256) + 256) % 256;
  for (let p = 0; p < data.length; p += 3) {
    const r = data[p]!;
    const g = data[p + 1]!;
    const b = data[p + 2]!;
    const maxc = Math.max(r, g, b);
    const minc = Math.min(r, g, b);
    if (maxc === minc) {
      out[p] = r;
      out[p + 1] = g;
      out[p + 2] = b;
      continue;
    }
    const cr = maxc - minc;
    const rc = Math.fround((maxc - r) / cr);
    const gc = Math.fround((maxc - g) / cr);
    const bc = Math.fround((maxc - b) / cr);
    let hh: number;
    if (r === maxc) hh = bc - gc;
    else if (g === maxc) hh = 2 + rc - bc;
    else hh = 4 + gc - rc;
    hh = (hh / 6 + 1) % 1;
    const uh = (Math.min(255, Math.max(0, Math.trunc(hh * 255))) + shift) & 255;
    const us = Math.min(255, Math.max(0, Math.trunc(Math.fround(cr / maxc) * 255)));
    const v = maxc;
    if (us === 0) {
      out[p] = out[p + 1] = out[p + 2] = v;
      continue;
    }
    const i = Math.floor((uh * 6) / 255);
    const f = (uh * 6) / 255 - i;
    const fs = us / 255;
    const pp = clamp8(v * (1 - fs));
    const q = clamp8(v * (1 - fs * f));
    const t = clamp8(v * (1 - fs * (1 - f)));
    let rr: number;
    let gg: number;
    let bb: number;
    switch (i % 6) {
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
  return { data: out, height: img.height, width: img.width };
}

/**
 * torchvision `ColorJitter`: factors drawn first (brightness, contrast, saturation in [max(0, 1−x), 1+x], hue in
 * [−h, h]), then applied in the order of a random permutation of the four.
 */
export function colorJitter(img: RawImage, opts: JitterOptions, rng: Rng): RawImage {
  const order = rng.permutation(4);
  const bf = opts.brightness > 0 ? rng.uniform(Math.max(0, 1 - opts.brightness), 1 + opts.brightness) : undefined;
  const cf = opts.contrast > 0 ? rng.uniform(Math.max(0, 1 - opts.contrast), 1 + opts.contrast) : undefined;
  const sf = opts.saturation > 0 ? rng.uniform(Math.max(0, 1 - opts.saturation), 1 + opts.saturation) : undefined;
  const hf = opts.hue > 0 ? rng.uniform(-opts.hue, opts.hue) : undefined;
  let out = img;
  for (const k of order) {
    if (k === 0 && bf !== undefined) out = adjustBrightness(out, bf);
    else if (k === 1 && cf !== undefined) out = adjustContrast(out, cf);
    else if (k === 2 && sf !== undefined) out = adjustSaturation(out, sf);
    else if (k === 3 && hf !== undefined) out = adjustHue(out, hf);
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
 * One extended-box blur pass along rows, PIL's `ImagingLineBoxBlur` in 8.24 fixed point: a box of integer radius r
 * plus the two pixels at distance r+1 weighted by the fraction; edges repeat the end pixels; uint8 output.
 */
const INV_2_24 = 1 / 16777216; // exact power of two: (v · 2^-24) | 0 = floor(v / 2^24) for 0 ≤ v < 2^31·2^24

function boxBlurRows(src: Uint8Array, dst: Uint8Array, H: number, W: number, floatRadius: number): void {
  const r = Math.trunc(floatRadius);
  const ww = Math.trunc(Math.fround(16777216 / Math.fround(Math.fround(floatRadius * 2) + 1)));
  const fw = Math.floor((16777216 - (r * 2 + 1) * ww) / 2);
  const edgeA = Math.min(r + 1, W);
  const edgeB = Math.max(W - r - 1, 0);
  const last = W - 1;
  // For output x: the pixel added to and the one removed from the running sum, and the two far pixels (r+1 away),
  // all clamped to the line as PIL's three (or, for short lines, the other three) loops do.
  const addIdx = new Int32Array(W);
  const subIdx = new Int32Array(W);
  const leftIdx = new Int32Array(W);
  const rightIdx = new Int32Array(W);
  for (let x = 0; x < W; x++) {
    const early = x < edgeA;
    const addLast = x >= edgeB;
    addIdx[x] = addLast ? last : x + r;
    subIdx[x] = early ? 0 : x - r - 1;
    leftIdx[x] = subIdx[x]!;
    rightIdx[x] = addLast ? last : x + r + 1;
  }
  const row = new Int32Array(W * 3);
  for (let y = 0; y < H; y++) {
    const base = y * W * 3;
    for (let i = 0; i < W * 3; i++) row[i] = src[base + i]!;
    let a0 = row[0]! * (r + 1);
    let a1 = row[1]! * (r + 1);
    let a2 = row[2]! * (r + 1);
    for (let x = 0; x < edgeA - 1; x++) {
      a0 += row[x * 3]!;
      a1 += row[x * 3 + 1]!;
      a2 += row[x * 3 + 2]!;
    }
    const m = r - edgeA + 1;
    a0 += row[last * 3]! * m;
    a1 += row[last * 3 + 1]! * m;
    a2 += row[last * 3 + 2]! * m;
    for (let x = 0; x < W; x++) {
      const ad = addIdx[x]! * 3;
      const sb = subIdx[x]! * 3;
      const lf = leftIdx[x]! * 3;
      const rt = rightIdx[x]! * 3;
      a0 += row[ad]! - row[sb]!;
      a1 += row[ad + 1]! - row[sb + 1]!;
      a2 += row[ad + 2]! - row[sb + 2]!;
      const o = base + x * 3;
      dst[o] = ((a0 * ww + (row[lf]! + row[rt]!) * fw + 8388608) * INV_2_24) | 0;
      dst[o + 1] = ((a1 * ww + (row[lf + 1]! + row[rt + 1]!) * fw + 8388608) * INV_2_24) | 0;
      dst[o + 2] = ((a2 * ww + (row[lf + 2]! + row[rt + 2]!) * fw + 8388608) * INV_2_24) | 0;
    }
  }
}

function transpose(src: Uint8Array, H: number, W: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      const d = (x * H + y) * 3;
      out[d] = src[s]!;
      out[d + 1] = src[s + 1]!;
      out[d + 2] = src[s + 2]!;
    }
  }
  return out;
}

/**
 * PIL's `ImageFilter.GaussianBlur(radius)` (what SwAV's multicrop uses): three extended-box blur passes along rows,
 * then three along columns, with the box radius from `boxRadiusForGaussian`; matches Pillow's output exactly on the
 * test fixtures. `radius` ≈ the Gaussian's standard deviation.
 */
export function gaussianBlur(img: RawImage, radius: number): RawImage {
  checkImage(img, 'gaussianBlur');
  if (radius <= 0) return img;
  const { height: H, width: W } = img;
  const br = boxRadiusForGaussian(radius, 3);
  const a = new Uint8Array(img.data.length);
  if (br === 0) a.set(img.data);
  else for (let p = 0; p < 3; p++) boxBlurRows(p === 0 ? img.data : a, a, H, W, br);
  const t = transpose(a, H, W);
  if (br !== 0) for (let p = 0; p < 3; p++) boxBlurRows(t, t, W, H, br);
  return { data: transpose(t, W, H), height: H, width: W };
}

/** Resolves 'clip' | 'imagenet' | explicit stats. */
export function normStats(norm: 'clip' | 'imagenet' | NormStats): NormStats {
  if (norm === 'clip') return CLIP_NORM;
  if (norm === 'imagenet') return IMAGENET_NORM;
  return norm;
}

/** `(v/255 − mean[c]) / std[c]` into `out` (float32 HWC) at `offset`; returns `out`. */
export function normalize(img: RawImage, stats: NormStats, out?: Float32Array, offset = 0): Float32Array {
  const n = img.data.length;
  const o = out ?? new Float32Array(n);
  const a0 = 1 / (255 * stats.std[0]);
  const a1 = 1 / (255 * stats.std[1]);
  const a2 = 1 / (255 * stats.std[2]);
  const b0 = -stats.mean[0] / stats.std[0];
  const b1 = -stats.mean[1] / stats.std[1];
  const b2 = -stats.mean[2] / stats.std[2];
  const d = img.data;
  for (let p = 0; p < n; p += 3) {
    o[offset + p] = d[p]! * a0 + b0;
    o[offset + p + 1] = d[p + 1]! * a1 + b1;
    o[offset + p + 2] = d[p + 2]! * a2 + b2;
  }
  return o;
}
