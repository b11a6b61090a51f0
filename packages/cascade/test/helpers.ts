import { createRng } from '@smn/core';
import type { DenseMatrix } from '../src/index.js';

/** Rows x = z·diag(scales)·R + offset with z ~ N(0, 1) and R a random rotation-ish mixing: a decaying spectrum. */
export function spectrumData(N: number, D: number, seed: number, decay = 0.6, offset = 3): DenseMatrix {
  const rng = createRng(seed);
  const mix = new Float64Array(D * D);
  for (let i = 0; i < D * D; i++) mix[i] = rng.normal() / Math.sqrt(D);
  const data = new Float32Array(N * D);
  const z = new Float64Array(D);
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < D; j++) z[j] = rng.normal() * decay ** j;
    for (let c = 0; c < D; c++) {
      let s = offset;
      for (let j = 0; j < D; j++) s += z[j]! * mix[j * D + c]!;
      data[r * D + c] = s;
    }
  }
  return { rows: N, cols: D, data };
}

/** K Gaussian blobs in d dims (well separated, anisotropic); returns the rows and the true blob of each row. */
export function plantedBlobs(perCluster: number[], d: number, seed: number, spread = 8): { X: DenseMatrix; truth: Int32Array } {
  const rng = createRng(seed);
  const K = perCluster.length;
  const centres = Array.from({ length: K }, () => Array.from({ length: d }, () => rng.normal() * spread));
  const N = perCluster.reduce((a, b) => a + b, 0);
  const data = new Float64Array(N * d);
  const truth = new Int32Array(N);
  let r = 0;
  perCluster.forEach((n, k) => {
    const scale = Array.from({ length: d }, () => 0.5 + rng.next());
    for (let i = 0; i < n; i++, r++) {
      truth[r] = k;
      for (let a = 0; a < d; a++) data[r * d + a] = centres[k]![a]! + rng.normal() * scale[a]!;
    }
  });
  return { X: { rows: N, cols: d, data }, truth };
}

export function meanOf(X: DenseMatrix): Float64Array {
  const m = new Float64Array(X.cols);
  for (let r = 0; r < X.rows; r++) for (let c = 0; c < X.cols; c++) m[c] = m[c]! + X.data[r * X.cols + c]!;
  return m.map((v) => v / X.rows);
}
