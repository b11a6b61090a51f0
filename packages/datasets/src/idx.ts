/** MNIST-format IDX files (plain or gzipped): `idx3-ubyte` images and `idx1-ubyte` labels. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { SmnError } from '@smn/core';
import { DATASET_ERRORS } from './errors.js';

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Reads a file, gunzipping it when it starts with the gzip magic. Errors name the file. */
export function readMaybeGzip(file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw new SmnError(DATASET_ERRORS.NOT_FOUND, `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
    });
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const u = gunzipSync(raw);
      return new Uint8Array(u.buffer, u.byteOffset, u.byteLength);
    } catch (err) {
      throw new SmnError(
        DATASET_ERRORS.TRUNCATED,
        `${file} is a gzip file that does not decompress (${(err as Error).message}); expected a complete .gz file. Download it again.`,
        { cause: err, details: { file } },
      );
    }
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Parses IDX bytes: magic `00 00 08 ndim`, then ndim big-endian uint32 sizes, then the bytes.
 * Only the unsigned-byte type (0x08) is supported, which is what MNIST and Fashion-MNIST use.
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) {
    throw new SmnError(DATASET_ERRORS.TRUNCATED, `${file}: IDX file has ${bytes.length} bytes, expected at least a 4-byte header`, {
      details: { file },
    });
  }
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new SmnError(
      DATASET_ERRORS.CORRUPT,
      `${file}: not an unsigned-byte IDX file: expected magic 00 00 08 <ndim>, found ${magic}`,
      { details: { file, found: magic } },
    );
  }
  const ndim = bytes[3]!;
  const head = 4 + 4 * ndim;
  if (ndim < 1 || ndim > 4 || bytes.length < head) {
    throw new SmnError(DATASET_ERRORS.CORRUPT, `${file}: IDX header says ${ndim} dimensions; expected 1–4 with ${head} header bytes, file has ${bytes.length}`, {
      details: { file },
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - head < size) {
    throw new SmnError(
      DATASET_ERRORS.TRUNCATED,
      `${file}: IDX data is truncated: header dims [${dims.join(',')}] need ${size} bytes after the header, found ${bytes.length - head}`,
      { details: { file, expected: size, found: bytes.length - head } },
    );
  }
  return { dims, data: bytes.subarray(head, head + size) };
}

/** Reads one IDX file (plain or .gz). */
export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), file);
}
