import { SmnError } from '@smn/core';
import { lgamma } from './_dense.js';
import { CascadeErrorCode } from './errors.js';
import type { ClusterDiagnostics } from './types.js';

interface Contingency {
  /** Counts [R, C] row-major: rows = classes of `a`, columns = classes of `b`. */
  n: Float64Array;
  R: number;
  C: number;
  rowSums: Float64Array;
  colSums: Float64Array;
  N: number;
}

function contingency(a: ArrayLike<number>, b: ArrayLike<number>, what: string): Contingency {
  if (a.length !== b.length) {
    throw new SmnError(CascadeErrorCode.Shape, `${what}: the two labelings have lengths ${a.length} and ${b.length}; they must label the same rows`);
  }
  const ra = new Map<number, number>();
  const rb = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if (!ra.has(a[i]!)) ra.set(a[i]!, ra.size);
    if (!rb.has(b[i]!)) rb.set(b[i]!, rb.size);
  }
  const R = ra.size;
  const C = rb.size;
  const n = new Float64Array(R * C);
  for (let i = 0; i < a.length; i++) n[ra.get(a[i]!)! * C + rb.get(b[i]!)!]! += 1;
  const rowSums = new Float64Array(R);
  const colSums = new Float64Array(C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
    rowSums[r] = rowSums[r]! + n[r * C + c]!;
    colSums[c] = colSums[c]! + n[r * C + c]!;
  }
  return { n, R, C, rowSums, colSums, N: a.length };
}

function entropy(sums: Float64Array, N: number): number {
  let h = 0;
  for (const s of sums) if (s > 0) h -= (s / N) * Math.log(s / N);
  return h;
}

function mutualInfo(t: Contingency): number {
  let mi = 0;
  for (let r = 0; r < t.R; r++) for (let c = 0; c < t.C; c++) {
    const nij = t.n[r * t.C + c]!;
    if (nij > 0) mi += (nij / t.N) * Math.log((t.N * nij) / (t.rowSums[r]! * t.colSums[c]!));
  }
  return mi;
}

/** Expected mutual information under the hypergeometric (permutation) model (Vinh et al. 2010; sklearn's EMI). */
export function expectedMutualInfo(rowSums: ArrayLike<number>, colSums: ArrayLike<number>, N: number): number {
  const glnN = lgamma(N + 1);
  let emi = 0;
  for (let i = 0; i < rowSums.length; i++) {
    const a = rowSums[i]!;
    const glnA = lgamma(a + 1) + lgamma(N - a + 1);
    for (let j = 0; j < colSums.length; j++) {
      const b = colSums[j]!;
      const glnAB = glnA + lgamma(b + 1) + lgamma(N - b + 1) - glnN;
      const start = Math.max(1, a - N + b);
      const end = Math.min(a, b);
      for (let nij = start; nij <= end; nij++) {
        const term2 = Math.log(N * nij) - Math.log(a) - Math.log(b);
        const gln = glnAB - lgamma(nij + 1) - lgamma(a - nij + 1) - lgamma(b - nij + 1) - lgamma(N - a - b + nij + 1);
        emi += (nij / N) * term2 * Math.exp(gln);
      }
    }
  }
  return emi;
}

/**
 * Adjusted mutual information of two labelings with arithmetic normalisation, as sklearn
 * `adjusted_mutual_info_score(labels_true, labels_pred)`: (MI − E[MI]) / (mean(H(a), H(b)) − E[MI]).
 * Symmetric, invariant to renaming labels; 1 for identical partitions, ≈ 0 for independent ones.
 */
export function adjustedMutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const t = contingency(a, b, 'adjustedMutualInfo');
  // sklearn: one class and one cluster (or no rows) is a perfect match.
  if ((t.R === 1 && t.C === 1) || t.N === 0) return 1;
  const mi = mutualInfo(t);
  const emi = expectedMutualInfo(t.rowSums, t.colSums, t.N);
  const hA = entropy(t.rowSums, t.N);
  const hB = entropy(t.colSums, t.N);
  let denom = (hA + hB) / 2 - emi;
  const eps = Number.EPSILON;
  denom = denom < 0 ? Math.min(denom, -eps) : Math.max(denom, eps);
  return (mi - emi) / denom;
}

/** Adjusted Rand index of two labelings (Hubert & Arabie), as sklearn `adjusted_rand_score`. */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const t = contingency(a, b, 'adjustedRandIndex');
  const c2 = (x: number): number => (x * (x - 1)) / 2;
  let sumIJ = 0;
  for (const v of t.n) sumIJ += c2(v);
  let sumA = 0;
  let sumB = 0;
  for (const v of t.rowSums) sumA += c2(v);
  for (const v of t.colSums) sumB += c2(v);
  const expected = (sumA * sumB) / c2(t.N);
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (sumIJ - expected) / (max - expected);
}

/** Rows per cluster for ids in [0, k). */
export function clusterSizes(ids: ArrayLike<number>, k?: number): number[] {
  let K = k ?? 0;
  if (k === undefined) for (let i = 0; i < ids.length; i++) K = Math.max(K, ids[i]! + 1);
  const sizes = new Array<number>(K).fill(0);
  for (let i = 0; i < ids.length; i++) {
    const c = ids[i]!;
    if (!(c >= 0 && c < K)) throw new SmnError(CascadeErrorCode.Shape, `clusterSizes: cluster id ${c} at row ${i} is outside [0, ${K})`);
    sizes[c]! += 1;
  }
  return sizes;
}

/** The notebook's "Mean": for each class, the largest share of its rows in one cluster, averaged over classes. */
export function meanLargestClusterShare(labels: ArrayLike<number>, clusters: ArrayLike<number>): number {
  const t = contingency(labels, clusters, 'meanLargestClusterShare');
  let total = 0;
  for (let r = 0; r < t.R; r++) {
    let best = 0;
    for (let c = 0; c < t.C; c++) best = Math.max(best, t.n[r * t.C + c]!);
    total += best / t.rowSums[r]!;
  }
  return total / Math.max(1, t.R);
}

/** All of the notebook's diagnostics of cluster ids [N] against class labels [N]. */
export function clusterDiagnostics(clusters: ArrayLike<number>, labels: ArrayLike<number>, k?: number): ClusterDiagnostics {
  return {
    sizes: clusterSizes(clusters, k),
    meanLargestShare: meanLargestClusterShare(labels, clusters),
    ami: adjustedMutualInfo(labels, clusters),
    ari: adjustedRandIndex(labels, clusters),
  };
}
