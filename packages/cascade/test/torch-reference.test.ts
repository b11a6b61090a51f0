import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { fitGmm, fitLinearProbe, pcaWhiten } from '../src/index.js';

// Made by tools/fixtures/cascade/make_fixtures.py (PyTorch 1.13, float64).
const ref = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  pca: { X: number[]; rows: number; cols: number; S: number[]; V: number[] };
  probe: { X: number[]; rows: number; cols: number; labels: number[]; numClasses: number; lambda: number; loss: number; W: number[]; b: number[] };
  gmm: {
    X: number[]; rows: number; cols: number; initLabels: number[]; components: number; nIter: number; lowerBound: number;
    weights: number[]; means: number[][]; covariances: number[][][]; predict: number[]; score: number;
  };
};

beforeAll(async () => {
  await useBackend('cpu');
});

describe('against PyTorch', () => {
  it('PCA singular values and vectors match torch.linalg.svd of the centred data (both methods)', () => {
    const { rows, cols } = ref.pca;
    const X = { rows, cols, data: Float64Array.from(ref.pca.X) };
    for (const method of ['exact', 'randomized'] as const) {
      const p = pcaWhiten(X, { components: 8, method, niter: 6, seed: 1 });
      for (let j = 0; j < 8; j++) {
        expect(Math.abs(p.S[j]! - ref.pca.S[j]!) / ref.pca.S[j]!).toBeLessThan(method === 'exact' ? 1e-10 : 1e-5);
        let dot = 0;
        for (let c = 0; c < cols; c++) dot += p.V.data[c * 8 + j]! * ref.pca.V[c * 8 + j]!;
        expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(method === 'exact' ? 1e-9 : 1e-4);
      }
    }
  });

  it('the probe reaches the optimum torch.optim.LBFGS finds for the same objective', () => {
    const { rows, cols, labels, numClasses, lambda } = ref.probe;
    const X = { rows, cols, data: Float64Array.from(ref.probe.X) };
    const probe = fitLinearProbe(X, labels, { numClasses, lambda, tol: 1e-7, maxIter: 2000 });
    expect(Math.abs(probe.loss - ref.probe.loss) / ref.probe.loss).toBeLessThan(1e-5);
    for (let i = 0; i < ref.probe.W.length; i++) expect(Math.abs(probe.W.data[i]! - ref.probe.W[i]!)).toBeLessThan(2e-3);
    for (let i = 0; i < numClasses; i++) expect(Math.abs(probe.b[i]! - ref.probe.b[i]!)).toBeLessThan(2e-3);
  });

  it('EM follows sklearn 1.2 GaussianMixture step for step from the same initial labels', () => {
    const g = ref.gmm;
    const X = { rows: g.rows, cols: g.cols, data: Float64Array.from(g.X) };
    const gm = fitGmm(X, { components: g.components, initLabels: g.initLabels });
    expect(gm.json.nIter).toBe(g.nIter);
    expect(gm.json.converged).toBe(true);
    expect(gm.json.lowerBound).toBeCloseTo(g.lowerBound, 10);
    g.weights.forEach((w, k) => expect(gm.json.weights[k]).toBeCloseTo(w, 10));
    g.means.forEach((m, k) => m.forEach((v, a) => expect(gm.json.means[k]![a]).toBeCloseTo(v, 9)));
    g.covariances.forEach((c, k) => c.forEach((row, a) => row.forEach((v, b) => expect(gm.json.covariances[k]![a]![b]).toBeCloseTo(v, 9))));
    expect(Array.from(gm.predict(X))).toEqual(g.predict);
    expect(gm.score(X)).toBeCloseTo(g.score, 10);
  });
});
