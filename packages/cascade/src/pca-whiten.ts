import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng, fmtShape } from '@smn/core';
import { PCA } from 'ml-pca';
import { checkMatrix, cholesky, columnMeans, invLower, symEig, toRows } from './_dense.js';
import { CascadeErrorCode } from './errors.js';
import type { DenseMatrix, PcaWhitenOptions, PcaWhitening } from './types.js';

const DEFAULTS = { components: 20, center: true, method: 'auto', niter: 2, oversample: 10, seed: 0 } as const;

/**
 * Fits a whitening PCA of X [N, D] to q components: `transform(Y) = (Y − mean)·V·diag(1/S)`, S the singular values of
 * the centred data, so the whitened training rows `train` are the left singular vectors U (notebook/clustering_v2.ipynb and ensemble.py; docs/method.md#cascades).
 *
 * Small data uses an exact SVD (ml-pca); large data a seeded randomized subspace iteration like
 * `torch.pca_lowrank(A, q, center, niter)`, whose big products run as tfjs matmuls on the active backend (call
 * `useBackend` first). Randomized results are exact up to the approximation of the subspace; signs are fixed so that
 * each column of V has its largest-magnitude entry positive.
 *
 * ```ts
 * const pca = pcaWhiten({ rows: N, cols: D, data }, { components: 20, seed: 0 });
 * pca.train;                 // [N, 20], unit-norm columns
 * pca.transform(testRows);   // [M, 20]
 * ```
 */
export function pcaWhiten(X: DenseMatrix, options: PcaWhitenOptions = {}): PcaWhitening {
  const o = { ...DEFAULTS, ...options };
  checkMatrix(X, 'pcaWhiten: X');
  const { rows: N, cols: D } = X;
  const q = o.components;
  if (!Number.isInteger(q) || q < 1 || q > Math.min(N, D)) {
    throw new SmnError(
      CascadeErrorCode.Option,
      `pcaWhiten: components must be an integer in [1, min(N, D)] = [1, ${Math.min(N, D)}] for X ${fmtShape([N, D])}, got ${q}`,
      { kind: 'usage' },
    );
  }
  const method = o.method === 'auto' ? (N * D * Math.min(N, D) <= 2e8 ? 'exact' : 'randomized') : o.method;
  const fit =
    method === 'exact' ? exactPca(X, q, o.center) : randomizedPca(X, q, o.center, o.niter, o.oversample, o.seed);
  fixSigns(fit.V, D, q);
  for (let j = 0; j < q; j++) {
    if (!(fit.S[j]! > 1e-12 * Math.max(fit.S[0]!, 1e-300))) {
      throw new SmnError(
        CascadeErrorCode.NotPositiveDefinite,
        `pcaWhiten: singular value ${j} of the centred data is ${fit.S[j]} (largest ${fit.S[0]}): the data has rank < ${q}, so whitening would divide by zero; ask for fewer components`,
      );
    }
  }
  const V: DenseMatrix = { rows: D, cols: q, data: fit.V };
  const mean = fit.mean;
  const S = fit.S;
  const transform = (Y: DenseMatrix): DenseMatrix => whitenRows(Y, mean, V, S);
  return { mean, V, S, method, train: transform(X), transform };
}

/** (Y − mean)·V·diag(1/S) as float32 [M, q], with a tfjs matmul. */
export function whitenRows(Y: DenseMatrix, mean: Float64Array, V: DenseMatrix, S: Float64Array): DenseMatrix {
  checkMatrix(Y, 'PCA transform input', V.rows);
  const q = V.cols;
  const D = V.rows;
  const scaled = new Float32Array(D * q);
  for (let i = 0; i < D; i++) for (let j = 0; j < q; j++) scaled[i * q + j] = V.data[i * q + j]! / S[j]!;
  // Centre in float64 per chunk: embeddings are far from the origin (ReLU features), so centring after the
  // float32 matmul would cancel digits.
  const out = new Float32Array(Y.rows * q);
  const chunk = Math.max(1, Math.floor(2 ** 24 / Math.max(D, 1)));
  const Vs = tf.tensor2d(scaled, [D, q]);
  try {
    for (let r0 = 0; r0 < Y.rows; r0 += chunk) {
      const r1 = Math.min(Y.rows, r0 + chunk);
      const block = new Float32Array((r1 - r0) * D);
      for (let r = r0; r < r1; r++) {
        const o = r * D;
        const b = (r - r0) * D;
        for (let c = 0; c < D; c++) block[b + c] = Y.data[o + c]! - mean[c]!;
      }
      const res = tf.tidy(() => tf.matMul(tf.tensor2d(block, [r1 - r0, D]), Vs));
      out.set(res.dataSync() as Float32Array, r0 * q);
      res.dispose();
    }
  } finally {
    Vs.dispose();
  }
  return { rows: Y.rows, cols: q, data: out };
}

function exactPca(X: DenseMatrix, q: number, center: boolean): { mean: Float64Array; V: Float64Array; S: Float64Array } {
  const D = X.cols;
  const pca = new PCA(toRows(X), { center, scale: false, method: 'SVD' });
  const ev = pca.getEigenvectors();
  const eig = pca.getEigenvalues();
  const V = new Float64Array(D * q);
  const S = new Float64Array(q);
  // ml-pca reports eigenvalues s²/(N−1); whitening needs the singular values s of the centred data.
  for (let j = 0; j < q; j++) {
    S[j] = Math.sqrt(Math.max(0, (eig[j] ?? 0) * (X.rows - 1)));
    for (let i = 0; i < D; i++) V[i * q + j] = j < ev.columns ? ev.get(i, j) : 0;
  }
  return { mean: center ? columnMeans(X) : new Float64Array(D), V, S };
}

/**
 * Randomized PCA (Halko et al. 2011, as `torch.pca_lowrank`): Q = orth((X − μ)Ω), `niter` subspace iterations,
 * then the SVD of the small B = Qᵀ(X − μ) through the eigen-decomposition of B·Bᵀ.
 */
function randomizedPca(
  X: DenseMatrix,
  q: number,
  center: boolean,
  niter: number,
  oversample: number,
  seed: number,
): { mean: Float64Array; V: Float64Array; S: Float64Array } {
  const { rows: N, cols: D } = X;
  const l = Math.min(q + Math.max(0, oversample), N, D);
  const mean = center ? columnMeans(X) : new Float64Array(D);
  const rng = createRng(seed);
  const omega = new Float32Array(D * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  const Xt = tf.tensor2d(X.data instanceof Float32Array ? X.data : Float32Array.from(X.data), [N, D]);
  const mu = tf.tensor2d(Float32Array.from(mean), [1, D]);
  // Products with the centred matrix A = X − 1μ without forming it.
  const aMul = (B: tf.Tensor2D): tf.Tensor2D => tf.tidy(() => tf.sub(tf.matMul(Xt, B), tf.matMul(mu, B)));
  const atMul = (Qm: tf.Tensor2D): tf.Tensor2D =>
    tf.tidy(() => tf.sub(tf.matMul(Xt, Qm, true, false), tf.matMul(mu, tf.sum(Qm, 0, true), true, false)));
  const swap = (old: tf.Tensor2D, next: tf.Tensor2D): tf.Tensor2D => {
    old.dispose();
    return next;
  };
  try {
    const om = tf.tensor2d(omega, [D, l]);
    let Qm = swap(om, aMul(om));
    Qm = swap(Qm, orthonormalize(Qm));
    for (let it = 0; it < niter; it++) {
      let Z = atMul(Qm);
      Z = swap(Z, orthonormalize(Z));
      Qm = swap(Qm, aMul(Z));
      Z.dispose();
      Qm = swap(Qm, orthonormalize(Qm));
    }
    const Bt = atMul(Qm); // [D, l] = ((X − μ)ᵀQ)
    Qm.dispose();
    const G = tf.tidy(() => tf.matMul(Bt, Bt, true, false));
    const g = Float64Array.from(G.dataSync());
    G.dispose();
    const { values, vectors } = symEig(g, l);
    const S = new Float64Array(q);
    const W = new Float32Array(l * q);
    for (let j = 0; j < q; j++) {
      S[j] = Math.sqrt(Math.max(values[j]!, 0));
      const inv = S[j]! > 0 ? 1 / S[j]! : 0;
      for (let i = 0; i < l; i++) W[i * q + j] = vectors[i * l + j]! * inv;
    }
    const Vt = tf.tidy(() => tf.matMul(Bt, tf.tensor2d(W, [l, q])));
    Bt.dispose();
    const V = Float64Array.from(Vt.dataSync());
    Vt.dispose();
    return { mean, V, S };
  } finally {
    Xt.dispose();
    mu.dispose();
  }
}

/**
 * Orthonormal columns spanning Y [n, l] (CholeskyQR2 with a shift when the Gram matrix is numerically singular):
 * Y ← Y·L⁻ᵀ with L = chol(YᵀY), repeated until YᵀY ≈ I. Returns a new tensor; Y is not disposed.
 */
function orthonormalize(Y: tf.Tensor2D): tf.Tensor2D {
  const l = Y.shape[1];
  let cur: tf.Tensor2D = tf.clone(Y);
  for (let pass = 0; pass < 4; pass++) {
    const Gt = tf.tidy(() => tf.matMul(cur, cur, true, false));
    const G = Float64Array.from(Gt.dataSync());
    Gt.dispose();
    let err = 0;
    let maxDiag = 0;
    for (let i = 0; i < l; i++) {
      maxDiag = Math.max(maxDiag, G[i * l + i]!);
      for (let j = 0; j < l; j++) err = Math.max(err, Math.abs(G[i * l + j]! - (i === j ? 1 : 0)));
    }
    if (pass > 0 && err < 1e-4) break;
    if (maxDiag === 0) break;
    let L = cholesky(G, l);
    for (let shift = 1e-6 * maxDiag; L === null && shift <= maxDiag; shift *= 10) {
      const Gs = Float64Array.from(G);
      for (let i = 0; i < l; i++) Gs[i * l + i] = Gs[i * l + i]! + (shift);
      L = cholesky(Gs, l);
    }
    if (L === null) {
      throw new SmnError(CascadeErrorCode.NotPositiveDefinite, `pcaWhiten: the ${fmtShape([Y.shape[0], l])} basis could not be orthonormalised (Gram matrix not positive definite even with a shift); does X contain NaN/Inf?`);
    }
    const Linv = invLower(L, l);
    // Y·L⁻ᵀ: transpose Linv (row-major) into the right-hand factor.
    const R = new Float32Array(l * l);
    for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) R[i * l + j] = Linv[j * l + i]!;
    const next: tf.Tensor2D = tf.tidy(() => tf.matMul(cur, tf.tensor2d(R, [l, l])));
    cur.dispose();
    cur = next;
  }
  return cur;
}

function fixSigns(V: Float64Array, D: number, q: number): void {
  for (let j = 0; j < q; j++) {
    let best = 0;
    for (let i = 0; i < D; i++) if (Math.abs(V[i * q + j]!) > Math.abs(best)) best = V[i * q + j]!;
    if (best < 0) for (let i = 0; i < D; i++) V[i * q + j] = -V[i * q + j]!;
  }
}
