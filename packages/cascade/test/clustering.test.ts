import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { createRng, parseNpy } from '@smn/core';
import { readFile } from 'node:fs/promises';
import {
  adjustedMutualInfo,
  adjustedRandIndex,
  cascadeStorage,
  clusterEmbeddings,
  expertEpochs,
  fitGmm,
  kmeansCluster,
  loadClustering,
  loadGmm,
  meanLargestClusterShare,
  routeRows,
  saveClustering,
} from '../src/index.js';
import { plantedBlobs } from './helpers.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('adjusted mutual information and Rand index', () => {
  it('is 1 for identical partitions up to renaming, and matches the hand-computed value of a 2×2 case', () => {
    expect(adjustedMutualInfo([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])).toBeCloseTo(1, 12);
    expect(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0])).toBeCloseTo(1, 12);
    // a = [0,0,1,1], b = [0,1,0,1]: MI = 0; under the hypergeometric model each cell has n_ij ∈ {0,1,2} with
    // probabilities 1/6, 4/6, 1/6, so E[MI] = 4 · (1/6) · (2/4)·log(4·2/(2·2)) = log(2)/3, H(a) = H(b) = log 2,
    // AMI = (0 − log2/3) / (log2 − log2/3) = −1/2.
    expect(adjustedMutualInfo([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
    // ARI: Σ C(n_ij,2) = 0, expected = (2·2)/C(4,2) = 2/3, max = 2 → (0 − 2/3)/(2 − 2/3) = −1/2.
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
    // One class, one cluster: sklearn's perfect-match convention.
    expect(adjustedMutualInfo([1, 1, 1], [0, 0, 0])).toBe(1);
  });

  it('is ≈ 0 for independent labelings, symmetric and invariant to permuting rows', () => {
    const rng = createRng(4);
    const a = Array.from({ length: 3000 }, () => rng.int(10));
    const b = Array.from({ length: 3000 }, () => rng.int(5));
    const ami = adjustedMutualInfo(a, b);
    expect(Math.abs(ami)).toBeLessThan(0.005);
    expect(adjustedMutualInfo(b, a)).toBeCloseTo(ami, 12);
    const perm = rng.permutation(3000);
    expect(adjustedMutualInfo(Array.from(perm, (i) => a[i]!), Array.from(perm, (i) => b[i]!))).toBeCloseTo(ami, 12);
    // A partly informative clustering lies strictly between.
    const c = a.map((x, i) => (i % 3 === 0 ? rng.int(5) : x % 5));
    const mid = adjustedMutualInfo(a, c);
    expect(mid).toBeGreaterThan(0.2);
    expect(mid).toBeLessThan(0.95);
  });

  it('mean largest-cluster share averages each class’s biggest cluster fraction', () => {
    // class 0: 2 of 3 in cluster 0; class 1: 2 of 2 in cluster 1 → (2/3 + 1) / 2
    expect(meanLargestClusterShare([0, 0, 0, 1, 1], [0, 0, 1, 1, 1])).toBeCloseTo(5 / 6, 12);
  });
});

describe('fitGmm', () => {
  const { X, truth } = plantedBlobs([150, 100, 200], 4, 11, 6);

  it('recovers planted Gaussian clusters (ARI, AMI > 0.95) with weights ≈ the cluster shares', () => {
    const gm = fitGmm(X, { components: 3, seed: 0 });
    const ids = gm.predict(X);
    expect(adjustedRandIndex(truth, ids)).toBeGreaterThan(0.95);
    expect(adjustedMutualInfo(truth, ids)).toBeGreaterThan(0.95);
    expect(gm.json.converged).toBe(true);
    const w = [...gm.json.weights].sort((a, b) => a - b);
    expect(w[0]).toBeCloseTo(100 / 450, 1);
    expect(w[2]).toBeCloseTo(200 / 450, 1);
    const P = gm.predictProba(X);
    for (let i = 0; i < X.rows; i += 37) {
      expect(P.data[i * 3]! + P.data[i * 3 + 1]! + P.data[i * 3 + 2]!).toBeCloseTo(1, 12);
    }
  });

  it('is reproducible with a seed and round-trips through JSON', () => {
    const a = fitGmm(X, { components: 3, seed: 5 });
    const b = fitGmm(X, { components: 3, seed: 5 });
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    const c = loadGmm(JSON.parse(JSON.stringify(a.toJSON())));
    expect(Array.from(c.predict(X))).toEqual(Array.from(a.predict(X)));
    expect(c.score(X)).toBeCloseTo(a.score(X), 12);
  });

  it('log-likelihood matches the mixture density written out in 2-D', () => {
    const { X: X2 } = plantedBlobs([60, 60], 2, 3, 5);
    const gm = fitGmm(X2, { components: 2, seed: 1 });
    const { weights, means, covariances } = gm.json;
    const s = gm.scoreSamples(X2);
    for (let i = 0; i < X2.rows; i += 13) {
      let p = 0;
      for (let k = 0; k < 2; k++) {
        const [[a, b], [, d]] = covariances[k] as [[number, number], [number, number]];
        const det = a * d - b * b;
        const x0 = X2.data[i * 2]! - means[k]![0]!;
        const x1 = X2.data[i * 2 + 1]! - means[k]![1]!;
        const maha = (d * x0 * x0 - 2 * b * x0 * x1 + a * x1 * x1) / det;
        p += (weights[k]! * Math.exp(-0.5 * maha)) / (2 * Math.PI * Math.sqrt(det));
      }
      expect(s[i]).toBeCloseTo(Math.log(p), 9);
    }
    expect(gm.score(X2)).toBeCloseTo(s.reduce((x, y) => x + y, 0) / s.length, 12);
  });

  it('k-means recovers the blobs too and is seeded', () => {
    const a = kmeansCluster(X, { k: 3, seed: 2 });
    expect(adjustedRandIndex(truth, a.predict(X))).toBeGreaterThan(0.95);
    expect(JSON.stringify(kmeansCluster(X, { k: 3, seed: 2 }).toJSON())).toBe(JSON.stringify(a.toJSON()));
  });
});

describe('clusterEmbeddings + files', () => {
  it('PCA → GMM on embeddings, diagnostics, and a folder that reloads to the same routing', async () => {
    // 3 planted groups in 30-D; "classes" split each group in two, so Mean ≈ 1 and AMI is high.
    const { X: low, truth } = plantedBlobs([120, 80, 100], 30, 21, 4);
    const X = { rows: low.rows, cols: low.cols, data: Float32Array.from(low.data) };
    const labels = Int32Array.from(truth, (t, i) => t * 2 + (i % 2));
    const test = { rows: 20, cols: 30, data: X.data.slice(0, 20 * 30) };
    const c = clusterEmbeddings(X, { clusters: 3, components: 5, seed: 0, labels, test });
    expect(adjustedRandIndex(truth, c.trainClusters)).toBeGreaterThan(0.95);
    expect(c.diagnostics!.sizes.reduce((a, b) => a + b, 0)).toBe(300);
    expect(c.diagnostics!.meanLargestShare).toBeGreaterThan(0.95);
    expect(Array.from(c.testClusters!)).toEqual(Array.from(c.trainClusters.subarray(0, 20)));
    const again = clusterEmbeddings(X, { clusters: 3, components: 5, seed: 0 });
    expect(Array.from(again.trainClusters)).toEqual(Array.from(c.trainClusters));

    const dir = await mkdtemp(join(tmpdir(), 'smn-cluster-'));
    await saveClustering(dir, c);
    expect((await readdir(dir)).sort()).toEqual(
      ['clustering.json', 'clusters.npy', 'gmm.json', 'pca_S.npy', 'pca_V.npy', 'pca_mean.npy', 'test_clusters.npy'].sort(),
    );
    const npy = parseNpy(Uint8Array.from(await readFile(join(dir, 'clusters.npy'))));
    expect(Array.from(npy.data as Int32Array)).toEqual(Array.from(c.trainClusters));
    expect(npy.dtype).toBe('int32');
    expect(npy.shape).toEqual([300]);
    const back = await loadClustering(dir);
    expect(back.info.ami).toBeCloseTo(c.diagnostics!.ami, 12);
    expect(Array.from(routeRows(back, X))).toEqual(Array.from(c.trainClusters));
  });
});

describe('expert schedule and storage', () => {
  it('reproduces the reference schedules (reference README, "Model Cascade" step 3)', () => {
    const cifar = [14254, 8508, 8731, 6983, 11524].map((n) => expertEpochs(n));
    expect(cifar.map((e) => e.epochs)).toEqual([526, 882, 859, 1074, 651]);
    expect(cifar.map((e) => e.queueStart)).toEqual([105, 176, 172, 215, 130]);
    const inat = [24465, 20804, 39001, 30600, 23124].map((n) => expertEpochs(n));
    expect(inat.map((e) => e.epochs)).toEqual([307, 361, 192, 245, 324]);
    expect(inat.map((e) => e.queueStart)).toEqual([61, 72, 38, 49, 65]);
    expect(expertEpochs(10000, { epochs: 2, scale: 0.5 })).toEqual({ epochs: 5, queueStart: 1 });
  });

  it('counts mask bits against one fp32 copy (β/32, 6β/32)', () => {
    expect(cascadeStorage({ maskedParamsPerModel: 1000, models: 1 })).toEqual({ maskBits: 1000, fp32Bits: 32000, fraction: 1 / 32, label: 'β/32' });
    const s = cascadeStorage({ maskedParamsPerModel: 23_454_912, models: 6 });
    expect(s.label).toBe('6β/32');
    expect(s.fraction).toBeCloseTo(6 / 32, 15);
  });
});
