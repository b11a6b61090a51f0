// fflate, not node:zlib: the same inflated bytes (DEFLATE decoding is exact) on Node and in browsers.
import { Gunzip, Inflate } from 'fflate';
import { CoreErrorCode, SmnError } from './errors.js';

/**
 * The most DEFLATE can expand: a 258-byte match coded in 2 bits is 1032:1 (RFC 1951), plus block overhead. A zip
 * entry that states more uncompressed bytes than its compressed size allows is refused before anything inflates.
 */
export const DEFLATE_MAX_RATIO = 1032;

/** Input bytes per streaming step: each step inflates to at most ~4 MiB, so a bomb is caught within that of the limit. */
const INFLATE_STEP = 4096;

/**
 * Inflates raw DEFLATE (`'deflate-raw'`, zip entries) or gzip (`'gzip'`) data, stopping as soon as the output passes
 * `limit` bytes: a small input that would inflate to gigabytes (a zip or gzip bomb) costs at most `limit` plus one
 * step (~4 MiB) of memory. Past the limit it throws `SMN_INFLATE_LIMIT` with `details: { limit, inflated }`
 * (`inflated`: the bytes produced when it stopped); callers rethrow it under their own code naming the file. A
 * damaged stream throws fflate's error.
 */
export function inflateLimited(data: Uint8Array, format: 'deflate-raw' | 'gzip', limit: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let inflated = 0;
  let over = false;
  const onData = (chunk: Uint8Array): void => {
    inflated += chunk.length;
    if (inflated > limit) over = true;
    else if (chunk.length) chunks.push(chunk);
  };
  const stream = format === 'gzip' ? new Gunzip(onData) : new Inflate(onData);
  if (data.length === 0) stream.push(data, true);
  for (let p = 0; p < data.length && !over; p += INFLATE_STEP) stream.push(data.subarray(p, p + INFLATE_STEP), p + INFLATE_STEP >= data.length);
  if (over) {
    throw new SmnError(CoreErrorCode.InflateLimit, `the ${format} data inflates past ${limit} bytes (stopped after ${inflated})`, { details: { limit, inflated } });
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(inflated);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** One file inside a zip archive. */
export interface ZipEntry {
  name: string;
  /** Uncompressed size in bytes. */
  size: number;
  compressedSize: number;
  /** 0 = stored, 8 = deflated. */
  method: number;
  /**
   * The entry's bytes. Stored entries are a view into the archive buffer (no copy); deflated ones are inflated on
   * each call.
   */
  read(): Uint8Array;
}

/**
 * Reads the central directory of a zip archive held in memory (stored and deflated entries, ZIP64 sizes and offsets;
 * no encryption, no multi-disk). Returns entries by name, in archive order. Errors (`SMN_ZIP_INVALID`,
 * `SMN_ZIP_UNSUPPORTED`, `SMN_ZIP_TOO_LARGE`) name `source`. Stated sizes are checked when the directory is read
 * (a deflated entry cannot state more than {@link DEFLATE_MAX_RATIO}× its compressed size) and bound inflation in
 * `read()`, so a zip bomb is refused after at most its stated size, not after it has filled memory.
 */
export function readZip(buf: Uint8Array, source = '<buffer>'): Map<string, ZipEntry> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (what: string): never => {
    throw new SmnError(CoreErrorCode.ZipInvalid, `${source}: not a valid zip archive: ${what}`, { details: { file: source } });
  };
  const n = buf.length;
  if (n < 22) bad(`the file has only ${n} bytes (truncated?)`);
  // End of central directory: last occurrence of its signature within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 0xffff); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('no end-of-central-directory record (truncated or not a zip file)');
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (eocd >= 20 && dv.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64 = Number(dv.getBigUint64(eocd - 20 + 8, true));
    if (z64 + 56 > n || dv.getUint32(z64, true) !== 0x06064b50) bad('broken ZIP64 end-of-central-directory record');
    count = Number(dv.getBigUint64(z64 + 32, true));
    cdSize = Number(dv.getBigUint64(z64 + 40, true));
    cdOffset = Number(dv.getBigUint64(z64 + 48, true));
  }
  if (cdOffset + cdSize > n) bad(`the central directory (${cdSize} bytes at ${cdOffset}) lies beyond the file end ${n} (truncated?)`);
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (p + 46 > n || dv.getUint32(p, true) !== 0x02014b50) bad(`central directory entry ${e} is damaged`);
    const { name, flags, method, csize, usize, local, next } = centralEntry(buf, dv, p);
    p = next;
    if (flags & 1) {
      throw new SmnError(CoreErrorCode.ZipUnsupported, `${source}: entry '${name}' is encrypted`, { details: { file: source, entry: name } });
    }
    if (local + 30 > n || dv.getUint32(local, true) !== 0x04034b50) bad(`local header of '${name}' is missing`);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + csize > n) {
      bad(`entry '${name}' needs ${csize} bytes at offset ${start} but the file ends at ${n} (truncated?)`);
    }
    checkStatedSize(name, method, csize, usize, bad);
    entries.set(name, zipEntry({ name, method, csize, usize, raw: buf.subarray(start, start + csize), source }));
  }
  return entries;
}

/** One central directory record at `p`: name, flags, method, sizes and local header offset (ZIP64 values applied). */
function centralEntry(buf: Uint8Array, dv: DataView, p: number) {
  const flags = dv.getUint16(p + 8, true);
  const method = dv.getUint16(p + 10, true);
  let csize = dv.getUint32(p + 20, true);
  let usize = dv.getUint32(p + 24, true);
  const nameLen = dv.getUint16(p + 28, true);
  const extraLen = dv.getUint16(p + 30, true);
  const commentLen = dv.getUint16(p + 32, true);
  let local = dv.getUint32(p + 42, true);
  const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nameLen));
  // ZIP64 extended information extra field (id 1): present values replace the 0xFFFFFFFF placeholders, in order.
  let q = p + 46 + nameLen;
  const qEnd = q + extraLen;
  while (q + 4 <= qEnd) {
    const id = dv.getUint16(q, true);
    const len = dv.getUint16(q + 2, true);
    if (id === 1) {
      let r = q + 4;
      if (usize === 0xffffffff) {
        usize = Number(dv.getBigUint64(r, true));
        r += 8;
      }
      if (csize === 0xffffffff) {
        csize = Number(dv.getBigUint64(r, true));
        r += 8;
      }
      if (local === 0xffffffff) local = Number(dv.getBigUint64(r, true));
    }
    q += 4 + len;
  }
  return { name, flags, method, csize, usize, local, next: qEnd + commentLen };
}

/**
 * Refuses stated sizes no real entry has, before anything is read: a stored entry is its compressed bytes, and a
 * deflated one cannot expand more than {@link DEFLATE_MAX_RATIO}. The stated size then bounds inflation in `read`.
 */
function checkStatedSize(name: string, method: number, csize: number, usize: number, bad: (what: string) => never): void {
  if (method === 0 && usize !== csize) bad(`stored entry '${name}' states ${usize} bytes but holds ${csize}`);
  if (method === 8 && usize > csize * DEFLATE_MAX_RATIO + 1024) {
    bad(`entry '${name}' states ${usize} uncompressed bytes from ${csize} compressed: more than DEFLATE can expand (${DEFLATE_MAX_RATIO}:1)`);
  }
}

function zipEntry(e: { name: string; method: number; csize: number; usize: number; raw: Uint8Array; source: string }): ZipEntry {
  const { name, method, usize, raw, source } = e;
  const details = { file: source, entry: name };
  return {
    name,
    size: usize,
    compressedSize: e.csize,
    method,
    read(): Uint8Array {
      if (method === 0) return raw;
      if (method !== 8) {
        throw new SmnError(CoreErrorCode.ZipUnsupported, `${source}: entry '${name}' uses compression method ${method} (only stored and deflated are supported)`, {
          details,
        });
      }
      let out: Uint8Array;
      try {
        // The directory's stated size bounds the output: a bomb stops there instead of filling memory.
        out = inflateLimited(raw, 'deflate-raw', usize);
      } catch (err) {
        const d = (err as SmnError).details as { inflated?: number } | undefined;
        if ((err as SmnError).code === CoreErrorCode.InflateLimit) {
          throw new SmnError(
            CoreErrorCode.ZipTooLarge,
            `${source}: entry '${name}' inflates past the ${usize} bytes the zip directory states (stopped after ${d!.inflated}); ` +
              'the archive is damaged or built to exhaust memory (a zip bomb): do not use it',
            { cause: err, details: { ...details, limit: usize, inflated: d!.inflated } },
          );
        }
        throw new SmnError(CoreErrorCode.ZipInvalid, `${source}: entry '${name}' does not inflate: ${(err as Error).message}`, { cause: err, details });
      }
      if (out.length !== usize) {
        throw new SmnError(CoreErrorCode.ZipInvalid, `${source}: not a valid zip archive: entry '${name}' inflates to ${out.length} bytes, the directory says ${usize}`, {
          details,
        });
      }
      return out;
    },
  };
}
