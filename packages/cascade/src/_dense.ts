// Internal dense-matrix helpers (row-major typed arrays); not exported from the package.
import { SmnError, fmtShape } from '@smn/core';
import { EVD, Matrix } from 'ml-matrix';
import { CascadeErrorCode } from './errors.js';
import type { DenseMatrix } from './types.js';

export function dense(rows: number, cols: number, data?: Float32Array | Float64Array): DenseMatrix {
  const d = data ?? new Float64Array(rows * cols);
  if (d.length !== rows * cols) {
    throw new SmnError(CascadeErrorCode.Shape, `matrix data has ${d.length} entries, expected ${rows}×${cols} = ${rows * cols}`);
  }
  return { rows, cols, data: d };
}

/** Checks that `m` is a well-formed DenseMatrix; `name` is used in the error. */
export function checkMatrix(m: DenseMatrix, name: string, cols?: number): void {
  if (!m || typeof m.rows !== 'number' || typeof m.cols !== 'number' || !m.data) {
    throw new SmnError(CascadeErrorCode.Shape, `${name} must be a { rows, cols, data } matrix`, { kind: 'usage' });
  }
  if (m.data.length !== m.rows * m.cols) {
    throw new SmnError(
      CascadeErrorCode.Shape,
      `${name} claims shape ${fmtShape([m.rows, m.cols])} but has ${m.data.length} entries (expected ${m.rows * m.cols})`,
    );
  }
  if (cols !== undefined && m.cols !== cols) {
    throw new SmnError(
      CascadeErrorCode.Shape,
      `${name} has ${m.cols} columns (shape ${fmtShape([m.rows, m.cols])}) but ${cols} were expected; were the inputs produced by the same model/PCA?`,
    );
  }
}

export function checkLength(a: ArrayLike<number>, n: number, name: string, what: string): void {
  if (a.length !== n) {
    throw new SmnError(CascadeErrorCode.Shape, `${name} has length ${a.length} but ${what} has ${n} rows`);
  }
}

export function toRows(m: DenseMatrix): number[][] {
  const out: number[][] = new Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols));
  return out;
}

export function fromRows(rows: number[][]): DenseMatrix {
  const n = rows.length;
  const d = n === 0 ? 0 : rows[0]!.length;
  const out = new Float64Array(n * d);
  for (let r = 0; r < n; r++) out.set(rows[r]!, r * d);
  return { rows: n, cols: d, data: out };
}

/**
 * Cholesky factor L (lower, row-major n×n) of the symmetric positive-definite A. Returns null when a pivot is not
 * positive (not PD in floating point).
 */
export function cholesky(A: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j]!;
    const Lj = j * n;
    for (let k = 0; k < j; k++) s -= L[Lj + k]! * L[Lj + k]!;
    if (!(s > 0)) return null;
    const d = Math.sqrt(s);
    L[Lj + j] = d;
    for (let i = j + 1; i < n; i++) {
      const Li = i * n;
      let t = A[Li + j]!;
      for (let k = 0; k < j; k++) t -= L[Li + k]! * L[Lj + k]!;
      L[Li + j] = t / d;
    }
  }
  return L;
}

/** Inverse of a lower-triangular n×n matrix (row-major), itself lower triangular. */
export function invLower(L: Float64Array, n: number): Float64Array {
  const X = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    // Solve L x = e_c by forward substitution; x[r] = 0 for r < c.
    X[c * n + c] = 1 / L[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      let s = 0;
      const Lr = r * n;
      for (let k = c; k < r; k++) s += L[Lr + k]! * X[k * n + c]!;
      X[r * n + c] = -s / L[Lr + r]!;
    }
  }
  return X;
}

/** Eigen-decomposition of a symmetric n×n matrix: eigenvalues descending and eigenvectors as columns [n, n]. */
export function symEig(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const rows: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    rows[i] = new Array(n);
    for (let j = 0; j < n; j++) rows[i]![j] = 0.5 * (A[i * n + j]! + A[j * n + i]!);
  }
  const evd = new EVD(new Matrix(rows), { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => vals[b]! - vals[a]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = vals[src]!;
    for (let i = 0; i < n; i++) vectors[i * n + dst] = vecs.get(i, src);
  });
  return { values, vectors };
}

/** Column means of X [N, D] in float64. */
export function columnMeans(X: DenseMatrix): Float64Array {
  const mean = new Float64Array(X.cols);
  const { rows, cols, data } = X;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) mean[c] = mean[c]! + data[o + c]!;
  }
  for (let c = 0; c < cols; c++) mean[c] = mean[c]! / Math.max(rows, 1);
  return mean;
}

/** Natural log of Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ≲ 1e-15). */
export function lgamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + g + 0.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new SmnError(CascadeErrorCode.Aborted, `${what} was aborted`);
}
