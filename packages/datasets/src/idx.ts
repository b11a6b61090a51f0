/** MNIST-format IDX files (plain or gzipped): `idx3-ubyte` images and `idx1-ubyte` labels. */
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { SmnError } from '@smn/core';
import { DatasetErrorCode } from './errors.js';
import { readRegularFileSync } from './_regular-file.js';

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Deflate expands at most ~1032:1 (RFC 1951: 258-byte matches from 2-bit codes); more means a broken stream. */
const DEFLATE_MAX_RATIO = 1032;

/**
 * The size an IDX file's own header states (4 + 4·ndim header bytes + the product of the dims), read from the
 * first inflated bytes only; undefined when those bytes do not hold an IDX header (the full parse then says why).
 */
function statedIdxSize(raw: Uint8Array): number | undefined {
  let head: Uint8Array;
  try {
    // 4 KiB of gzip inflate to at most ~4 MiB: enough for the gzip header (with a file name) and the IDX header.
    head = gunzipSync(raw.subarray(0, 4096), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return undefined;
  }
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08) return undefined;
  const ndim = head[3]!;
  if (ndim < 1 || ndim > 4 || head.length < 4 + 4 * ndim) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let size = 4 + 4 * ndim;
  let data = 1;
  for (let i = 0; i < ndim; i++) data *= dv.getUint32(4 + 4 * i, false);
  size += data;
  return Number.isSafeInteger(size) ? size : undefined;
}

/**
 * Gunzips an IDX file with a ceiling on its output: the size its header states (else the most deflate can expand
 * the file), so a small file that inflates to gigabytes (a gzip bomb) is refused after the ceiling, not after it
 * has filled memory.
 */
function gunzipIdx(raw: Uint8Array, file: string): Uint8Array {
  const stated = statedIdxSize(raw);
  const limit = stated ?? raw.length * DEFLATE_MAX_RATIO + 4096;
  try {
    const u = gunzipSync(raw, { maxOutputLength: limit });
    return new Uint8Array(u.buffer, u.byteOffset, u.byteLength);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new SmnError(
        DatasetErrorCode.TooLarge,
        `${file} inflates past ${limit} bytes, ${stated !== undefined ? 'the size its IDX header states' : 'the most a gzip file of its size can hold'}; ` +
          'decompression was stopped there. The file is damaged or not an IDX file: download it again.',
        { cause: err, details: { file, limit, compressed: raw.length } },
      );
    }
    throw new SmnError(
      DatasetErrorCode.Truncated,
      `${file} is a gzip file that does not decompress (${(err as Error).message}); expected a complete .gz file. Download it again.`,
      { cause: err, details: { file } },
    );
  }
}

/** Reads a regular file, gunzipping it (with a ceiling) when it starts with the gzip magic. Errors name the file. */
export function readMaybeGzip(file: string): Uint8Array {
  // A dataset file the user named: a FIFO or device is a named error (SMN_DATA_NOT_REGULAR), never a blocking read.
  const raw = readRegularFileSync(file, 'an IDX file');
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) return gunzipIdx(raw, file);
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Parses IDX bytes: magic `00 00 08 ndim`, then ndim big-endian uint32 sizes, then the bytes.
 * Only the unsigned-byte type (0x08) is supported, which is what MNIST and Fashion-MNIST use.
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) {
    throw new SmnError(DatasetErrorCode.Truncated, `${file}: IDX file has ${bytes.length} bytes, expected at least a 4-byte header`, {
      details: { file },
    });
  }
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new SmnError(
      DatasetErrorCode.Corrupt,
      `${file}: not an unsigned-byte IDX file: expected magic 00 00 08 <ndim>, found ${magic}`,
      { details: { file, found: magic } },
    );
  }
  const ndim = bytes[3]!;
  const head = 4 + 4 * ndim;
  if (ndim < 1 || ndim > 4 || bytes.length < head) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${file}: IDX header says ${ndim} dimensions; expected 1–4 with ${head} header bytes, file has ${bytes.length}`, {
      details: { file },
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - head < size) {
    throw new SmnError(
      DatasetErrorCode.Truncated,
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
