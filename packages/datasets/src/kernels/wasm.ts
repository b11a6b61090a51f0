/**
 * The pixel kernels of pixels.wat (PIL's 8-bit resampling and box blur in WebAssembly SIMD) as functions of typed
 * arrays. One instance per thread (module state: each worker thread compiles its own), whose memory grows to fit the
 * largest call and is reused; every call copies its input in and its result out, so nothing returned aliases it.
 */
import { PIXELS_WASM_BASE64 } from './pixels-wasm.js';

// The WebAssembly API is global in Node and browsers, but neither ES2023's lib nor @types/node 20 types it: what we use.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
};

interface PixelKernels {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  resample_h(src: number, stride: number, rows: number, outW: number, first: number, count: number, k: number, kmax: number, dst: number): void;
  resample_v(src: number, rowLen: number, outH: number, first: number, count: number, k: number, kmax: number, dst: number): void;
  box_blur_rows(data: number, rows: number, n: number, r: number, ww: number, fw: number, passes: number, a: number, b: number): void;
  transpose_rgb(src: number, h: number, w: number, dst: number): void;
}

let kernels: PixelKernels | undefined;

function pixelKernels(): PixelKernels {
  if (!kernels) {
    const bytes = Uint8Array.from(atob(PIXELS_WASM_BASE64), (c) => c.charCodeAt(0));
    kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as PixelKernels;
  }
  return kernels;
}

/**
 * Lays out one call's buffers in the kernels' memory: each block 8-byte aligned with 8 bytes of slack after it (the
 * kernels read a pixel as 4 bytes and write 8 at a time), the memory grown once all are placed.
 */
class Layout {
  private top = 0;

  block(bytes: number): number {
    const at = this.top;
    this.top += (bytes + 15) & ~7;
    return at;
  }

  /** The kernels with memory for every block placed (views of the memory made before this call are stale after it). */
  kernels(): PixelKernels {
    const k = pixelKernels();
    const missing = this.top - k.memory.buffer.byteLength;
    if (missing > 0) k.memory.grow(Math.ceil(missing / 65536));
    return k;
  }
}

/**
 * Resampling weights of one axis in PIL's 22-bit fixed point (`precompute_coeffs` + `normalize_coeffs_8bpc`): output
 * i reads `count[i]` source pixels from `first[i]` (absolute indices) with weights `k[i·kmax …]`.
 */
export interface FixedCoeffs {
  first: Int32Array;
  count: Int32Array;
  k: Int32Array;
  kmax: number;
}

function span(c: FixedCoeffs): [number, number] {
  let lo = Infinity;
  let hi = 0;
  for (let i = 0; i < c.first.length; i++) {
    if (c.count[i]! === 0) continue;
    lo = Math.min(lo, c.first[i]!);
    hi = Math.max(hi, c.first[i]! + c.count[i]!);
  }
  return lo < hi ? [lo, hi] : [0, 0];
}

/** Writes `c` into the kernels' memory with its first indices shifted by `-origin`. */
function putCoeffs(mem: ArrayBuffer, c: FixedCoeffs, origin: number, at: { first: number; count: number; k: number }): void {
  const n = c.first.length;
  const first = new Int32Array(mem, at.first, n);
  for (let i = 0; i < n; i++) first[i] = c.first[i]! - origin;
  new Int32Array(mem, at.count, n).set(c.count);
  new Int32Array(mem, at.k, c.k.length).set(c.k);
}

/**
 * PIL's two-pass 8-bit resampling (horizontal, rounded to bytes, then vertical) of the RGB image `data` (height×width,
 * interleaved) with the weights `cx` (columns, `outW` outputs) and `cy` (rows, `outH`): only the rows and columns the
 * weights read are copied in.
 */
export function resampleRgb(data: Uint8Array, width: number, cx: FixedCoeffs, cy: FixedCoeffs): Uint8Array {
  const outW = cx.first.length;
  const outH = cy.first.length;
  const [c0, c1] = span(cx);
  const [r0, r1] = span(cy);
  const stride = (c1 - c0) * 3;
  const rows = r1 - r0;
  const lay = new Layout();
  const src = lay.block(rows * stride);
  const hx = { first: lay.block(outW * 4), count: lay.block(outW * 4), k: lay.block(cx.k.length * 4) };
  const vy = { first: lay.block(outH * 4), count: lay.block(outH * 4), k: lay.block(cy.k.length * 4) };
  const tmp = lay.block(rows * outW * 3);
  const dst = lay.block(outH * outW * 3);
  const k = lay.kernels();
  const mem = k.memory.buffer;
  const bytes = new Uint8Array(mem);
  for (let y = 0; y < rows; y++) {
    const from = ((r0 + y) * width + c0) * 3;
    bytes.set(data.subarray(from, from + stride), src + y * stride);
  }
  putCoeffs(mem, cx, c0, hx);
  putCoeffs(mem, cy, r0, vy);
  k.resample_h(src, stride, rows, outW, hx.first, hx.count, hx.k, cx.kmax, tmp);
  k.resample_v(tmp, outW * 3, outH, vy.first, vy.count, vy.k, cy.kmax, dst);
  return bytes.slice(dst, dst + outH * outW * 3);
}

/**
 * PIL's `ImagingBoxBlur` of the RGB image `data` (height×width): `passes` extended-box passes of radius `floatRadius`
 * along the rows, then along the columns (the rows of the transposed image, as PIL). A new array.
 */
export function boxBlurRgb(data: Uint8Array, height: number, width: number, floatRadius: number, passes: number): Uint8Array {
  const r = Math.trunc(floatRadius);
  // PIL's weights: ww = (UINT32)(1 << 24) / (floatRadius · 2 + 1) in float, fw the rest shared by the two far pixels.
  const ww = Math.trunc(Math.fround(16777216 / Math.fround(Math.fround(floatRadius * 2) + 1)));
  const fw = Math.floor((16777216 - (r * 2 + 1) * ww) / 2);
  const n = data.length;
  const lay = new Layout();
  const img = lay.block(n);
  const t = lay.block(n);
  const a = lay.block(Math.max(height, width) * 3);
  const b = lay.block(Math.max(height, width) * 3);
  const k = lay.kernels();
  const bytes = new Uint8Array(k.memory.buffer);
  bytes.set(data, img);
  k.box_blur_rows(img, height, width, r, ww, fw, passes, a, b);
  k.transpose_rgb(img, height, width, t);
  k.box_blur_rows(t, width, height, r, ww, fw, passes, a, b);
  k.transpose_rgb(t, width, height, img);
  return bytes.slice(img, img + n);
}
