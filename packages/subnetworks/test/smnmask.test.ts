import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng, isSmnError } from '@smn/core';
import {
  applyMasks,
  createMaskedModel,
  decodeMasks,
  encodeMasks,
  hashParams,
  loadMasks,
  readMaskFile,
  saveMasks,
  type MaskData,
} from '../src/index.js';
import { loadReference, tinyModel } from './_tiny-model.js';

let dir: string;
beforeAll(async () => {
  await useBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'smnmask-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const randomMask = (shape: number[], seed: number, p = 0.5, sign = false): MaskData => {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = sign ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) values[i] = rng.next() < p ? 1 : sign ? -1 : 0;
  return { shape, values };
};

async function expectSmnError(p: Promise<unknown> | (() => unknown), code: string, ...parts: (string | RegExp)[]) {
  try {
    await (typeof p === 'function' ? p() : p);
    expect.unreachable(`expected ${code}`);
  } catch (e) {
    expect(isSmnError(e) ? e.code : String(e)).toBe(code);
    for (const part of parts) expect((e as Error).message).toMatch(part);
  }
}

describe('.smnmask files', () => {
  it('round-trips 0/1 tensor masks with the base hash; 1 bit per weight, LSB first', async () => {
    const model = tinyModel(loadReference());
    const masked = createMaskedModel(model, { select: (n) => (n.endsWith('weight') ? 'mask' : 'freeze'), scoresInit: { kind: 'normal', mean: 0, std: 1 } });
    const masks = masked.masks();
    const path = join(dir, 'tiny.smnmask');
    const { bytes, header } = await saveMasks(path, masks, { baseParams: model.params, mode: 'threshold', k: 0 });
    const total = 162 + 432 + 40;
    const file = await readFile(path);
    expect(file.length).toBe(bytes);
    const hlen = file.readUInt32LE(12);
    expect(bytes).toBe(16 + hlen + Math.ceil(total / 8));
    expect(header).toMatchObject({
      format: 'smnmask',
      version: 1,
      encoding: 'binary',
      bitOrder: 'lsb-first',
      mode: 'threshold',
      k: 0,
      compression: 'none',
      packedBytes: Math.ceil(total / 8),
      tensors: [
        { name: 'conv1.weight', shape: [3, 3, 3, 6] },
        { name: 'conv2.weight', shape: [3, 3, 6, 8] },
        { name: 'fc.weight', shape: [8, 5] },
      ],
    });
    expect(header.baseHash).toBe(await hashParams(model.params, ['conv1.weight', 'conv2.weight', 'fc.weight']));
    // Bit i of the stream is bit (i mod 8) of byte ⌊i/8⌋, tensors in header order, row-major.
    const stream = [...masks.values()].flatMap((m) => Array.from(m.dataSync()));
    const payload = file.subarray(16 + hlen);
    stream.forEach((v, i) => expect((payload[i >> 3]! >> (i & 7)) & 1).toBe(v));

    const loaded = await loadMasks(path, { baseParams: model.params });
    expect([...loaded.keys()]).toEqual([...masks.keys()]);
    for (const [name, m] of masks) expect(Array.from(loaded.get(name)!.dataSync()), name).toEqual(Array.from(m.dataSync()));

    // applyMasks on the loaded masks gives the masked model's effective weights.
    const eff = applyMasks(model.params, loaded);
    const ref = masked.effectiveParams();
    for (const [name, t] of ref) expect(Array.from(eff.get(name)!.dataSync()), name).toEqual(Array.from(t.dataSync()));
    tf.dispose([...masks.values(), ...loaded.values(), ...eff.values(), ...ref.values()]);
    masked.dispose();
    model.params.forEach((t) => t.dispose());
  });

  it('stores flip (±1) masks as sign bits', async () => {
    const m = new Map<string, tf.Tensor | MaskData>([
      ['a', tf.tensor([1, -1, -1, 1, 1], [5])],
      ['b', randomMask([3, 4], 2, 0.3, true)],
    ]);
    const path = join(dir, 'flip.smnmask');
    const { header } = await saveMasks(path, m, { mode: 'flip', k: 0 });
    expect(header.encoding).toBe('sign');
    const back = await loadMasks(path);
    expect(Array.from(back.get('a')!.dataSync())).toEqual([1, -1, -1, 1, 1]);
    expect(Array.from(back.get('b')!.dataSync())).toEqual(Array.from((m.get('b') as MaskData).values));
    // Sign encoding is inferred from negative values too.
    expect((await encodeMasks(new Map([['a', m.get('a')!]]))).header.encoding).toBe('sign');
    tf.dispose([m.get('a') as tf.Tensor, ...back.values()]);
  });

  it('compresses the payload with gzip or brotli and reads it back', async () => {
    // Masks of a trained model are mostly on (scores start at 1 and few cross 0): p(on) = 0.95.
    const m = new Map([['w', randomMask([64, 1000], 4, 0.95)]]);
    const plain = await encodeMasks(m);
    for (const how of [true, 'gzip', 'brotli'] as const) {
      const { bytes, header } = await encodeMasks(m, { compress: how });
      expect(header.compression).toBe(how === true ? 'gzip' : how);
      expect(bytes.length).toBeLessThan(0.5 * plain.bytes.length);
      const back = decodeMasks(bytes, 'mem');
      expect(Buffer.compare(Buffer.from(back.masks.get('w')!.values), Buffer.from(m.get('w')!.values))).toBe(0);
    }
  });

  it('refuses masks made for other base weights, naming both hashes', async () => {
    const base = new Map([['w', tf.tensor([[1, 2], [3, 4]])]]);
    const path = join(dir, 'base.smnmask');
    await saveMasks(path, new Map([['w', { shape: [2, 2], values: Uint8Array.from([1, 0, 0, 1]) }]]), { baseParams: base });
    const other = new Map([['w', tf.tensor([[1, 2], [3, 5]])]]);
    const want = await hashParams(base);
    const found = await hashParams(other);
    expect(found).not.toBe(want);
    await expectSmnError(loadMasks(path, { baseParams: other }), 'SMN_MASK_BASE_MISMATCH', path, want, found);
    const wrongShape = new Map([['w', tf.zeros([4])]]);
    await expectSmnError(loadMasks(path, { baseParams: wrongShape }), 'SMN_MASK_MISMATCH', /mask "w" has shape \[2,2\] but the base weight has shape \[4\]/);
    await expectSmnError(loadMasks(path, { baseParams: new Map() }), 'SMN_MASK_MISMATCH', /"w" has no weight of that name/);
    tf.dispose([...base.values(), ...other.values(), ...wrongShape.values()]);
  });

  it('refuses truncated, corrupt and foreign files, naming the file and expected vs found', async () => {
    const { bytes } = await encodeMasks(new Map([['w', randomMask([40, 40], 5)]]));
    const write = async (name: string, b: Uint8Array) => {
      const p = join(dir, name);
      await writeFile(p, b);
      return p;
    };
    const hlen = Buffer.from(bytes).readUInt32LE(12);
    const cut = await write('cut.smnmask', bytes.subarray(0, bytes.length - 10));
    await expectSmnError(loadMasks(cut), 'SMN_MASK_FILE_TRUNCATED', cut, `expected a payload of 200 bytes after the header, found 190`);
    const cutHeader = await write('cuthead.smnmask', bytes.subarray(0, 30));
    await expectSmnError(loadMasks(cutHeader), 'SMN_MASK_FILE_TRUNCATED', `the header is ${hlen} bytes but only 14 follow`);
    await expectSmnError(loadMasks(await write('tiny.smnmask', bytes.subarray(0, 9))), 'SMN_MASK_FILE_TRUNCATED', /file is 9 bytes/);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 3]! ^= 0x10;
    const bad = await write('bad.smnmask', flipped);
    await expectSmnError(loadMasks(bad), 'SMN_MASK_FILE_CORRUPT', bad, /payload checksum expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64}/);
    const npy = await write('x.npy', Uint8Array.from([0x93, ...Buffer.from('NUMPY\x01\x00v\x00{}', 'latin1'), 0, 0, 0, 0, 0, 0]));
    await expectSmnError(readMaskFile(npy), 'SMN_MASK_FILE_INVALID', npy, /expected magic 89534d4e4d41534b, found 934e554d5059/);
    await expectSmnError(readMaskFile(join(dir, 'missing.smnmask')), 'SMN_MASK_FILE_INVALID', /cannot read mask file .*missing.smnmask/);
    const v2 = Uint8Array.from(bytes);
    v2[8] = 2;
    await expectSmnError(() => decodeMasks(v2, 'v2.smnmask'), 'SMN_MASK_FILE_INVALID', 'v2.smnmask: format version 2 is not supported');
  });

  it('refuses values that are not 0/1 (or ±1), naming tensor and index', async () => {
    await expectSmnError(
      encodeMasks(new Map([['layer1.0.conv1.weight', { shape: [3], values: Float32Array.from([1, 0.5, 0]) }]])),
      'SMN_MASK_VALUES',
      'mask "layer1.0.conv1.weight" has value 0.5 at flat index 1; expected 0 or 1',
    );
    await expectSmnError(
      encodeMasks(new Map([['w', { shape: [2], values: Float32Array.from([1, -1]) }]]), { mode: 'topk' }),
      'SMN_MASK_VALUES',
      /negative values but mode is 'topk'/,
    );
    await expectSmnError(encodeMasks(new Map([['w', { shape: [2, 2], values: new Uint8Array(3) }]])), 'SMN_MASK_MISMATCH', /has 3 values but its shape \[2,2\] needs 4/);
  });

  it('a ResNet-50-sized map (23,462,592 masked weights) is ≥ 31.9x smaller than float32', async () => {
    // torchvision ResNet-50's 53 conv weights in HWIO (23,454,912 entries) plus a [768,10] head: 23,462,592.
    const shapes: [string, number[]][] = [['conv1.weight', [7, 7, 3, 64]]];
    let cin = 64;
    [3, 4, 6, 3].forEach((blocks, li) => {
      const width = 64 * 2 ** li;
      for (let b = 0; b < blocks; b++) {
        const p = `layer${li + 1}.${b}`;
        shapes.push([`${p}.conv1.weight`, [1, 1, cin, width]], [`${p}.conv2.weight`, [3, 3, width, width]], [`${p}.conv3.weight`, [1, 1, width, width * 4]]);
        if (b === 0) shapes.push([`${p}.downsample.0.weight`, [1, 1, cin, width * 4]]);
        cin = width * 4;
      }
    });
    shapes.push(['head.weight', [768, 10]]);
    const total = shapes.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(shapes.length).toBe(54);
    expect(total).toBe(23_462_592);
    // Cheap pseudo-random 0/1 values (xorshift32, ~90% on): no tensors needed for 23 M entries.
    let state = 2463534242;
    const masks = new Map(
      shapes.map(([name, shape]) => {
        const values = new Uint8Array(shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < values.length; i++) {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          values[i] = (state >>> 0) % 10 === 0 ? 0 : 1;
        }
        return [name, { shape, values } as MaskData] as const;
      }),
    );
    const path = join(dir, 'rn50.smnmask');
    const { bytes } = await saveMasks(path, masks, { mode: 'threshold', k: 0 });
    const ratio = (total * 4) / bytes;
    expect(ratio).toBeGreaterThanOrEqual(31.9);
    const back = await readMaskFile(path);
    for (const [name, m] of masks) expect(Buffer.compare(Buffer.from(back.masks.get(name)!.values), Buffer.from(m.values)), name).toBe(0);
  }, 60_000);
});
