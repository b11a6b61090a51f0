import { SmnError, fmtShape } from '@smn/core';
import { kmeans } from 'ml-kmeans';
import { checkLength, checkMatrix, cholesky, invLower, throwIfAborted, toRows } from './_dense.js';
import { CascadeErrorCode } from './errors.js';
import type { DenseMatrix, GaussianMixture, GmmJson, GmmOptions } from './types.js';

const DEFAULTS = { components: 5, regCovar: 1e-6, tol: 1e-3, maxIter: 100, seed: 0 };
const LOG_2PI = Math.log(2 * Math.PI);
// sklearn adds 10·eps to every component's weight so an empty component does not divide by zero.
const EPS10 = 10 * Number.EPSILON;

/**
 * Fits a full-covariance Gaussian mixture by EM, as sklearn 1.2 `GaussianMixture(n_components, covariance_type='full',
 * tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1, init_params='kmeans')` (as notebook/clustering_v2.ipynb): responsibilities
 * from a seeded k-means (ml-kmeans, k-means++), then E/M steps with log-sum-exp responsibilities and Cholesky
 * precisions until the mean log-likelihood lower bound changes by less than `tol`.
 *
 * ```ts
 * const gm = fitGmm(pca.train, { components: 5, seed: 0 });
 * const ids = gm.predict(pca.train);   // Int32Array [N]
 * JSON.stringify(gm.toJSON());         // loadGmm(json) restores it
 * ```
 */
export function fitGmm(X: DenseMatrix, options: GmmOptions = {}): GaussianMixture {
  const o = { ...DEFAULTS, ...options };
  checkMatrix(X, 'fitGmm: X');
  const { rows: N, cols: d } = X;
  const K = o.components;
  if (!Number.isInteger(K) || K < 1 || K > N) {
    throw new SmnError(CascadeErrorCode.Option, `fitGmm: components must be an integer in [1, N = ${N}], got ${K}`, { kind: 'usage' });
  }
  if (!(o.regCovar >= 0) || !(o.tol >= 0) || !Number.isInteger(o.maxIter) || o.maxIter < 1) {
    throw new SmnError(
      CascadeErrorCode.Option,
      `fitGmm: expected regCovar ≥ 0, tol ≥ 0 and an integer maxIter ≥ 1, got regCovar ${o.regCovar}, tol ${o.tol}, maxIter ${o.maxIter}`,
      { kind: 'usage' },
    );
  }
  const x = X.data instanceof Float64Array ? X.data : Float64Array.from(X.data);
  // Initial responsibilities: one-hot k-means labels (sklearn: KMeans(n_init=1, random_state).fit(X).labels_).
  let labels: ArrayLike<number>;
  if (o.initLabels) {
    checkLength(o.initLabels, N, 'fitGmm: initLabels', 'X');
    if (Array.prototype.some.call(o.initLabels, (l: number) => !(Number.isInteger(l) && l >= 0 && l < K))) {
      throw new SmnError(CascadeErrorCode.Option, `fitGmm: initLabels must be integers in [0, ${K})`, { kind: 'usage' });
    }
    labels = o.initLabels;
  } else {
    labels = K === 1 ? new Array<number>(N).fill(0) : kmeans(toRows(X), K, { seed: o.seed, initialization: 'kmeans++' }).clusters;
  }
  const resp = new Float64Array(N * K);
  for (let i = 0; i < N; i++) resp[i * K + labels[i]!] = 1;
  let params = mStep(x, N, d, K, resp, o.regCovar, true);

  let lowerBound = -Infinity;
  let converged = false;
  let nIter = 0;
  const logResp = new Float64Array(N * K);
  for (let it = 1; it <= o.maxIter; it++) {
    throwIfAborted(o.signal, 'fitGmm');
    const prev = lowerBound;
    const logProbNorm = eStep(x, N, d, K, params, logResp);
    for (let i = 0; i < N * K; i++) resp[i] = Math.exp(logResp[i]!);
    params = mStep(x, N, d, K, resp, o.regCovar, false);
    lowerBound = logProbNorm;
    nIter = it;
    const change = lowerBound - prev;
    o.onIteration?.({ iteration: it, lowerBound, change });
    if (Math.abs(change) < o.tol) {
      converged = true;
      break;
    }
  }
  const json: GmmJson = {
    kind: 'gmm',
    weights: Array.from(params.weights),
    means: unflat2(params.means, K, d),
    covariances: Array.from({ length: K }, (_, k) => unflat2(params.covs.subarray(k * d * d, (k + 1) * d * d), d, d)),
    precisionsCholesky: Array.from({ length: K }, (_, k) => unflat2(params.precChol.subarray(k * d * d, (k + 1) * d * d), d, d)),
    converged,
    nIter,
    lowerBound,
    options: { components: K, regCovar: o.regCovar, tol: o.tol, maxIter: o.maxIter, seed: o.seed },
  };
  return loadGmm(json);
}

/** Restores a Gaussian mixture from its JSON form (`gm.toJSON()`). */
export function loadGmm(json: GmmJson): GaussianMixture {
  if (json?.kind !== 'gmm' || !Array.isArray(json.weights) || !Array.isArray(json.means) || !Array.isArray(json.precisionsCholesky)) {
    throw new SmnError(CascadeErrorCode.File, `loadGmm: expected an object with kind 'gmm', weights, means and precisionsCholesky; got ${JSON.stringify(json)?.slice(0, 120)}`);
  }
  const K = json.weights.length;
  const d = json.means[0]?.length ?? 0;
  const params: Params = {
    weights: Float64Array.from(json.weights),
    means: flat(json.means, K, d, 'means'),
    covs: new Float64Array(0),
    precChol: new Float64Array(K * d * d),
  };
  json.precisionsCholesky.forEach((P, k) => params.precChol.set(flat(P, d, d, `precisionsCholesky[${k}]`), k * d * d));
  const check = (X: DenseMatrix): Float64Array => {
    checkMatrix(X, 'Gaussian mixture input', d);
    return X.data instanceof Float64Array ? X.data : Float64Array.from(X.data);
  };
  const weighted = (X: DenseMatrix): Float64Array => {
    const out = new Float64Array(X.rows * K);
    weightedLogProb(check(X), X.rows, d, K, params, out);
    return out;
  };
  return {
    k: K,
    json,
    predict(X) {
      const w = weighted(X);
      const ids = new Int32Array(X.rows);
      for (let i = 0; i < X.rows; i++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (w[i * K + k]! > w[i * K + best]!) best = k;
        ids[i] = best;
      }
      return ids;
    },
    predictProba(X) {
      const w = weighted(X);
      for (let i = 0; i < X.rows; i++) {
        const lse = logSumExp(w, i * K, K);
        for (let k = 0; k < K; k++) w[i * K + k] = Math.exp(w[i * K + k]! - lse);
      }
      return { rows: X.rows, cols: K, data: w };
    },
    scoreSamples(X) {
      const w = weighted(X);
      const out = new Float64Array(X.rows);
      for (let i = 0; i < X.rows; i++) out[i] = logSumExp(w, i * K, K);
      return out;
    },
    score(X) {
      const s = this.scoreSamples(X);
      let t = 0;
      for (const v of s) t += v;
      return t / Math.max(1, s.length);
    },
    toJSON: () => json,
  };
}

interface Params {
  weights: Float64Array; // [K]
  means: Float64Array; // [K, d]
  covs: Float64Array; // [K, d, d]
  precChol: Float64Array; // [K, d, d], upper triangular (sklearn's precisions_cholesky_)
}

/**
 * M step: weights, means, covariances (+ regCovar) and precision Cholesky factors from responsibilities [N, K].
 * sklearn divides the initial weights by N and later ones by their sum (which includes the 10·eps terms).
 */
function mStep(x: Float64Array, N: number, d: number, K: number, resp: Float64Array, reg: number, init: boolean): Params {
  const nk = new Float64Array(K).fill(EPS10);
  for (let i = 0; i < N; i++) for (let k = 0; k < K; k++) nk[k] = nk[k]! + (resp[i * K + k]!);
  const means = new Float64Array(K * d);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < K; k++) {
      const r = resp[i * K + k]!;
      if (r === 0) continue;
      for (let a = 0; a < d; a++) means[k * d + a] = means[k * d + a]! + (r * x[i * d + a]!);
    }
  }
  for (let k = 0; k < K; k++) for (let a = 0; a < d; a++) means[k * d + a] = means[k * d + a]! / (nk[k]!);
  const covs = new Float64Array(K * d * d);
  const diff = new Float64Array(d);
  for (let k = 0; k < K; k++) {
    const C = covs.subarray(k * d * d, (k + 1) * d * d);
    for (let i = 0; i < N; i++) {
      const r = resp[i * K + k]!;
      if (r === 0) continue;
      for (let a = 0; a < d; a++) diff[a] = x[i * d + a]! - means[k * d + a]!;
      for (let a = 0; a < d; a++) {
        const ra = r * diff[a]!;
        for (let b = 0; b <= a; b++) C[a * d + b] = C[a * d + b]! + (ra * diff[b]!);
      }
    }
    for (let a = 0; a < d; a++) {
      for (let b = 0; b <= a; b++) {
        const v = C[a * d + b]! / nk[k]!;
        C[a * d + b] = v;
        C[b * d + a] = v;
      }
      C[a * d + a] = C[a * d + a]! + (reg);
    }
  }
  const precChol = new Float64Array(K * d * d);
  for (let k = 0; k < K; k++) {
    const L = cholesky(covs.subarray(k * d * d, (k + 1) * d * d), d);
    if (L === null) {
      throw new SmnError(
        CascadeErrorCode.NotPositiveDefinite,
        `fitGmm: the covariance of component ${k} (${nk[k]!.toFixed(1)} rows) is not positive definite: it collapsed onto too few points or duplicate rows; increase regCovar (now ${reg}) or use fewer components`,
      );
    }
    // sklearn: precisions_cholesky = solve_triangular(L, I, lower=True).T (upper triangular).
    const Li = invLower(L, d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) precChol[k * d * d + a * d + b] = Li[b * d + a]!;
  }
  const weights = new Float64Array(K);
  const total = init ? N : nk.reduce((a, b) => a + b, 0);
  for (let k = 0; k < K; k++) weights[k] = nk[k]! / total;
  return { weights, means, covs, precChol };
}

/** log N(x_i | μ_k, Σ_k) + log w_k into out [N, K]. */
function weightedLogProb(x: Float64Array, N: number, d: number, K: number, p: Params, out: Float64Array): void {
  const y = new Float64Array(d);
  const diff = new Float64Array(d);
  for (let k = 0; k < K; k++) {
    const P = p.precChol.subarray(k * d * d, (k + 1) * d * d);
    let logDet = 0;
    for (let a = 0; a < d; a++) logDet += Math.log(P[a * d + a]!);
    const base = -0.5 * d * LOG_2PI + logDet + Math.log(p.weights[k]!);
    for (let i = 0; i < N; i++) {
      for (let a = 0; a < d; a++) diff[a] = x[i * d + a]! - p.means[k * d + a]!;
      // y = (x − μ)·P with P upper triangular: y_b = Σ_{a ≤ b} diff_a P_ab.
      y.fill(0);
      for (let a = 0; a < d; a++) {
        const da = diff[a]!;
        if (da === 0) continue;
        const row = a * d;
        for (let b = a; b < d; b++) y[b] = y[b]! + (da * P[row + b]!);
      }
      let sq = 0;
      for (let b = 0; b < d; b++) sq += y[b]! * y[b]!;
      out[i * K + k] = base - 0.5 * sq;
    }
  }
}

/** E step: fills logResp [N, K]; returns the mean log-likelihood (sklearn's `log_prob_norm`). */
function eStep(x: Float64Array, N: number, d: number, K: number, p: Params, logResp: Float64Array): number {
  weightedLogProb(x, N, d, K, p, logResp);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const lse = logSumExp(logResp, i * K, K);
    total += lse;
    for (let k = 0; k < K; k++) logResp[i * K + k] = logResp[i * K + k]! - (lse);
  }
  return total / N;
}

function logSumExp(a: Float64Array, off: number, n: number): number {
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, a[off + k]!);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.exp(a[off + k]! - m);
  return m + Math.log(s);
}

function unflat2(a: Float64Array, r: number, c: number): number[][] {
  return Array.from({ length: r }, (_, i) => Array.from(a.subarray(i * c, (i + 1) * c)));
}

function flat(rows: number[][], r: number, c: number, what: string): Float64Array {
  if (rows.length !== r || rows.some((row) => row.length !== c)) {
    throw new SmnError(CascadeErrorCode.File, `loadGmm: ${what} must be ${fmtShape([r, c])}, found ${rows.length} rows of lengths ${[...new Set(rows.map((x) => x.length))].join('/')}`);
  }
  const out = new Float64Array(r * c);
  rows.forEach((row, i) => out.set(row, i * c));
  return out;
}
