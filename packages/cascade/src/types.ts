import type { DenseMatrix } from '@smn/core';

/** `@smn/core`'s host matrix (`data[r * cols + c]`): float32 for embeddings, float64 for fitted parameters. */
export type { DenseMatrix };

/** Options of {@link pcaWhiten}. */
export interface PcaWhitenOptions {
  /** Number of whitened components q (default 20, the notebook's `pca_lowrank(q=20)`). */
  components?: number;
  /** Subtract the column means first (default true). */
  center?: boolean;
  /**
   * `exact`: SVD of the centred data with ml-pca (small data only); `randomized`: seeded subspace iteration with tfjs
   * matmuls (like `torch.pca_lowrank`); `auto` (default): exact when N·D·min(N,D) ≤ 2e8, else randomized.
   */
  method?: 'auto' | 'exact' | 'randomized';
  /** Subspace (power) iterations of the randomized method (default 2, the notebook's `niter`). */
  niter?: number;
  /** Extra random directions of the randomized method, dropped at the end (default 10). */
  oversample?: number;
  /** Seed of the random test matrix (default 0). */
  seed?: number;
}

/** A fitted whitening PCA: `transform(Y) = (Y − mean)·V·diag(1/S)`. */
export interface PcaWhitening {
  /** Column means [D] (zeros when `center` was false). */
  mean: Float64Array;
  /** Right singular vectors [D, q], columns orthonormal, sign fixed so each column's largest entry is positive. */
  V: DenseMatrix;
  /** Singular values of the centred data [q], descending (not eigenvalues: √(N−1)·std of each component). */
  S: Float64Array;
  /** Whitened training rows [N, q] = (X − mean)·V·diag(1/S): the left singular vectors U (unit-norm columns). */
  train: DenseMatrix;
  /** Which method produced it. */
  method: 'exact' | 'randomized';
  /** Projects new rows [M, D] to whitened coordinates [M, q] (float32). */
  transform(Y: DenseMatrix): DenseMatrix;
}

/** Options of {@link fitGmm}. Defaults are sklearn 1.2 `GaussianMixture`'s. */
export interface GmmOptions {
  /** Number of mixture components (default 5). */
  components?: number;
  /** Added to the covariance diagonals (default 1e-6). */
  regCovar?: number;
  /** Stop when the mean log-likelihood lower bound changes by less than this (default 1e-3). */
  tol?: number;
  /** EM iterations at most (default 100). */
  maxIter?: number;
  /** Seed of the k-means initialisation (default 0). */
  seed?: number;
  /** Initial cluster of each row [N] instead of the k-means labels (sklearn's `init_params='kmeans'` step). */
  initLabels?: ArrayLike<number>;
  /** Called after every EM iteration. */
  onIteration?: (info: { iteration: number; lowerBound: number; change: number }) => void;
  signal?: AbortSignal;
}

/** The JSON form of a fitted Gaussian mixture (full covariances). */
export interface GmmJson {
  kind: 'gmm';
  /** Mixture weights [K]. */
  weights: number[];
  /** Means [K][d]. */
  means: number[][];
  /** Covariances [K][d][d] (with `regCovar` on the diagonal). */
  covariances: number[][][];
  /** sklearn's `precisions_cholesky_`: [K][d][d], upper triangular, `Σ⁻¹ = P·Pᵀ`. */
  precisionsCholesky: number[][][];
  converged: boolean;
  nIter: number;
  /** Final mean log-likelihood lower bound of the training data. */
  lowerBound: number;
  options: { components: number; regCovar: number; tol: number; maxIter: number; seed: number };
}

/** A clustering model that routes rows to clusters. */
export interface ClusterModel {
  /** Number of clusters. */
  readonly k: number;
  /** Cluster id of each row of X [N, d]. */
  predict(X: DenseMatrix): Int32Array;
  toJSON(): GmmJson | KmeansJson;
}

/** A fitted Gaussian mixture. */
export interface GaussianMixture extends ClusterModel {
  readonly json: GmmJson;
  /** Posterior probabilities [N, K]. */
  predictProba(X: DenseMatrix): DenseMatrix;
  /** Mean log-likelihood per row (sklearn `score`). */
  score(X: DenseMatrix): number;
  /** Per-row log-likelihood (sklearn `score_samples`). */
  scoreSamples(X: DenseMatrix): Float64Array;
  toJSON(): GmmJson;
}

/** The JSON form of k-means centroids. */
export interface KmeansJson {
  kind: 'kmeans';
  /** Centroids [K][d]. */
  centroids: number[][];
  iterations: number;
  options: { k: number; seed: number; maxIter: number };
}

/** A fitted k-means model (nearest centroid routing, the paper's text). */
export interface KmeansModel extends ClusterModel {
  readonly json: KmeansJson;
  toJSON(): KmeansJson;
}

/** The notebook's diagnostics of a clustering against class labels. */
export interface ClusterDiagnostics {
  /** Rows per cluster [K]. */
  sizes: number[];
  /** Mean over classes of the largest share of a class's rows in one cluster ("Mean" of the notebook). */
  meanLargestShare: number;
  /** Adjusted mutual information, arithmetic normalisation (sklearn's default; "ADJ" of the notebook). */
  ami: number;
  /** Adjusted Rand index. */
  ari: number;
}

/** Ensemble feature constructions of the reference's `ensemble.py`. */
export type EnsembleMethod =
  | 'baseline'
  | 'replace'
  | 'conditional'
  | 'unconditional'
  | 'pca_conditional'
  | 'pca_unconditional'
  | 'add_conditional'
  | 'add_unconditional';

/** Inputs of {@link ensembleFeatures}. Models are the dispatcher first, then the experts. */
export interface EnsembleInputs {
  /** Raw (un-normalised) train embeddings of each model, each [N, D]. */
  train: DenseMatrix[];
  /** Raw test embeddings of each model, each [M, D]. */
  test: DenseMatrix[];
  /** Cluster id of each train row [N] (dispatcher routing). */
  trainClusters: Int32Array;
  /** Cluster id of each test row [M]. */
  testClusters: Int32Array;
  /** Cluster of expert i (model i + 1); default [0, 1, …, M − 2]. */
  clusterIds?: number[];
}

/** Options of {@link ensembleFeatures}. */
export interface EnsembleOptions {
  /** Model used by `baseline` (default 0, the dispatcher). */
  baselineIndex?: number;
  /** PCA components of the `pca_*` methods (default D, the width of one model's embedding). */
  pcaComponents?: number;
  /** PCA subspace iterations (default 10, as ensemble.py's `niter`). */
  pcaNiter?: number;
  /** PCA seed (default 0). */
  seed?: number;
}

/** Features for evaluation: train [N, F] and test [M, F]. */
export interface EnsembleFeatures {
  method: EnsembleMethod;
  train: DenseMatrix;
  test: DenseMatrix;
  /** The PCA of the `pca_*` methods. */
  pca?: PcaWhitening;
}

/** Options of {@link fitLinearProbe}. */
export interface LinearProbeOptions {
  numClasses: number;
  /** L2 strength on W and the bias (default 0.01 / N, volt/linear_probe.py). */
  lambda?: number;
  /** L-BFGS iterations at most (default 500). */
  maxIter?: number;
  /**
   * Stop when the relative duality gap (P − D)/P ≤ tol (default 1e-3, cyanure's criterion in the reference); P is the
   * objective, D the Fenchel dual at the current residuals, so P − P* ≤ P − D.
   */
  tol?: number;
  /** L-BFGS history length (default 10). */
  history?: number;
  /** Rows per matmul chunk (default 8192): bounds memory for big N. */
  chunkRows?: number;
  onIteration?: (info: { iteration: number; loss: number; gradNorm: number; relativeGap: number }) => void;
  signal?: AbortSignal;
}

/** A fitted multinomial logistic regression. */
export interface LinearProbe {
  /** Weights [D, C] (row-major Float32Array, ready for `X·W + b`). */
  W: DenseMatrix;
  /** Bias [C]. */
  b: Float32Array;
  /** Final objective value. */
  loss: number;
  /** Final relative duality gap (P − D)/P. */
  relativeGap: number;
  iterations: number;
  converged: boolean;
  /** Training accuracy. */
  trainAccuracy: number;
  /** Argmax class of each row of X [M, D]. */
  predict(X: DenseMatrix): Int32Array;
  /** Logits X·W + b [M, C]. */
  decision(X: DenseMatrix): DenseMatrix;
}
