/**
 * The native resampling of the fast path (`resample: 'fast'`, the default): crop + resize in libvips through sharp,
 * run on libuv's thread pool so that it overlaps the JavaScript work of other samples. The input is wrapped, not
 * copied (`Buffer.from(arrayBuffer, offset, length)`), and the output buffer is used as the image's pixels.
 * Within interpolation error of PIL's resampling (the JavaScript `resampleBox`); the differences measured on real
 * images are in docs/experiments.md#data-pipelines-vs-torchvision and asserted by test/native.test.ts.
 */
import sharp from 'sharp';
import type { CropBox } from './transforms.js';
import type { Interpolation, RawImage } from './types.js';

/** sharp's kernel for an interpolation: Catmull-Rom (`cubic`) is Keys' a = −0.5, PIL's bicubic. */
const KERNEL = { bilinear: 'linear', bicubic: 'cubic', nearest: 'nearest' } as const;

/**
 * Below this output side the JavaScript resampling is used even on the fast path: one native call costs ~1 ms of CPU
 * (measured: 1.2 ms to shrink 120² → 96², where the JavaScript resampling takes 0.6 ms; 1.7 ms for 300² → 224²,
 * where JavaScript takes 3.2 ms).
 */
export const NATIVE_MIN_SIZE = 128;

function wrap(img: RawImage): Buffer {
  return Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
}

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Crops the integer `box` (inside the image) of `img` and resizes it to `outH×outW` in libvips: torchvision's
 * `resized_crop` (crop, then resize) with antialiasing when shrinking, as PIL's.
 */
export async function nativeResizedCrop(img: RawImage, box: CropBox, outH: number, outW: number, interp: Interpolation): Promise<RawImage> {
  let s = sharp(wrap(img), { raw: { width: img.width, height: img.height, channels: 3 } });
  if (box.top !== 0 || box.left !== 0 || box.width !== img.width || box.height !== img.height) {
    s = s.extract({ left: box.left, top: box.top, width: box.width, height: box.height });
  }
  const data = await s.resize(outW, outH, { fit: 'fill', kernel: KERNEL[interp] }).raw().toBuffer();
  return { data: view(data), height: outH, width: outW };
}

/** torchvision `Resize(rh, rw)` then `CenterCrop` of the integer box `cb` (inside the resized image), in libvips. */
export async function nativeResizeCrop(img: RawImage, rh: number, rw: number, cb: CropBox, interp: Interpolation): Promise<RawImage> {
  const data = await sharp(wrap(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(rw, rh, { fit: 'fill', kernel: KERNEL[interp] })
    .extract({ left: cb.left, top: cb.top, width: cb.width, height: cb.height })
    .raw()
    .toBuffer();
  return { data: view(data), height: cb.height, width: cb.width };
}

/** The smallest `sigma` sharp's blur takes; `nativeBlur` leaves smaller radii to PIL's blur in JavaScript. */
export const NATIVE_MIN_BLUR = 0.3;

/**
 * A Gaussian blur of standard deviation `radius` in libvips (float precision, kernel cut at 1% amplitude): within
 * about 0.4 levels on average of PIL's `GaussianBlur(radius)` (three extended-box passes, `gaussianBlur`) for radii
 * 0.5–2 (test/native.test.ts). Radii below {@link NATIVE_MIN_BLUR} are blurred by `gaussianBlur`.
 */
export async function nativeBlur(img: RawImage, radius: number): Promise<RawImage> {
  const data = await sharp(wrap(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .blur({ sigma: radius, precision: 'float', minAmplitude: 0.01 })
    .raw()
    .toBuffer();
  return { data: view(data), height: img.height, width: img.width };
}
