import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createRng, isSmnError } from '@smn/core';
import { brotliCompress, brotliDecompress, createSha256, gunzip, gzip, nodeCrypto, nodeZlib } from '../src/_codecs.js';
import { decodeMasks, encodeMasks } from '../src/index.js';

// The .smnmask codecs on both of their paths: Node's own zlib/crypto (reached through process.getBuiltinModule) and
// the pure-JS fallbacks used where they are absent (null below), checked against node:zlib and node:crypto.

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Mask-like bytes: 8 bits per byte, each on with probability p (p = 0.95 is a trained mask). */
function maskBytes(n: number, seed: number, p = 0.95): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) for (let k = 0; k < 8; k++) if (rng.next() < p) out[i]! |= 1 << k;
  return out;
}

function codeOf(fn: () => unknown): { code?: string; kind?: string; message?: string } {
  try {
    fn();
  } catch (e) {
    return isSmnError(e) ? { code: e.code, kind: e.kind, message: e.message } : { message: String(e) };
  }
  return {};
}

describe('.smnmask codecs', () => {
  it('finds the zlib and crypto of Node on Node', () => {
    expect(nodeZlib()).toBe(zlib);
    expect(nodeCrypto()).not.toBeNull();
  });

  it('gzip on Node gives the level-9 bytes of node:zlib, so .smnmask files are unchanged', () => {
    for (const [n, seed] of [[0, 1], [1, 2], [8000, 3], [100_000, 4]] as const) {
      const data = maskBytes(n, seed);
      expect(same(gzip(data), zlib.gzipSync(data, { level: 9 })), `${n} bytes`).toBe(true);
    }
  });

  it('gzip without Node (fflate) is standard gzip: node:zlib and gunzip read it back, and gunzip reads zlib output', () => {
    for (const [n, seed, p] of [[0, 1, 0.5], [1, 2, 0.5], [8000, 3, 0.95], [100_000, 4, 0.5]] as const) {
      const data = maskBytes(n, seed, p);
      const fromFflate = gzip(data, null);
      expect(Array.from(fromFflate.subarray(0, 10)), 'header: no timestamp, level 9, Unix').toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
      expect(same(gzip(data, null), fromFflate), 'deterministic').toBe(true);
      expect(same(zlib.gunzipSync(fromFflate), data)).toBe(true);
      expect(same(gunzip(fromFflate), data)).toBe(true);
      expect(same(gunzip(zlib.gzipSync(data, { level: 9 })), data)).toBe(true);
    }
  });

  it('sha256 on both paths equals node:crypto, whole and in chunks', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1_000_003]) {
      const data = maskBytes(n, n + 7, 0.5);
      const want = createHash('sha256').update(data).digest('hex');
      expect(createSha256().update(data).hex(), `${n} bytes, node`).toBe(want);
      expect(createSha256(null).update(data).hex(), `${n} bytes, noble`).toBe(want);
      const chunked = createSha256(null);
      for (let i = 0; i < n; i += 4097) chunked.update(data.subarray(i, i + 4097));
      expect(chunked.hex(), `${n} bytes, noble in chunks`).toBe(want);
    }
  });

  it('brotli on Node gives the bytes of node:zlib (quality 9, generic mode)', () => {
    const data = maskBytes(8000, 5);
    const c = zlib.constants;
    const want = zlib.brotliCompressSync(data, {
      params: { [c.BROTLI_PARAM_QUALITY]: 9, [c.BROTLI_PARAM_SIZE_HINT]: data.length, [c.BROTLI_PARAM_MODE]: c.BROTLI_MODE_GENERIC },
    });
    expect(same(brotliCompress(data), want)).toBe(true);
    expect(same(brotliDecompress(want, 'm.smnmask'), data)).toBe(true);
  });

  it('brotli without Node is SMN_MASK_BROTLI_UNAVAILABLE, saying to use gzip', () => {
    const data = maskBytes(100, 6);
    expect(codeOf(() => brotliCompress(data, null))).toEqual({
      code: 'SMN_MASK_BROTLI_UNAVAILABLE',
      kind: 'usage',
      message:
        "brotli compression is not available on this platform (it needs Node's zlib, Node >= 20.16); save the masks with compress: 'gzip' (or true) instead",
    });
    const read = codeOf(() => brotliDecompress(zlib.brotliCompressSync(data), 'masks.smnmask', null));
    expect(read.code).toBe('SMN_MASK_BROTLI_UNAVAILABLE');
    expect(read.kind).toBe('runtime');
    expect(read.message).toMatch(/^masks\.smnmask: the payload is brotli-compressed, and brotli is not available on this platform/);
    expect(read.message).toContain("compress: 'gzip'");
  });

  it('a gzip .smnmask carries the payload node:zlib makes of the packed bits', async () => {
    const values = new Uint8Array(64_000).map((_, i) => ((i * 2654435761) >>> 0) % 20 === 0 ? 0 : 1);
    const masks = new Map([['w', { shape: [64, 1000], values }]]);
    const plain = await encodeMasks(masks);
    const zipped = await encodeMasks(masks, { compress: 'gzip' });
    const packed = plain.bytes.subarray(plain.bytes.length - plain.header.payloadBytes);
    const payload = zipped.bytes.subarray(zipped.bytes.length - zipped.header.payloadBytes);
    expect(same(payload, zlib.gzipSync(packed, { level: 9 }))).toBe(true);
    expect(zipped.header.payloadSha256).toBe(`sha256:${createHash('sha256').update(payload).digest('hex')}`);
    expect(Array.from(decodeMasks(zipped.bytes).masks.get('w')!.values)).toEqual(Array.from(values));
  });
});
