import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { runLoop } from '../src/loop.js';

const sample = () => ({
  tensors: new Map([
    ['var/scores.conv1.weight', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
    ['buf/bn1.running_mean', { shape: [3], data: new Float32Array([0.5, -1, 2]) }],
  ]),
  meta: { epoch: 3, batch: 0, step: 42, rng: [1, 2, 3, 4] },
});

describe('checkpoints', () => {
  it('round-trip tensors and metadata exactly', () => {
    const back = decodeCheckpoint(encodeCheckpoint(sample()), 'mem');
    expect(back.meta).toEqual(sample().meta);
    expect([...back.tensors.keys()]).toEqual([...sample().tensors.keys()]);
    expect(Array.from(back.tensors.get('var/scores.conv1.weight')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.tensors.get('buf/bn1.running_mean')!.shape).toEqual([3]);
  });

  it('refuse truncated, corrupted and foreign files with the file name, and never half-write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smn-ckpt-'));
    const p = join(dir, 'last.ckpt');
    await saveCheckpoint(p, sample());
    const good = await readFile(p);
    await writeFile(join(dir, 'trunc.ckpt'), good.subarray(0, good.length - 5));
    await expect(loadCheckpoint(join(dir, 'trunc.ckpt'))).rejects.toThrow(/trunc\.ckpt is unusable: payload has \d+ bytes, header says \d+ \(truncated\)/);
    const flipped = new Uint8Array(good);
    flipped[flipped.length - 2] = flipped[flipped.length - 2]! ^ 0xff;
    await writeFile(join(dir, 'flip.ckpt'), flipped);
    await expect(loadCheckpoint(join(dir, 'flip.ckpt'))).rejects.toThrow(/flip\.ckpt is unusable: payload checksum .* does not match .* \(corrupted\)/);
    await writeFile(join(dir, 'other.ckpt'), 'PK\u0003\u0004 not ours');
    await expect(loadCheckpoint(join(dir, 'other.ckpt'))).rejects.toThrow(/not an smn checkpoint/);
    await expect(loadCheckpoint(join(dir, 'missing.ckpt'))).rejects.toMatchObject({ code: 'SMN_CKPT_NOT_FOUND' });
    // Saving over an existing checkpoint replaces it atomically.
    await saveCheckpoint(p, { ...sample(), meta: { epoch: 4 } });
    expect((await loadCheckpoint(p)).meta).toEqual({ epoch: 4 });
  });
});

describe('runLoop', () => {
  const batches = (epoch: number, skip: number) =>
    (async function* () {
      for (let b = skip; b < 3; b++) yield `${epoch}:${b}`;
    })();

  it('visits every batch once, and an interrupted loop resumes at the same batch', async () => {
    const full: string[] = [];
    await runLoop({ epochs: 2, start: { epoch: 0, batch: 0, step: 0 }, batches, batchesInEpoch: () => 3, step: async (b) => (full.push(b), 0), endEpoch: async () => ({}) });
    expect(full).toEqual(['0:0', '0:1', '0:2', '1:0', '1:1', '1:2']);

    const ac = new AbortController();
    const seen: string[] = [];
    let saved: { epoch: number; batch: number; step: number } | undefined;
    const r1 = await runLoop({
      epochs: 2,
      start: { epoch: 0, batch: 0, step: 0 },
      batches,
      batchesInEpoch: () => 3,
      step: async (b) => {
        seen.push(b);
        if (b === '1:0') ac.abort();
        return 0;
      },
      endEpoch: async () => ({}),
      interrupted: async (pos) => {
        saved = pos;
      },
      signal: ac.signal,
    });
    expect(r1.completed).toBe(false);
    expect(saved).toEqual({ epoch: 1, batch: 1, step: 4 });
    const r2 = await runLoop({ epochs: 2, start: saved!, batches, batchesInEpoch: () => 3, step: async (b) => (seen.push(b), 0), endEpoch: async () => ({}) });
    expect(r2.completed).toBe(true);
    expect(seen).toEqual(full);
  });

  it('an epoch end cut short (null) stops at the end of the epoch\'s batches; the resume does that epoch end again, whole', async () => {
    const ac = new AbortController();
    const ends: string[] = [];
    let saved: { epoch: number; batch: number; step: number } | undefined;
    const r1 = await runLoop({
      epochs: 2,
      start: { epoch: 0, batch: 0, step: 0 },
      batches,
      batchesInEpoch: () => 3,
      step: async () => 0,
      endEpoch: async (epoch) => {
        if (epoch === 1 && !ac.signal.aborted) {
          ac.abort(); // a signal during the validation of epoch 1
          return null;
        }
        ends.push(`end ${epoch}`);
        return {};
      },
      interrupted: async (pos) => {
        saved = pos;
      },
      signal: ac.signal,
    });
    expect(r1.completed).toBe(false);
    expect(saved).toEqual({ epoch: 1, batch: 3, step: 6 });
    const seen: string[] = [];
    const r2 = await runLoop({ epochs: 2, start: saved!, batches, batchesInEpoch: () => 3, step: async (b) => (seen.push(b), 0), endEpoch: async (e) => (ends.push(`end ${e}`), {}) });
    expect(r2).toEqual({ completed: true, position: { epoch: 2, batch: 0, step: 6 } });
    expect(seen).toEqual([]); // no batch twice
    expect(ends).toEqual(['end 0', 'end 1']);
  });
});
