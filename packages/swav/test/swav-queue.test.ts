import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { isSmnError } from '@smn/core';
import { SwavQueue } from '../src/index.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const rows = (start: number, n: number, F: number): tf.Tensor2D =>
  tf.tensor2d(Array.from({ length: n }, (_, r) => Array.from({ length: F }, (_, c) => start + r + c / 10)));

describe('SwavQueue', () => {
  it('trims the length to a multiple of the batch size', () => {
    expect(SwavQueue.trimmedLength(3840, 64)).toBe(3840);
    expect(SwavQueue.trimmedLength(500, 64)).toBe(448);
    expect(SwavQueue.trimmedLength(30, 64)).toBe(0);
    const q = new SwavQueue({ length: 10, featDim: 3, batchSize: 4 });
    expect(q.length).toBe(8);
    expect(q.embeddings(1).shape).toEqual([8, 3]);
    q.startEpoch(99, 0);
    expect(q.filling).toBe(true);
    q.startEpoch(14, 15);
    expect(q.filling).toBe(false);
    q.dispose();
    const empty = new SwavQueue({ length: 3, featDim: 3, batchSize: 4 });
    empty.startEpoch(99, 0);
    expect(empty.filling).toBe(false); // queue_length 0 never fills
    empty.dispose();
  });

  it('pushes with shift-down semantics, newest first, and becomes full at the last row', async () => {
    const F = 2;
    const q = new SwavQueue({ length: 6, featDim: F, batchSize: 2 });
    const before = tf.memory().numTensors;
    const a = rows(1, 2, F), b = rows(10, 2, F), c = rows(100, 2, F), d = rows(1000, 2, F);
    q.push(0, a);
    expect(q.isFull(0)).toBe(false);
    expect(q.shouldUse(0)).toBe(false);
    q.push(0, b);
    q.push(0, c);
    expect(q.isFull(0)).toBe(true);
    expect(q.isFull(1)).toBe(false);
    q.push(0, d);
    const st = await q.state();
    const dcb = tf.concat([d, c, b]);
    expect(Array.from(st.data[0]!)).toEqual(Array.from(dcb.dataSync()));
    dcb.dispose();
    expect(st.data[1]!.every((x) => x === 0)).toBe(true);
    expect(q.shouldUse(1)).toBe(false); // queue 1 is empty and the flag is not set yet
    expect(q.shouldUse(0)).toBe(true);
    expect(q.shouldUse(1)).toBe(true); // sticky, as use_the_queue
    tf.dispose([a, b, c, d]);
    expect(tf.memory().numTensors).toBe(before);
    q.dispose();
  });

  it('saves and restores its contents and flags; refuses a state of another shape', async () => {
    const q = new SwavQueue({ length: 4, featDim: 3, batchSize: 2 });
    const x = rows(5, 2, 3);
    q.push(0, x);
    q.push(0, x);
    q.push(1, x);
    q.filling = true;
    q.use = true;
    const st = await q.state();
    const r = new SwavQueue({ length: 4, featDim: 3, batchSize: 2 });
    r.load(st);
    expect([r.isFull(0), r.isFull(1), r.use, r.filling]).toEqual([true, false, true, true]);
    expect(Array.from(r.embeddings(1).dataSync())).toEqual(Array.from(q.embeddings(1).dataSync()));
    r.push(1, x);
    expect(r.isFull(1)).toBe(true);
    const other = new SwavQueue({ length: 6, featDim: 3, batchSize: 2 });
    const err = (() => {
      try {
        other.load(st);
      } catch (e) {
        return e;
      }
    })();
    expect(isSmnError(err) && err.code).toBe('SMN_SWAV_STATE');
    expect((err as Error).message).toMatch(/saved SwAV queue is 2 × \[4, 3\] but this queue is 2 × \[6, 3\]/);
    expect(() => q.push(0, rows(0, 5, 3))).toThrow(/expects \[n <= 4, 3\] embeddings; found \[5,3\]/);
    tf.dispose(x);
    for (const z of [q, r, other]) z.dispose();
    expect(() => q.isFull(0)).toThrow(/after dispose/);
  });
});
