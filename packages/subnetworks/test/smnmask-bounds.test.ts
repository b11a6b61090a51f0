// A .smnmask header says how many mask bits follow; decoding allocates no more than that. A 1 MB gzip payload that
// inflated to 3.3 GB before it was refused now stops within one streaming step of the header's size.
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { DEFLATE_MAX_RATIO } from '@smn/core';
import { decodeMasks, encodeMasks, loadMasks, MAX_MASK_ENTRIES, type SmnmaskHeader } from '../src/index.js';
import { caught } from '../../core/test/_smn-error.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const MiB = 1 << 20;
const STEP_MAX = 4096 * DEFLATE_MAX_RATIO + 32 * 1024;

/** A .smnmask with the header changed by `edit` and `payload` (default: the original) after it; checksums recomputed. */
function rebuild(bytes: Uint8Array, edit: (h: SmnmaskHeader) => void, payload?: Uint8Array): Uint8Array {
  const hlen = Buffer.from(bytes).readUInt32LE(12);
  const header = JSON.parse(Buffer.from(bytes.subarray(16, 16 + hlen)).toString()) as SmnmaskHeader;
  const body = payload ?? bytes.subarray(16 + hlen);
  header.payloadBytes = body.length;
  header.payloadSha256 = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const pre = Buffer.from(bytes.subarray(0, 16));
  pre.writeUInt32LE(json.length, 12);
  return new Uint8Array(Buffer.concat([pre, json, body]));
}

const masks = () => new Map([['w', { shape: [8, 10], values: new Uint8Array(80).fill(1) }]]); // 10 packed bytes

describe('.smnmask decoding is bounded by its header', () => {
  it('a gzip bomb (256 MiB of zeros for a header needing 10 bytes) stops within one step: SMN_MASK_FILE_TOO_LARGE', async () => {
    const { bytes } = await encodeMasks(masks(), { compress: 'gzip' });
    const bomb = rebuild(bytes, () => undefined, gzipSync(new Uint8Array(256 * MiB), { level: 9 }));
    expect(bomb.length).toBeLessThan(MiB);
    const err = caught(() => decodeMasks(bomb, 'bomb.smnmask'));
    expect(err.code).toBe('SMN_MASK_FILE_TOO_LARGE');
    expect(err.message).toMatch(/^bomb\.smnmask: the gzip payload inflates past the 10 bytes the header's tensors need \(stopped after \d+\)/);
    const { limit, inflated } = err.details as { limit: number; inflated: number };
    expect(limit).toBe(10);
    // Peak memory: the decoder gave up after at most one 4 KiB input step (~4 MB of output), not 256 MiB.
    expect(inflated).toBeLessThanOrEqual(10 + STEP_MAX);
  });

  it('a brotli bomb stops at the header size too (zlib maxOutputLength)', async () => {
    const { bytes } = await encodeMasks(masks(), { compress: 'brotli' });
    const payload = brotliCompressSync(new Uint8Array(64 * MiB), { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
    const err = caught(() => decodeMasks(rebuild(bytes, () => undefined, payload), 'b.smnmask'));
    expect(err.code).toBe('SMN_MASK_FILE_TOO_LARGE');
    expect(err.message).toContain('the brotli payload inflates past the 10 bytes');
    expect(err.details).toMatchObject({ file: 'b.smnmask', limit: 10 });
  });

  it('a header declaring more entries than maxEntries is refused before anything is decompressed', async () => {
    const { bytes } = await encodeMasks(masks(), { compress: 'gzip' });
    const huge = rebuild(bytes, (h) => {
      h.tensors = [{ name: 'w', shape: [2 ** 20, 2 ** 20] }];
      h.packedBytes = 2 ** 37;
    });
    const err = caught(() => decodeMasks(huge, 'huge.smnmask'));
    expect(err.code).toBe('SMN_MASK_FILE_TOO_LARGE');
    expect(err.message).toContain(`the header declares ${2 ** 40} mask entries in 1 tensors, more than the ${MAX_MASK_ENTRIES} this reader accepts`);
    expect(caught(() => decodeMasks(bytes, 'small.smnmask', { maxEntries: 79 })).details).toMatchObject({ declared: 80, limit: 79 });
    expect(decodeMasks(bytes, 'ok.smnmask', { maxEntries: 80 }).masks.get('w')!.values.length).toBe(80);
  });

  it('packedBytes that disagree with the tensors are refused before decompressing', async () => {
    const { bytes } = await encodeMasks(masks(), { compress: 'gzip' });
    const err = caught(() => decodeMasks(rebuild(bytes, (h) => (h.packedBytes = 1 << 30)), 'p.smnmask'));
    expect(err.code).toBe('SMN_MASK_FILE_CORRUPT');
    expect(err.message).toBe("p.smnmask: corrupt: the header's 1 tensors need 10 packed bytes but it says packedBytes 1073741824");
  });

  it('loadMasks with baseParams checks names and shapes from the header, before the payload (a bomb is never inflated)', async () => {
    const { bytes } = await encodeMasks(masks(), { compress: 'gzip' });
    const dir = await mkdtemp(join(tmpdir(), 'smnmask-bounds-'));
    const file = join(dir, 'bomb.smnmask');
    await writeFile(file, rebuild(bytes, () => undefined, gzipSync(new Uint8Array(64 * MiB))));
    const base = new Map([['w', tf.zeros([4, 4])]]);
    await expect(loadMasks(file, { baseParams: base })).rejects.toMatchObject({ code: 'SMN_MASK_MISMATCH' });
    await expect(loadMasks(file)).rejects.toMatchObject({ code: 'SMN_MASK_FILE_TOO_LARGE', details: { limit: 10 } });
    tf.dispose([...base.values()]);
  });
});
