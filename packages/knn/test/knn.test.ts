import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng, isSmnError } from '@smn/core';
import { knnAccuracy, knnMemTrainAccuracy, knnPredict, knnSelfAccuracy } from '../src/index.js';
import { bruteKnn, expectScoresClose, randLabels, randn } from './_brute.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('knnPredict', () => {
  it('matches brute force with chunk sizes that divide neither Q nor N', async () => {
    const D = 8, Q = 37, N = 203, C = 5;
    const q = randn(Q * D, 1), b = randn(N * D, 2), l = randLabels(N, C, 3);
    const want = bruteKnn(q, b, l, D, 20, 0.1, C);
    const got = await knnPredict({ data: q, shape: [Q, D] }, { data: b, shape: [N, D] }, l, {
      k: 20, numClasses: C, queryChunk: 10, bankChunk: 64,
    });
    expect(Array.from(got.predictions)).toEqual(want.predictions);
    expect(got.k).toBe(20);
    expectScoresClose(got.scores, want.scores);
  });

  it('gives the same answer for tensors, typed arrays, number[] and tensor labels, any chunking', async () => {
    const D = 6, Q = 23, N = 97, C = 4;
    const q = randn(Q * D, 4), b = randn(N * D, 5), l = randLabels(N, C, 6);
    const base = await knnPredict({ data: q, shape: [Q, D] }, { data: b, shape: [N, D] }, l, { k: 7, numClasses: C });
    const qt = tf.tensor2d(q, [Q, D]), bt = tf.tensor2d(b, [N, D]), lt = tf.tensor1d(l, 'int32');
    const before = tf.memory().numTensors;
    for (const [labels, qc, bc] of [
      [lt, 1, 1],
      [Array.from(l), 5, 13],
      [l, 100, 1000],
    ] as const) {
      const r = await knnPredict(qt, bt, labels, { k: 7, numClasses: C, queryChunk: qc, bankChunk: bc });
      expect(Array.from(r.predictions)).toEqual(Array.from(base.predictions));
      for (let i = 0; i < r.scores.length; i++) expect(r.scores[i]).toBeCloseTo(base.scores[i]!, 2);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([qt, bt, lt]);
  });

  it("takes @smn/core's DenseMatrix (float32 or float64 data) with the answer of the deprecated { data, shape } form", async () => {
    const D = 5, Q = 13, N = 41, C = 3;
    const q = randn(Q * D, 21), b = randn(N * D, 22), l = randLabels(N, C, 23);
    const opts = { k: 9, numClasses: C, queryChunk: 4, bankChunk: 16 };
    const old = await knnPredict({ data: q, shape: [Q, D] }, { data: b, shape: [N, D] }, l, opts);
    const f32 = await knnPredict({ rows: Q, cols: D, data: q }, { rows: N, cols: D, data: b }, l, opts);
    const f64 = await knnPredict({ rows: Q, cols: D, data: Float64Array.from(q) }, { rows: N, cols: D, data: Float64Array.from(b) }, l, opts);
    for (const r of [f32, f64]) {
      expect(r.predictions).toEqual(old.predictions);
      expect(r.scores).toEqual(old.scores);
    }
    const self = await knnSelfAccuracy({ rows: N, cols: D, data: Float64Array.from(b) }, l, { k: 5, maxSamples: 20, seed: 3 });
    expect(self).toEqual(await knnSelfAccuracy({ data: b, shape: [N, D] }, l, { k: 5, maxSamples: 20, seed: 3 }));
    await expect(knnPredict({ rows: 2, cols: 3, data: new Float32Array(5) }, { rows: N, cols: D, data: b }, l)).rejects.toThrow(/needs 6 values/);
  });

  it('clips k larger than the bank to N', async () => {
    const D = 4, Q = 9, N = 11, C = 3;
    const q = randn(Q * D, 7), b = randn(N * D, 8), l = randLabels(N, C, 9);
    const got = await knnPredict({ data: q, shape: [Q, D] }, { data: b, shape: [N, D] }, l, {
      k: 500, numClasses: C, bankChunk: 4,
    });
    expect(got.k).toBe(N);
    const want = bruteKnn(q, b, l, D, N, 0.1, C);
    expect(Array.from(got.predictions)).toEqual(want.predictions);
    expectScoresClose(got.scores, want.scores);
  });

  it('lets a large class outvote closer neighbours when k is larger than the small class', async () => {
    // Query e0. Class 0: 2 rows at cos 0.99. Class 1: 8 rows at cos 0.9. With k = 10 the per-class sums are
    // 2·e^9.9 ≈ 39,900 against 8·e^9 ≈ 64,825, so class 1 wins; with k = 2 only class 0 is seen.
    const D = 3;
    const rows: number[][] = [];
    const labels: number[] = [];
    const at = (c: number, j: number): number[] => {
      const s = Math.sqrt(1 - c * c);
      const ang = (j * Math.PI) / 4;
      return [c, s * Math.cos(ang), s * Math.sin(ang)];
    };
    for (let j = 0; j < 8; j++) (rows.push(at(0.9, j)), labels.push(1));
    for (let j = 0; j < 2; j++) (rows.push(at(0.99, j)), labels.push(0));
    for (let j = 0; j < 5; j++) (rows.push(at(-0.5, j)), labels.push(2));
    const bank = { data: Float32Array.from(rows.flat()), shape: [rows.length, D] as [number, number] };
    const query = { data: Float32Array.from([1, 0, 0]), shape: [1, D] as [number, number] };
    const k10 = await knnPredict(query, bank, labels, { k: 10, numClasses: 3, bankChunk: 3 });
    const k2 = await knnPredict(query, bank, labels, { k: 2, numClasses: 3, bankChunk: 3 });
    expect(k10.predictions[0]).toBe(1);
    expect(k2.predictions[0]).toBe(0);
    expect(k10.scores[0]).toBeCloseTo(2 * Math.exp(9.9), -1);
    expect(k10.scores[1]).toBeCloseTo(8 * Math.exp(9), -1);
    expect(k10.scores[2]).toBe(0);
    const want = bruteKnn(query.data, bank.data, labels, D, 10, 0.1, 3);
    expectScoresClose(k10.scores, want.scores);
  });

  it('breaks class-vote ties towards the lowest class index', async () => {
    // Two identical bank rows with labels 2 and 1: equal votes, the prediction is class 1.
    const bank = { data: Float32Array.from([1, 1, 1, 1, -1, 0]), shape: [3, 2] as [number, number] };
    const query = { data: Float32Array.from([1, 0.5]), shape: [1, 2] as [number, number] };
    const r = await knnPredict(query, bank, [2, 1, 0], { k: 2, numClasses: 3 });
    expect(r.scores[1]).toBe(r.scores[2]);
    expect(r.predictions[0]).toBe(1);
    expect(bruteKnn(query.data, bank.data, [2, 1, 0], 2, 2, 0.1, 3).predictions[0]).toBe(1);
  });

  it('breaks neighbour ties at the k-th place towards the lower bank index, also across bank chunks', async () => {
    // Rows 1 and 3 are the same vector (the nearest); k = 1 must take row 1 (label 2), not row 3 (label 0).
    const bank = { data: Float32Array.from([0, 1, 1, 0.2, -1, 0, 1, 0.2]), shape: [4, 2] as [number, number] };
    const query = { data: Float32Array.from([1, 0]), shape: [1, 2] as [number, number] };
    const labels = [1, 2, 1, 0];
    for (const bankChunk of [1, 2, 3, 4]) {
      const r = await knnPredict(query, bank, labels, { k: 1, numClasses: 3, bankChunk });
      expect(r.predictions[0]).toBe(2);
    }
    expect(bruteKnn(query.data, bank.data, labels, 2, 1, 0.1, 3).predictions[0]).toBe(2);
  });

  it('normalize: false on pre-normalised inputs equals normalize: true on raw ones; default numClasses is max+1', async () => {
    const D = 5, Q = 12, N = 40;
    const q = randn(Q * D, 10), b = randn(N * D, 11), l = randLabels(N, 3, 12);
    const qt = tf.tensor2d(q, [Q, D]), bt = tf.tensor2d(b, [N, D]);
    const qn = tf.tidy(() => tf.div(qt, tf.norm(qt, 'euclidean', 1, true))) as tf.Tensor2D;
    const bn = tf.tidy(() => tf.div(bt, tf.norm(bt, 'euclidean', 1, true))) as tf.Tensor2D;
    const a = await knnPredict(qt, bt, l, { k: 9 });
    const c = await knnPredict(qn, bn, l, { k: 9, normalize: false });
    expect(a.numClasses).toBe(Math.max(...l) + 1);
    expect(Array.from(c.predictions)).toEqual(Array.from(a.predictions));
    for (let i = 0; i < a.scores.length; i++) expect(c.scores[i]! / Math.max(1, a.scores[i]!)).toBeCloseTo(a.scores[i]! / Math.max(1, a.scores[i]!), 4);
    tf.dispose([qt, bt, qn, bn]);
  });

  it('keeps predictions finite for unnormalised inputs with huge similarities', async () => {
    const bank = { data: Float32Array.from([100, 0, 0, 100, 90, 0]), shape: [3, 2] as [number, number] };
    const query = { data: Float32Array.from([100, 1]), shape: [1, 2] as [number, number] };
    const r = await knnPredict(query, bank, [0, 1, 2], { k: 3, normalize: false });
    expect(r.predictions[0]).toBe(0); // sim 10000 vs 9000 vs 100: scores overflow, the argmax does not
  });

  it('does not leak tensors and reports progress', async () => {
    const D = 4, Q = 10, N = 30;
    const qt = tf.tensor2d(randn(Q * D, 13), [Q, D]);
    const bt = tf.tensor2d(randn(N * D, 14), [N, D]);
    const progress: number[] = [];
    await knnPredict(qt, bt, randLabels(N, 3, 15), { k: 5, bankChunk: 7, queryChunk: 3 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await knnPredict(qt, bt, randLabels(N, 3, 15), {
        k: 5, bankChunk: 7, queryChunk: 3, onProgress: (d) => progress.push(d),
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(progress.slice(0, 5)).toEqual([7, 14, 21, 28, 30]);
    tf.dispose([qt, bt]);
  });

  it('rejects bad inputs with clear errors and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const q = { data: new Float32Array(6), shape: [2, 3] as [number, number] };
    const b = { data: new Float32Array(8), shape: [2, 4] as [number, number] };
    await expect(knnPredict(q, b, [0, 1])).rejects.toThrow(/dimension 3 but the bank has dimension 4/);
    const b3 = { data: new Float32Array(6), shape: [2, 3] as [number, number] };
    await expect(knnPredict(q, b3, [0, 1, 2])).rejects.toThrow(/3 labels but the matrix has 2 rows/);
    await expect(knnPredict(q, b3, [0, 5], { numClasses: 3 })).rejects.toThrow(/\[1\] = 5/);
    await expect(knnPredict(q, { data: new Float32Array(5), shape: [2, 3] }, [0, 1])).rejects.toThrow(/needs 6 values/);
    await expect(knnPredict(q, b3, [0, 1], { k: 0 })).rejects.toThrow(/k must be a positive integer/);
    const ac = new AbortController();
    ac.abort();
    const err = await knnPredict(q, b3, [0, 1], { signal: ac.signal }).catch((e: unknown) => e);
    expect(isSmnError(err) && err.code).toBe('SMN_KNN_ABORTED');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('kNN accuracy metrics', () => {
  it('knnMemTrainAccuracy equals the brute-force accuracy of test queries against the train bank', async () => {
    const D = 6, C = 4, Q = 30, N = 120;
    // Class-dependent means so accuracy is well above chance.
    const means = randn(C * D, 20);
    const make = (n: number, seed: number): [Float32Array, Int32Array] => {
      const l = randLabels(n, C, seed);
      const x = randn(n * D, seed + 1);
      for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) x[i * D + d]! += 2 * means[l[i]! * D + d]!;
      return [x, l];
    };
    const [tx, tl] = make(N, 21);
    const [qx, ql] = make(Q, 23);
    const r = await knnMemTrainAccuracy({ data: qx, shape: [Q, D] }, ql, { data: tx, shape: [N, D] }, tl, {
      k: 15, numClasses: C, queryChunk: 7, bankChunk: 50,
    });
    const want = bruteKnn(qx, tx, tl, D, 15, 0.1, C);
    const correct = want.predictions.filter((p, i) => p === ql[i]).length;
    expect(r.correct).toBe(correct);
    expect(r.total).toBe(Q);
    expect(r.accuracy).toBeCloseTo(correct / Q, 12);
    expect(r.accuracy).toBeGreaterThan(0.5);
  });

  it('knnSelfAccuracy includes self-matches (k = 1 is always right) and equals knnAccuracy(x, x)', async () => {
    const D = 5, n = 40;
    const x = tf.tensor2d(randn(n * D, 30), [n, D]);
    const l = randLabels(n, 4, 31);
    const before = tf.memory().numTensors;
    const self1 = await knnSelfAccuracy(x, l, { k: 1, numClasses: 4 });
    expect(self1.accuracy).toBe(1);
    const self = await knnSelfAccuracy(x, l, { k: 10, numClasses: 4 });
    const direct = await knnAccuracy(x, l, x, l, { k: 10, numClasses: 4 });
    expect(self.correct).toBe(direct.correct);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('knnSelfAccuracy draws a seeded subset of at most maxSamples rows', async () => {
    const D = 4, n = 60, m = 25;
    const xs = randn(n * D, 40);
    const l = randLabels(n, 3, 41);
    const xt = tf.tensor2d(xs, [n, D]);
    const before = tf.memory().numTensors;
    const a = await knnSelfAccuracy(xt, l, { k: 5, maxSamples: m, seed: 7 });
    const b = await knnSelfAccuracy({ data: xs, shape: [n, D] }, Array.from(l), { k: 5, maxSamples: m, seed: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.total).toBe(m);
    expect(Array.from(a.predictions)).toEqual(Array.from(b.predictions));
    // The documented subset: createRng(seed).permutation(n), first m, ascending.
    const idx = createRng(7).permutation(n).slice(0, m).sort();
    const sub = new Float32Array(m * D);
    idx.forEach((r, i) => sub.set(xs.subarray(r * D, (r + 1) * D), i * D));
    const subL = Array.from(idx, (r) => l[r]!);
    const want = bruteKnn(sub, sub, subL, D, 5, 0.1, 3);
    expect(Array.from(a.predictions)).toEqual(want.predictions);
    expect(a.correct).toBe(want.predictions.filter((p, i) => p === subL[i]).length);
    xt.dispose();
  });
});
