// Compression and hashing for .smnmask files that run in browsers as well as on Node, with no static import of a
// Node built-in (the browser entry must bundle without them). Node's own zlib and crypto are reached through
// `process.getBuiltinModule` (Node >= 20.16), which bundlers do not follow.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { gzipSync as fflateGzip } from 'fflate';
import { CoreErrorCode, SmnError, inflateLimited } from '@smn/core';
import { SubnetErrorCode } from './errors.js';

/** The part of `node:zlib` used here (typed locally: this file must not need Node's types). */
export interface NodeZlib {
  gzipSync(data: Uint8Array, opts: { level: number }): Uint8Array;
  brotliCompressSync(data: Uint8Array, opts: { params: Record<number, number> }): Uint8Array;
  /** `maxOutputLength`: zlib stops and throws `ERR_BUFFER_TOO_LARGE` once the output would pass it. */
  brotliDecompressSync(data: Uint8Array, opts?: { maxOutputLength?: number }): Uint8Array;
  constants: Record<string, number>;
}

/** The part of `node:crypto` used here. */
export interface NodeCrypto {
  createHash(algorithm: 'sha256'): { update(data: Uint8Array): unknown; digest(encoding: 'hex'): string };
}

function nodeBuiltin<T>(id: string): T | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return (proc?.getBuiltinModule?.(id) as T | undefined) ?? null;
}

/** `node:zlib` on Node (and runtimes that mimic its `process.getBuiltinModule`), null in browsers. */
export const nodeZlib = (): NodeZlib | null => nodeBuiltin<NodeZlib>('node:zlib');
/** `node:crypto` on Node, null in browsers. */
export const nodeCrypto = (): NodeCrypto | null => nodeBuiltin<NodeCrypto>('node:crypto');

/**
 * gzip at level 9. With Node's zlib the bytes are those smn has always written; fflate's deflater picks other
 * matches (1007 vs 949 bytes on a 64k-entry mask), so it is used only where zlib is absent. Both are standard
 * gzip that {@link gunzip} and every other reader decode to the same bytes.
 */
export function gzip(data: Uint8Array, zlib: NodeZlib | null = nodeZlib()): Uint8Array {
  if (zlib) return new Uint8Array(zlib.gzipSync(data, { level: 9 }));
  // mtime 0 as zlib writes it: fflate would stamp the current time, and the same masks would hash differently.
  return fflateGzip(data, { level: 9, mtime: 0 });
}

/**
 * Decompresses gzip made by either side of {@link gzip} (or any gzip writer), stopping once the output passes
 * `maxBytes` (`SMN_INFLATE_LIMIT` from @smn/core, `details: { limit, inflated }`): the header of a .smnmask says how
 * many bytes its masks need, so a small payload that inflates to gigabytes is refused at that size.
 */
export function gunzip(data: Uint8Array, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  return inflateLimited(data, 'gzip', maxBytes);
}

function brotliUnavailable(message: string, kind: 'usage' | 'runtime', details: Record<string, unknown> = {}): SmnError {
  return new SmnError(SubnetErrorCode.BrotliUnavailable, message, { kind, details });
}

/** Brotli quality 9, generic mode: Node's zlib only (no pure-JS brotli encoder is small and audited). */
export function brotliCompress(data: Uint8Array, zlib: NodeZlib | null = nodeZlib()): Uint8Array {
  if (!zlib) {
    throw brotliUnavailable(
      "brotli compression is not available on this platform (it needs Node's zlib, Node >= 20.16); save the masks with compress: 'gzip' (or true) instead",
      'usage',
    );
  }
  const c = zlib.constants;
  const params = { [c.BROTLI_PARAM_QUALITY!]: 9, [c.BROTLI_PARAM_SIZE_HINT!]: data.length, [c.BROTLI_PARAM_MODE!]: c.BROTLI_MODE_GENERIC! };
  return new Uint8Array(zlib.brotliCompressSync(data, { params }));
}

/**
 * Decompresses brotli with Node's zlib, stopping once the output passes `maxBytes` (zlib's `maxOutputLength`: it
 * throws `SMN_INFLATE_LIMIT` as {@link gunzip} does); elsewhere throws `SMN_MASK_BROTLI_UNAVAILABLE` naming `source`.
 */
export function brotliDecompress(data: Uint8Array, source: string, zlib: NodeZlib | null = nodeZlib(), maxBytes?: number): Uint8Array {
  if (!zlib) {
    throw brotliUnavailable(
      `${source}: the payload is brotli-compressed, and brotli is not available on this platform (it needs Node's zlib, ` +
        "Node >= 20.16); read the file on Node, or save the masks again there with compress: 'gzip'",
      'runtime',
      { file: source },
    );
  }
  if (maxBytes === undefined) return new Uint8Array(zlib.brotliDecompressSync(data));
  try {
    return new Uint8Array(zlib.brotliDecompressSync(data, { maxOutputLength: Math.max(1, maxBytes) }));
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
    throw new SmnError(CoreErrorCode.InflateLimit, `the brotli data inflates past ${maxBytes} bytes`, { cause: err, details: { limit: maxBytes } });
  }
}

/** An incremental sha256. */
export interface Sha256 {
  update(data: Uint8Array): Sha256;
  /** Lower-case hex digest; the hash cannot be updated afterwards. */
  hex(): string;
}

/**
 * sha256 through Node's crypto where present, else @noble/hashes; the digests are the same. Node's is native and
 * ~17x faster on 100 MB, the size `hashParams` feeds it for a ResNet-50 on every save and load.
 */
export function createSha256(crypto: NodeCrypto | null = nodeCrypto()): Sha256 {
  if (crypto) {
    const h = crypto.createHash('sha256');
    return hasher((d) => h.update(d), () => h.digest('hex'));
  }
  const h = nobleSha256.create();
  return hasher((d) => h.update(d), () => bytesToHex(h.digest()));
}

function hasher(update: (data: Uint8Array) => unknown, hex: () => string): Sha256 {
  const out: Sha256 = {
    update(data) {
      update(data);
      return out;
    },
    hex,
  };
  return out;
}
