import { SmnError } from '@smn/core';
import { kmeans } from 'ml-kmeans';
import { checkMatrix, toRows } from './_dense.js';
import { CascadeErrorCode } from './errors.js';
import type { DenseMatrix, KmeansJson, KmeansModel } from './types.js';

/**
 * Seeded k-means (ml-kmeans, k-means++ initialisation) on X [N, d]; routing by nearest centroid, the paper's text
 * description of the cascade (`smn cluster --method kmeans`).
 *
 * ```ts
 * const km = kmeansCluster(pca.train, { k: 5, seed: 0 });
 * km.predict(pca.transform(test));
 * ```
 */
export function kmeansCluster(X: DenseMatrix, options: { k?: number; seed?: number; maxIter?: number } = {}): KmeansModel {
  const k = options.k ?? 5;
  const seed = options.seed ?? 0;
  const maxIter = options.maxIter ?? 300;
  checkMatrix(X, 'kmeansCluster: X');
  if (!Number.isInteger(k) || k < 1 || k > X.rows) {
    throw new SmnError(CascadeErrorCode.Option, `kmeansCluster: k must be an integer in [1, N = ${X.rows}], got ${k}`, { kind: 'usage' });
  }
  const res = kmeans(toRows(X), k, { seed, initialization: 'kmeans++', maxIterations: maxIter });
  return loadKmeans({ kind: 'kmeans', centroids: res.centroids, iterations: res.iterations, options: { k, seed, maxIter } });
}

/** Restores a k-means model from its JSON form. */
export function loadKmeans(json: KmeansJson): KmeansModel {
  if (json?.kind !== 'kmeans' || !Array.isArray(json.centroids) || json.centroids.length === 0) {
    throw new SmnError(CascadeErrorCode.File, `loadKmeans: expected an object with kind 'kmeans' and a non-empty centroids array`);
  }
  const K = json.centroids.length;
  const d = json.centroids[0]!.length;
  const C = new Float64Array(K * d);
  json.centroids.forEach((c, i) => C.set(c, i * d));
  return {
    k: K,
    json,
    predict(X) {
      checkMatrix(X, 'k-means input', d);
      const ids = new Int32Array(X.rows);
      for (let i = 0; i < X.rows; i++) {
        let best = 0;
        let bestD = Infinity;
        for (let c = 0; c < K; c++) {
          let s = 0;
          for (let a = 0; a < d; a++) {
            const t = X.data[i * d + a]! - C[c * d + a]!;
            s += t * t;
          }
          if (s < bestD) {
            bestD = s;
            best = c;
          }
        }
        ids[i] = best;
      }
      return ids;
    },
    toJSON: () => json,
  };
}
