import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng, isSmnError } from '@smn/core';
import { ensembleFeatures, evaluateFeatures, l2NormalizeRows, type DenseMatrix, type EnsembleInputs } from '../src/index.js';
import { meanOf, plantedBlobs } from './helpers.js';

beforeAll(async () => {
  await useBackend('cpu');
});

function randomMatrix(rows: number, cols: number, rng: ReturnType<typeof createRng>, shift: number): DenseMatrix {
  return { rows, cols, data: Float32Array.from({ length: rows * cols }, () => rng.normal() + shift) };
}

/** Dispatcher + 2 experts of width 3; expert 0 serves cluster 1 and expert 1 serves cluster 0 (order matters). */
function inputs(): EnsembleInputs {
  const rng = createRng(7);
  const N = 40;
  const M = 9;
  return {
    train: [0, 1, 2].map((m) => randomMatrix(N, 3, rng, m * 10)),
    test: [0, 1, 2].map((m) => randomMatrix(M, 3, rng, m * 10)),
    trainClusters: Int32Array.from({ length: N }, (_, i) => i % 3), // cluster 2 has no expert
    testClusters: Int32Array.from({ length: M }, (_, i) => (i + 1) % 3),
    clusterIds: [1, 0],
  };
}

const at = (m: DenseMatrix, r: number, c: number): number => m.data[r * m.cols + c]!;

describe('ensembleFeatures', () => {
  const inp = inputs();

  it('conditional zeroes each expert block outside its cluster; unconditional keeps everything', () => {
    const cond = ensembleFeatures(inp, 'conditional');
    const unc = ensembleFeatures(inp, 'unconditional');
    expect([cond.train.cols, cond.test.rows]).toEqual([9, 9]);
    for (const [feats, split] of [[cond.train, 'train'], [cond.test, 'test']] as const) {
      const models = split === 'train' ? inp.train : inp.test;
      const clusters = split === 'train' ? inp.trainClusters : inp.testClusters;
      for (let r = 0; r < feats.rows; r++) {
        for (let m = 0; m < 3; m++) {
          const keep = m === 0 || clusters[r] === inp.clusterIds![m - 1];
          for (let c = 0; c < 3; c++) expect(at(feats, r, m * 3 + c)).toBe(keep ? at(models[m]!, r, c) : 0);
        }
      }
    }
    for (let r = 0; r < 40; r++) for (let m = 0; m < 3; m++) for (let c = 0; c < 3; c++) {
      expect(at(unc.train, r, m * 3 + c)).toBe(at(inp.train[m]!, r, c));
    }
  });

  it('replace swaps in the row’s expert (dispatcher where no expert), add_* sum the kept blocks, baseline picks one model', () => {
    const rep = ensembleFeatures(inp, 'replace');
    const addC = ensembleFeatures(inp, 'add_conditional');
    const addU = ensembleFeatures(inp, 'add_unconditional');
    const base = ensembleFeatures(inp, 'baseline', { baselineIndex: 2 });
    expect(base.train).toBe(inp.train[2]);
    for (let r = 0; r < 40; r++) {
      const cl = inp.trainClusters[r]!;
      const src = cl === 1 ? 1 : cl === 0 ? 2 : 0;
      for (let c = 0; c < 3; c++) {
        expect(at(rep.train, r, c)).toBe(at(inp.train[src]!, r, c));
        const own = src === 0 ? 0 : at(inp.train[src]!, r, c);
        expect(at(addC.train, r, c)).toBeCloseTo(at(inp.train[0]!, r, c) + own, 5);
        expect(at(addU.train, r, c)).toBeCloseTo(at(inp.train[0]!, r, c) + at(inp.train[1]!, r, c) + at(inp.train[2]!, r, c), 5);
      }
    }
  });

  it('pca_conditional whitens the zeroed concatenation: train = (Z − μ)·V·diag(1/S), test uses the train μ, V, S', () => {
    const f = ensembleFeatures(inp, 'pca_conditional', { pcaComponents: 3 });
    const Z = ensembleFeatures(inp, 'conditional');
    const { mean, V, S } = f.pca!;
    const mu = meanOf(Z.train);
    mu.forEach((v, c) => expect(mean[c]).toBeCloseTo(v, 5));
    for (const [feats, raw] of [[f.train, Z.train], [f.test, Z.test]] as const) {
      for (let r = 0; r < raw.rows; r++) for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let c = 0; c < 9; c++) s += (at(raw, r, c) - mean[c]!) * V.data[c * 3 + j]!;
        expect(Math.abs(at(feats, r, j) - s / S[j]!)).toBeLessThan(1e-5);
      }
    }
    // train = U: unit-norm, orthogonal columns.
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      let s = 0;
      for (let r = 0; r < 40; r++) s += at(f.train, r, a) * at(f.train, r, b);
      expect(Math.abs(s - (a === b ? 1 : 0))).toBeLessThan(1e-4);
    }
    const u = ensembleFeatures(inp, 'pca_unconditional');
    expect(u.train.cols).toBe(3); // default: the width of one model
  });

  it('checks shapes and method names', () => {
    const bad = { ...inp, clusterIds: [0] };
    expect(() => ensembleFeatures(bad, 'conditional')).toThrow(/clusterIds has 1 entries but there are 2 experts/);
    try {
      ensembleFeatures(inp, 'nope' as never);
      expect.unreachable();
    } catch (e) {
      expect(isSmnError(e) && e.kind).toBe('usage');
    }
  });
});

describe('l2NormalizeRows', () => {
  it('is F.normalize: x / max(‖x‖, 1e-12), a zero row stays zero, float32 out', () => {
    const X: DenseMatrix = { rows: 3, cols: 2, data: Float64Array.from([3, 4, 0, 0, 3e-13, 4e-13]) };
    const Y = l2NormalizeRows(X);
    expect(Y.data).toBeInstanceOf(Float32Array);
    expect([Y.rows, Y.cols]).toEqual([3, 2]);
    expect(Array.from(Y.data.subarray(0, 4))).toEqual([Math.fround(0.6), Math.fround(0.8), 0, 0]);
    // ‖row‖ = 5e-13 < eps: divided by 1e-12 (PyTorch's clamp), not scaled to unit length.
    expect(Y.data[4]).toBeCloseTo(0.3, 6);
    expect(Y.data[5]).toBeCloseTo(0.4, 6);
  });
});

describe('evaluateFeatures', () => {
  it('kNN and probe accuracy on separable features', async () => {
    const { X, truth } = plantedBlobs([30, 30, 30], 4, 5, 8);
    const feats = { method: 'baseline' as const, train: X, test: X };
    const before = tf.memory().numTensors;
    const res = await evaluateFeatures(feats, truth, truth, { numClasses: 3, k: 10, linearProbe: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(res.knnAccuracy).toBe(1);
    expect(res.probeAccuracy).toBe(1);
    expect(res.dims).toBe(4);
  });
});
