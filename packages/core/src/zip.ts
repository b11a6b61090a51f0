// fflate, not node:zlib: the same inflated bytes (DEFLATE decoding is exact) on Node and in browsers.
import { inflateSync } from 'fflate';
import { SmnError } from './errors.js';

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
 * `SMN_ZIP_UNSUPPORTED`) name `source`.
 */
export function readZip(buf: Uint8Array, source = '<buffer>'): Map<string, ZipEntry> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (what: string): never => {
    throw new SmnError('SMN_ZIP_INVALID', `${source}: not a valid zip archive: ${what}`, { details: { file: source } });
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
  const dec = new TextDecoder();
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (p + 46 > n || dv.getUint32(p, true) !== 0x02014b50) bad(`central directory entry ${e} is damaged`);
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    const name = dec.decode(buf.subarray(p + 46, p + 46 + nameLen));
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
    p = qEnd + commentLen;
    if (flags & 1) {
      throw new SmnError('SMN_ZIP_UNSUPPORTED', `${source}: entry '${name}' is encrypted`, { details: { file: source, entry: name } });
    }
    if (local + 30 > n || dv.getUint32(local, true) !== 0x04034b50) bad(`local header of '${name}' is missing`);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + csize > n) {
      bad(`entry '${name}' needs ${csize} bytes at offset ${start} but the file ends at ${n} (truncated?)`);
    }
    const entry: ZipEntry = {
      name,
      size: usize,
      compressedSize: csize,
      method,
      read(): Uint8Array {
        const raw = buf.subarray(start, start + csize);
        if (method === 0) return raw;
        if (method === 8) {
          let out: Uint8Array;
          try {
            out = inflateSync(raw);
          } catch (err) {
            throw new SmnError('SMN_ZIP_INVALID', `${source}: entry '${name}' does not inflate: ${(err as Error).message}`, {
              cause: err,
              details: { file: source, entry: name },
            });
          }
          if (out.length !== usize) bad(`entry '${name}' inflates to ${out.length} bytes, the directory says ${usize}`);
          return out;
        }
        throw new SmnError('SMN_ZIP_UNSUPPORTED', `${source}: entry '${name}' uses compression method ${method} (only stored and deflated are supported)`, {
          details: { file: source, entry: name },
        });
      },
    };
    entries.set(name, entry);
  }
  return entries;
}
