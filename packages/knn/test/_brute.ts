// Test helpers: a plain-JS brute-force kNN oracle and seeded data.
import { expect } from 'vitest';
import { createRng } from '@smn/core';

/** Plain-JS weighted kNN (docs/method.md#knn) in float64: ties in neighbours by lower bank index, in classes by lower class. */
export function bruteKnn(
  q: Float32Array,
  bank: Float32Array,
  labels: ArrayLike<number>,
  D: number,
  k: number,
  T: number,
  C: number,
  normalize = true,
): { predictions: number[]; scores: number[][] } {
  const norm = (a: Float32Array, r: number): number[] => {
    const row = Array.from(a.subarray(r * D, (r + 1) * D));
    if (!normalize) return row;
    const n = Math.max(Math.sqrt(row.reduce((s, x) => s + x * x, 0)), 1e-12);
    return row.map((x) => x / n);
  };
  const Q = q.length / D;
  const N = bank.length / D;
  const bn = Array.from({ length: N }, (_, i) => norm(bank, i));
  const kk = Math.min(k, N);
  const predictions: number[] = [];
  const scores: number[][] = [];
  for (let i = 0; i < Q; i++) {
    const qi = norm(q, i);
    const sims = bn.map((b, j) => ({ s: b.reduce((acc, x, d) => acc + x * qi[d]!, 0), j }));
    sims.sort((a, b) => (b.s !== a.s ? b.s - a.s : a.j - b.j));
    const sc = new Array<number>(C).fill(0);
    for (let t = 0; t < kk; t++) sc[labels[sims[t]!.j]!]! += Math.exp(sims[t]!.s / T);
    let arg = 0;
    for (let c = 1; c < C; c++) if (sc[c]! > sc[arg]!) arg = c;
    predictions.push(arg);
    scores.push(sc);
  }
  return { predictions, scores };
}

export function randn(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

export function randLabels(n: number, C: number, seed: number): Int32Array {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, () => rng.int(C));
}

export function expectScoresClose(got: Float32Array, want: number[][], rel = 2e-5): void {
  const C = want[0]!.length;
  want.forEach((row, i) =>
    row.forEach((w, c) => {
      expect(Math.abs(got[i * C + c]! - w)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(w)));
    }),
  );
}

