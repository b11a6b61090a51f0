import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isSmnError, type SmnError } from '@smn/core';
import { createLoader, createWorkerPool, loadDataset, normalize, CLIP_NORM, type Batch, type MulticropPreset } from '../src/index.js';
import { tempDir, writeIdxPair } from './helpers.js';

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

async function smallDataset() {
  const root = tempDir();
  writeIdxPair(join(root, 'mnist'), 't10k', 23, 12, 12, true, Array.from({ length: 23 }, (_, i) => (i * 3) % 10));
  return loadDataset('mnist', { dataRoot: root, split: 'test' });
}

// Worker threads load the TypeScript sources through tsx at start-up: seconds on a busy 2-core machine.
describe('createLoader', { timeout: 120_000 }, () => {
  it('covers the epoch once with shuffled, shaped, labelled batches; order depends on (seed, epoch)', async () => {
    const ds = await smallDataset();
    const loader = createLoader(ds, { batchSize: 5, seed: 3, epoch: 0, transform: { preset: 'supervised', size: 8 } });
    expect(loader.numBatches).toBe(5);
    const batches = await collect(loader);
    expect(batches.map((b) => b.indices.length)).toEqual([5, 5, 5, 5, 3]);
    const seen = batches.flatMap((b) => Array.from(b.indices));
    expect(seen.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(seen).not.toEqual(Array.from({ length: 23 }, (_, i) => i));
    for (const b of batches) {
      if (!('images' in b)) throw new Error('expected images');
      expect(b.shape).toEqual([b.indices.length, 8, 8, 3]);
      expect(b.images.length).toBe(b.indices.length * 8 * 8 * 3);
      expect(Array.from(b.labels)).toEqual(Array.from(b.indices, (i) => ds.labels[i]!));
    }
    const e1 = (await collect(createLoader(ds, { batchSize: 5, seed: 3, epoch: 1, transform: 'eval' }))).flatMap((b) => Array.from(b.indices));
    expect(e1).not.toEqual(seen);
    const dropped = createLoader(ds, { batchSize: 5, seed: 3, dropLast: true, transform: 'eval' });
    expect(dropped.numBatches).toBe(4);
    const unshuffled = await collect(createLoader(ds, { batchSize: 10, shuffle: false, transform: { preset: 'eval', size: 12 } }));
    expect(Array.from(unshuffled[0]!.indices)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // eval at the native size is just normalisation.
    const first = unshuffled[0]!;
    if (!('images' in first)) throw new Error('expected images');
    const ref = normalize(await ds.read(0), CLIP_NORM);
    expect(Array.from(first.images.subarray(0, ref.length))).toEqual(Array.from(ref));
  });

  it('is identical with workers 0 and 2 (augmentation depends only on seed, epoch, index); startBatch resumes', async () => {
    const ds = await smallDataset();
    const opts = { batchSize: 6, seed: 11, epoch: 2, indices: Int32Array.from([0, 2, 4, 5, 7, 9, 11, 13, 15, 17, 19, 21, 22]) } as const;
    const mc: MulticropPreset = {
      preset: 'multicrop',
      crops: [
        { count: 2, size: 10, scale: [0.3, 1] },
        { count: 3, size: 4, scale: [0.05, 0.3] },
      ],
    };
    const a = await collect(createLoader(ds, { ...opts, transform: mc, workers: 0 }));
    const b = await collect(createLoader(ds, { ...opts, transform: mc, workers: 2 }));
    expect(a.length).toBe(3);
    expect(b.length).toBe(3);
    for (let k = 0; k < a.length; k++) {
      const x = a[k]!;
      const y = b[k]!;
      if (!('crops' in x) || !('crops' in y)) throw new Error('expected crops');
      expect(Array.from(y.indices)).toEqual(Array.from(x.indices));
      expect(x.crops.map((c) => c.shape)).toEqual([
        [x.indices.length, 10, 10, 3],
        [x.indices.length, 10, 10, 3],
        [x.indices.length, 4, 4, 3],
        [x.indices.length, 4, 4, 3],
        [x.indices.length, 4, 4, 3],
      ]);
      for (let c = 0; c < 5; c++) expect(Array.from(y.crops[c]!.images)).toEqual(Array.from(x.crops[c]!.images));
    }
    expect(new Set(a.flatMap((x) => Array.from(x.indices)))).toEqual(new Set(opts.indices));
    const resumed = await collect(createLoader(ds, { ...opts, transform: mc, startBatch: 1 }));
    expect(resumed.length).toBe(2);
    const r0 = resumed[0]!;
    const a1 = a[1]!;
    if (!('crops' in r0) || !('crops' in a1)) throw new Error('expected crops');
    expect(Array.from(r0.crops[3]!.images)).toEqual(Array.from(a1.crops[3]!.images));
  });

  it('a worker pool serves several epochs and gives the same batches as in-process loading', async () => {
    const ds = await smallDataset();
    const pool = createWorkerPool(2);
    try {
      await pool.ready();
      for (const epoch of [0, 1]) {
        const opts = { batchSize: 7, seed: 5, epoch, transform: { preset: 'supervised', size: 9 } } as const;
        const a = await collect(createLoader(ds, { ...opts, pool }));
        const b = await collect(createLoader(ds, opts));
        expect(a.length).toBe(4);
        for (let k = 0; k < a.length; k++) {
          const x = a[k]!;
          const y = b[k]!;
          if (!('images' in x) || !('images' in y)) throw new Error('expected images');
          expect(Array.from(x.indices)).toEqual(Array.from(y.indices));
          expect(Array.from(x.images)).toEqual(Array.from(y.images));
        }
      }
      expect(() => createLoader(ds, { batchSize: 2, transform: 'eval', pool, workers: 3 })).toThrow(/does not match the pool/);
    } finally {
      await pool.close();
    }
  });

  it('skips and counts bad samples with onBadSample (in workers too); throws without it', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'train', 'a'), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const f = join(root, 'train', 'a', `${i}.png`);
      if (i === 3) writeFileSync(f, 'broken');
      else await sharp(Buffer.alloc(5 * 7 * 3, i * 10), { raw: { width: 7, height: 5, channels: 3 } }).png().toFile(f);
    }
    const ds = await loadDataset(`folder:${root}`, { split: 'train' });
    for (const workers of [0, 2]) {
      const bad: SmnError[] = [];
      const loader = createLoader(ds, { batchSize: 4, shuffle: false, workers, transform: { preset: 'eval', size: 4 }, onBadSample: (e) => bad.push(e) });
      const batches = await collect(loader);
      expect(batches.map((b) => b.indices.length)).toEqual([3, 2]);
      expect(Array.from(batches[0]!.indices)).toEqual([0, 1, 2]);
      expect(loader.badSamples).toBe(1);
      expect(bad.length).toBe(1);
      expect(bad[0]!.code).toBe('SMN_DATA_DECODE');
      expect(bad[0]!.message).toMatch(/3\.png \(index 3/);
    }
    let err: unknown;
    try {
      await collect(createLoader(ds, { batchSize: 4, shuffle: false, transform: 'eval' }));
    } catch (e) {
      err = e;
    }
    expect(isSmnError(err) && err.code === 'SMN_DATA_DECODE').toBe(true);
  });

  it('stops on abort, and rejects bad options', async () => {
    const ds = await smallDataset();
    const ctl = new AbortController();
    const seen: number[] = [];
    let err: unknown;
    try {
      for await (const b of createLoader(ds, { batchSize: 4, transform: 'eval', signal: ctl.signal, workers: 1 })) {
        seen.push(b.indices.length);
        ctl.abort();
      }
    } catch (e) {
      err = e;
    }
    expect(seen.length).toBe(1);
    expect(isSmnError(err) && err.code === 'SMN_DATA_ABORTED').toBe(true);
    expect(() => createLoader(ds, { batchSize: 0, transform: 'eval' })).toThrow(/batchSize/);
    expect(() => createLoader(ds, { batchSize: 2, transform: () => ({ view: new Float32Array(3), size: [1, 1] }), workers: 1 })).toThrow(/worker threads/);
    expect(() => createLoader(ds, { batchSize: 2, transform: 'eval', indices: Int32Array.from([0, 99]) })).toThrow(/indices\[1\] = 99/);
    expect(() => createLoader(ds, { batchSize: 2, transform: 'fancy' as 'eval' })).toThrow(/unknown transform preset/);
  });
});
