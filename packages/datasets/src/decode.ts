/** Image decoding with sharp (JPEG, PNG, WebP, …) to RGB uint8 HWC; grayscale and alpha are converted to RGB. */
import sharp from 'sharp';
import { SmnError, isSmnError } from '@smn/core';
import { readRegularFile } from './_regular-file.js';
import type { RawImage } from './types.js';
import { DatasetErrorCode } from './errors.js';

/** Converts interleaved 1/2/3/4-channel pixels to RGB (gray replicated, alpha dropped, as PIL `convert('RGB')`). */
export function toRgb(data: Uint8Array, height: number, width: number, channels: number): Uint8Array {
  if (channels === 3) return data;
  const n = height * width;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    if (channels <= 2) {
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[s]!;
    } else {
      out[i * 3] = data[s]!;
      out[i * 3 + 1] = data[s + 1]!;
      out[i * 3 + 2] = data[s + 2]!;
    }
  }
  return out;
}

/**
 * Decodes an encoded image (file path or bytes) to RGB. `what` names the sample in errors (`file (index 12)`).
 * Throws SmnError `SMN_DATA_DECODE` when the file is missing, truncated or not an image, `SMN_DATA_NOT_REGULAR`
 * when the path is a FIFO, socket or device (read only after checking, so such a path never blocks the decoder).
 */
export async function decodeImage(input: string | Uint8Array, what?: string): Promise<RawImage> {
  const name = what ?? (typeof input === 'string' ? input : '<bytes>');
  try {
    const bytes = typeof input === 'string' ? await readRegularFile(input, 'an image file') : input;
    // No EXIF auto-rotation: pixels as stored, like PIL's Image.open.
    const { data, info } = await sharp(bytes, { failOn: 'truncated' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { data: toRgb(out, info.height, info.width, info.channels), height: info.height, width: info.width };
  } catch (err) {
    if (isSmnError(err) && err.code === DatasetErrorCode.NotRegular) {
      throw new SmnError(err.code, `cannot decode image ${name}: ${err.message}`, { cause: err, details: err.details });
    }
    throw new SmnError(
      DatasetErrorCode.Decode,
      `cannot decode image ${name}: expected a readable JPEG/PNG/WebP image, got: ${(err as Error).message}. Replace or remove the file.`,
      { cause: err, details: { file: typeof input === 'string' ? input : undefined } },
    );
  }
}

/** Encodes an RGB image as PNG or JPEG bytes (sharp), e.g. to write previews or test fixtures. */
export async function encodeImage(img: RawImage, format: 'png' | 'jpeg' = 'png', quality = 90): Promise<Uint8Array> {
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  const b = format === 'png' ? await s.png().toBuffer() : await s.jpeg({ quality }).toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
