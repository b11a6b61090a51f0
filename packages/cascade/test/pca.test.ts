import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { isSmnError } from '@smn/core';
import { pcaWhiten } from '../src/index.js';
import { meanOf, spectrumData } from './helpers.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('pcaWhiten', () => {
  const X = spectrumData(300, 12, 1);

  it('exact: S are singular values of the centred data, V orthonormal, train = (X − μ)·V·diag(1/S) with orthonormal columns', () => {
    const q = 4;
    const p = pcaWhiten(X, { components: q, method: 'exact' });
    expect(p.method).toBe('exact');
    const mu = meanOf(X);
    for (let c = 0; c < X.cols; c++) expect(p.mean[c]).toBeCloseTo(mu[c]!, 10);
    const { rows: N, cols: D } = X;
    // (X−μ)ᵀ(X−μ)·v_j = S_j²·v_j for every component (eigenpairs of the scatter matrix).
    const A = new Float64Array(N * D);
    for (let i = 0; i < N * D; i++) A[i] = X.data[i]! - mu[i % D]!;
    for (let j = 0; j < q; j++) {
      const Av = new Float64Array(N);
      for (let r = 0; r < N; r++) for (let c = 0; c < D; c++) Av[r] = Av[r]! + A[r * D + c]! * p.V.data[c * q + j]!;
      for (let c = 0; c < D; c++) {
        let s = 0;
        for (let r = 0; r < N; r++) s += A[r * D + c]! * Av[r]!;
        expect(Math.abs(s - p.S[j]! ** 2 * p.V.data[c * q + j]!)).toBeLessThan(1e-8 * p.S[0]! ** 2);
      }
      if (j > 0) expect(p.S[j]!).toBeLessThanOrEqual(p.S[j - 1]!);
    }
    // Whitening formula, element-wise, and UᵀU = I.
    for (let r = 0; r < N; r++) {
      for (let j = 0; j < q; j++) {
        let s = 0;
        for (let c = 0; c < D; c++) s += A[r * D + c]! * p.V.data[c * q + j]!;
        expect(Math.abs(p.train.data[r * q + j]! - s / p.S[j]!)).toBeLessThan(1e-5);
      }
    }
    for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) {
      let s = 0;
      for (let r = 0; r < N; r++) s += p.train.data[r * q + a]! * p.train.data[r * q + b]!;
      expect(Math.abs(s - (a === b ? 1 : 0))).toBeLessThan(1e-4);
    }
  });

  it('randomized matches the exact SVD on a decaying spectrum (S to 1e-4, V up to sign) and is seeded', () => {
    const Y = spectrumData(400, 40, 2, 0.7);
    const q = 6;
    const ex = pcaWhiten(Y, { components: q, method: 'exact' });
    const rnd = pcaWhiten(Y, { components: q, method: 'randomized', niter: 4, seed: 3 });
    for (let j = 0; j < q; j++) {
      expect(Math.abs(rnd.S[j]! - ex.S[j]!) / ex.S[j]!).toBeLessThan(1e-4);
      let dot = 0;
      for (let c = 0; c < Y.cols; c++) dot += rnd.V.data[c * q + j]! * ex.V.data[c * q + j]!;
      expect(dot).toBeGreaterThan(1 - 1e-4); // signs are fixed the same way
    }
    const again = pcaWhiten(Y, { components: q, method: 'randomized', niter: 4, seed: 3 });
    expect(Array.from(again.train.data)).toEqual(Array.from(rnd.train.data));
  });

  it('transform whitens new rows with the training mean, and leaks no tensors', () => {
    const p = pcaWhiten(X, { components: 3, method: 'randomized', seed: 1 });
    const Y = spectrumData(7, 12, 9);
    const before = tf.memory().numTensors;
    const T = p.transform(Y);
    expect(tf.memory().numTensors).toBe(before);
    for (let r = 0; r < 7; r++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let c = 0; c < 12; c++) s += (Y.data[r * 12 + c]! - p.mean[c]!) * p.V.data[c * 3 + j]!;
      expect(Math.abs(T.data[r * 3 + j]! - s / p.S[j]!)).toBeLessThan(1e-5);
    }
    pcaWhiten(X, { components: 3, method: 'randomized', seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects more components than min(N, D) and rank-deficient data', () => {
    try {
      pcaWhiten(X, { components: 13 });
      expect.unreachable();
    } catch (e) {
      expect(isSmnError(e) && e.code).toBe('SMN_CASCADE_OPTION');
      expect((e as Error).message).toContain('[1, 12]');
    }
    const flat = { rows: 5, cols: 3, data: new Float32Array(15).fill(2) };
    expect(() => pcaWhiten(flat, { components: 1 })).toThrow(/rank < 1/);
  });
});
