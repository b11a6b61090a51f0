import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng } from '@smn/core';
import { sinkhorn } from '../src/index.js';
import { normRows, matmulT, sinkhornRef, type Mat } from './_ref.js';

beforeAll(async () => {
  await useBackend('cpu');
});

function randMat(r: number, c: number, seed: number, scale = 1): Mat {
  const rng = createRng(seed);
  return Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal() * scale));
}

/** Cosine scores in [-1, 1] as in training: normalised embeddings against normalised prototypes. */
function cosineScores(B: number, K: number, seed: number): Mat {
  return matmulT(normRows(randMat(B, 16, seed)), normRows(randMat(K, 16, seed + 1)));
}

function expectClose(got: tf.Tensor2D, want: Mat, tol: number): void {
  const g = got.arraySync();
  expect(g.length).toBe(want.length);
  want.forEach((row, i) => row.forEach((w, j) => expect(Math.abs(g[i]![j]! - w)).toBeLessThanOrEqual(tol)));
}

describe('sinkhorn', () => {
  it('equals a float64 JS implementation of the reference steps, in every domain', () => {
    for (const [B, K, seed] of [
      [6, 4, 1],
      [20, 7, 2],
      [3, 50, 3],
    ] as const) {
      const o = cosineScores(B, K, seed);
      const want = sinkhornRef(o);
      const ot = tf.tensor2d(o);
      for (const domain of ['auto', 'exp', 'log'] as const) {
        const q = sinkhorn(ot, { domain });
        expectClose(q, want, 2e-6 * Math.max(1, B / K));
        q.dispose();
      }
      ot.dispose();
    }
  });

  it('after the last column step every sample sums to 1; prototypes sum to ≈ B/K, exactly in the limit', () => {
    const B = 12, K = 5;
    const o = tf.tensor2d(cosineScores(B, K, 4));
    const q3 = sinkhorn(o);
    const rows = tf.sum(q3, 1).arraySync() as number[];
    rows.forEach((s) => expect(s).toBeCloseTo(1, 5));
    // With 3 iterations the column sums are whatever the formula gives (checked against the JS steps above);
    // they approach B/K as the iterations go on.
    const cols3 = tf.sum(q3, 0).arraySync() as number[];
    const want3 = sinkhornRef(o.arraySync()).reduce((acc, r) => acc.map((a, k) => a + r[k]!), new Array(K).fill(0));
    cols3.forEach((s, k) => expect(s).toBeCloseTo(want3[k]!, 4));
    const q100 = sinkhorn(o, { iterations: 100 });
    (tf.sum(q100, 0).arraySync() as number[]).forEach((s) => expect(s).toBeCloseTo(B / K, 3));
    tf.dispose([o, q3, q100]);
  });

  it('subtracting the max changes nothing: sinkhorn(o + c) = sinkhorn(o)', () => {
    const o = tf.tensor2d(cosineScores(8, 6, 5));
    const shifted = tf.add(o, 3.7) as tf.Tensor2D;
    const a = sinkhorn(o, { domain: 'exp' });
    const b = sinkhorn(shifted, { domain: 'exp' });
    expectClose(b, a.arraySync(), 1e-6);
    tf.dispose([o, shifted, a, b]);
  });

  it('stays finite for scores up to ±100 and matches the float64 formula for ±20', () => {
    // ±20 / 0.05 = ±400: exp overflows float32 (unshifted) and underflows it (shifted), but not float64.
    const o20 = randMat(10, 6, 6, 10).map((r) => r.map((x) => Math.max(-20, Math.min(20, x))));
    const want = sinkhornRef(o20);
    const t20 = tf.tensor2d(o20);
    for (const domain of ['auto', 'log'] as const) {
      const q = sinkhorn(t20, { domain });
      expectClose(q, want, 1e-5);
      q.dispose();
    }
    const o100 = tf.tensor2d(randMat(16, 9, 7, 100).map((r) => r.map((x) => Math.max(-100, Math.min(100, x)))));
    const q = sinkhorn(o100);
    const v = q.dataSync();
    expect(v.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    (tf.sum(q, 1).arraySync() as number[]).forEach((s) => expect(s).toBeCloseTo(1, 5));
    tf.dispose([t20, o100, q]);
  });

  it('does not leak tensors and rejects bad arguments', () => {
    const o = tf.tensor2d(cosineScores(4, 3, 8));
    sinkhorn(o).dispose();
    const before = tf.memory().numTensors;
    for (const domain of ['auto', 'exp', 'log'] as const) sinkhorn(o, { domain }).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => sinkhorn(o, { epsilon: 0 })).toThrow(/epsilon must be a finite number > 0; found 0/);
    const v = tf.zeros([3]);
    expect(() => sinkhorn(v as unknown as tf.Tensor2D)).toThrow(/\[B, K\]; found shape \[3\]/);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
    o.dispose();
  });
});
