import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SmnError, atomicWriteFile, fmtShape, readNpy, writeNpy } from '@smn/core';
import { checkLength, checkMatrix, throwIfAborted } from './_dense.js';
import { clusterDiagnostics } from './diagnostics.js';
import { CascadeErrorCode } from './errors.js';
import { fitGmm, loadGmm } from './gaussian-mixture.js';
import { kmeansCluster, loadKmeans } from './kmeans-cluster.js';
import { whitenRows, pcaWhiten } from './pca-whiten.js';
import type { ClusterDiagnostics, ClusterModel, DenseMatrix, GmmJson, KmeansJson } from './types.js';

/** Options of {@link clusterEmbeddings}. */
export interface ClusterOptions {
  /** Number of clusters (default 5). */
  clusters?: number;
  /** `gmm` (the reference code: GMM posterior argmax) or `kmeans` (the paper's text: nearest centroid). Default gmm. */
  method?: 'gmm' | 'kmeans';
  /** Whitened PCA components before clustering (default 20). */
  components?: number;
  /** Seed of the PCA and the (k-means) initialisation (default 0). */
  seed?: number;
  /** Randomized-PCA subspace iterations (default 2, the notebook's). */
  niter?: number;
  /** Class labels of the rows [N], for the diagnostics. */
  labels?: ArrayLike<number>;
  /** Extra rows to route (the test set's normalised embeddings) [M, D]. */
  test?: DenseMatrix;
  /** Class labels of the test rows, for test diagnostics. */
  testLabels?: ArrayLike<number>;
  signal?: AbortSignal;
}

/** A saved/loaded PCA (no training rows). */
export interface PcaParams {
  mean: Float64Array;
  V: DenseMatrix;
  S: Float64Array;
}

/** The result of {@link clusterEmbeddings}, what {@link saveClustering} writes. */
export interface Clustering {
  method: 'gmm' | 'kmeans';
  pca: PcaParams;
  model: ClusterModel;
  /** Cluster of each clustered (train) row [N]. */
  trainClusters: Int32Array;
  /** Cluster of each test row [M], when test rows were given. */
  testClusters?: Int32Array;
  diagnostics?: ClusterDiagnostics;
  testDiagnostics?: ClusterDiagnostics;
  /** Facts written to `clustering.json`. */
  info: ClusteringInfo;
}

/** The contents of `clustering.json`. */
export interface ClusteringInfo {
  format: 'smn-clustering';
  version: 1;
  method: 'gmm' | 'kmeans';
  clusters: number;
  components: number;
  seed: number;
  niter: number;
  /** Rows and width of the clustered embeddings. */
  rows: number;
  dims: number;
  sizes: number[];
  meanLargestShare?: number;
  ami?: number;
  ari?: number;
  /** Where the embeddings came from (free text, e.g. the .npy path). */
  source?: string;
}

/**
 * Cascade step 1 (the reference's notebook/clustering_v2.ipynb; docs/cascade.md): whitening PCA of the dispatcher's L2-normalised train embeddings X [N, D] to
 * `components` dims, then a Gaussian mixture (or k-means) with `clusters` components; returns the train assignments,
 * optional test routing and the notebook's diagnostics. Seeded end to end.
 */
export function clusterEmbeddings(X: DenseMatrix, options: ClusterOptions = {}): Clustering {
  const clusters = options.clusters ?? 5;
  const method = options.method ?? 'gmm';
  const components = options.components ?? 20;
  const seed = options.seed ?? 0;
  const niter = options.niter ?? 2;
  checkMatrix(X, 'clusterEmbeddings: embeddings');
  if (method !== 'gmm' && method !== 'kmeans') {
    throw new SmnError(CascadeErrorCode.Option, `clusterEmbeddings: method must be 'gmm' or 'kmeans', got '${String(method)}'`, { kind: 'usage' });
  }
  if (options.labels) checkLength(options.labels, X.rows, 'clusterEmbeddings: labels', 'the embeddings');
  const pca = pcaWhiten(X, { components, seed, niter });
  throwIfAborted(options.signal, 'clusterEmbeddings');
  const model: ClusterModel =
    method === 'gmm'
      ? fitGmm(pca.train, { components: clusters, seed, ...(options.signal ? { signal: options.signal } : {}) })
      : kmeansCluster(pca.train, { k: clusters, seed });
  const trainClusters = model.predict(pca.train);
  const res: Clustering = {
    method,
    pca: { mean: pca.mean, V: pca.V, S: pca.S },
    model,
    trainClusters,
    info: {
      format: 'smn-clustering',
      version: 1,
      method,
      clusters,
      components,
      seed,
      niter,
      rows: X.rows,
      dims: X.cols,
      sizes: [],
    },
  };
  if (options.labels) res.diagnostics = clusterDiagnostics(trainClusters, options.labels, clusters);
  res.info.sizes = res.diagnostics?.sizes ?? countSizes(trainClusters, clusters);
  if (res.diagnostics) {
    res.info.meanLargestShare = res.diagnostics.meanLargestShare;
    res.info.ami = res.diagnostics.ami;
    res.info.ari = res.diagnostics.ari;
  }
  if (options.test) {
    res.testClusters = routeRows(res, options.test);
    if (options.testLabels) {
      checkLength(options.testLabels, options.test.rows, 'clusterEmbeddings: testLabels', 'the test embeddings');
      res.testDiagnostics = clusterDiagnostics(res.testClusters, options.testLabels, clusters);
    }
  }
  return res;
}

function countSizes(ids: Int32Array, k: number): number[] {
  const s = new Array<number>(k).fill(0);
  for (const c of ids) s[c]! += 1;
  return s;
}

/** Routes rows [M, D] (dispatcher L2-normalised embeddings) to clusters: model.predict((x − μ)·V·diag(1/S)). */
export function routeRows(c: Pick<Clustering, 'pca' | 'model'>, rows: DenseMatrix): Int32Array {
  return c.model.predict(whitenRows(rows, c.pca.mean, c.pca.V, c.pca.S));
}

/** File names inside a clustering folder (documented in docs/cascade.md). */
export const CLUSTERING_FILES = {
  info: 'clustering.json',
  trainClusters: 'clusters.npy',
  testClusters: 'test_clusters.npy',
  pcaMean: 'pca_mean.npy',
  pcaV: 'pca_V.npy',
  pcaS: 'pca_S.npy',
  gmm: 'gmm.json',
  kmeans: 'kmeans.json',
} as const;

/** Writes a clustering to `dir` (each file atomically); see {@link CLUSTERING_FILES}. */
export async function saveClustering(dir: string, c: Clustering): Promise<void> {
  const F = CLUSTERING_FILES;
  await writeNpy(join(dir, F.trainClusters), { shape: [c.trainClusters.length], dtype: 'int32', data: c.trainClusters });
  if (c.testClusters) await writeNpy(join(dir, F.testClusters), { shape: [c.testClusters.length], dtype: 'int32', data: c.testClusters });
  await writeNpy(join(dir, F.pcaMean), { shape: [c.pca.mean.length], dtype: 'float64', data: c.pca.mean });
  await writeNpy(join(dir, F.pcaV), { shape: [c.pca.V.rows, c.pca.V.cols], dtype: 'float64', data: Float64Array.from(c.pca.V.data) });
  await writeNpy(join(dir, F.pcaS), { shape: [c.pca.S.length], dtype: 'float64', data: c.pca.S });
  await atomicWriteFile(join(dir, c.method === 'gmm' ? F.gmm : F.kmeans), JSON.stringify(c.model.toJSON(), null, 1) + '\n');
  const info = { ...c.info, ...(c.testDiagnostics ? { test: c.testDiagnostics } : {}) };
  // Written last: its presence marks a complete folder (a killed run leaves no clustering.json).
  await atomicWriteFile(join(dir, F.info), JSON.stringify(info, null, 2) + '\n');
}

/** Reads a clustering folder written by {@link saveClustering}. Errors name the missing or inconsistent file. */
export async function loadClustering(dir: string): Promise<Clustering> {
  const F = CLUSTERING_FILES;
  const readJson = async <T>(name: string): Promise<T> => {
    const p = join(dir, name);
    let txt: string;
    try {
      txt = await readFile(p, 'utf8');
    } catch (err) {
      throw new SmnError(CascadeErrorCode.File, `clustering folder ${dir}: cannot read ${name} (${(err as Error).message}); run 'smn cluster' first`, { cause: err });
    }
    try {
      return JSON.parse(txt) as T;
    } catch (err) {
      throw new SmnError(CascadeErrorCode.File, `${p} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  };
  const info = await readJson<ClusteringInfo>(F.info);
  if (info.format !== 'smn-clustering') {
    throw new SmnError(CascadeErrorCode.File, `${join(dir, F.info)}: expected format 'smn-clustering', found ${JSON.stringify(info.format)}`);
  }
  const model = info.method === 'gmm' ? loadGmm(await readJson<GmmJson>(F.gmm)) : loadKmeans(await readJson<KmeansJson>(F.kmeans));
  const mean = await readNpy(join(dir, F.pcaMean));
  const V = await readNpy(join(dir, F.pcaV));
  const S = await readNpy(join(dir, F.pcaS));
  const D = mean.shape[0]!;
  const q = S.shape[0]!;
  if (V.shape.length !== 2 || V.shape[0] !== D || V.shape[1] !== q) {
    throw new SmnError(CascadeErrorCode.File, `${join(dir, F.pcaV)} has shape ${fmtShape(V.shape)}, expected ${fmtShape([D, q])} from pca_mean.npy and pca_S.npy`);
  }
  const f64 = (a: { data: ArrayLike<number> | BigInt64Array }): Float64Array => Float64Array.from(a.data as ArrayLike<number>);
  const trainClusters = Int32Array.from((await readNpy(join(dir, F.trainClusters))).data as ArrayLike<number>);
  let testClusters: Int32Array | undefined;
  try {
    testClusters = Int32Array.from((await readNpy(join(dir, F.testClusters))).data as ArrayLike<number>);
  } catch {
    testClusters = undefined;
  }
  return {
    method: info.method,
    pca: { mean: f64(mean), V: { rows: D, cols: q, data: f64(V) }, S: f64(S) },
    model,
    trainClusters,
    ...(testClusters ? { testClusters } : {}),
    info,
  };
}
