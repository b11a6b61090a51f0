import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng, isSmnError } from '@smn/core';
import { fitLinearProbe, linearProbeObjective } from '../src/index.js';
import { plantedBlobs } from './helpers.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** mean_i [logΣ_c exp(z_ic) − z_iy] + λ/2 (‖W‖² + ‖b‖²) and its gradient, written out with loops. */
function reference(X: Float64Array, N: number, D: number, y: number[], W: Float64Array, b: Float64Array, C: number, lambda: number) {
  let loss = 0;
  const gW = new Float64Array(D * C);
  const gB = new Float64Array(C);
  for (let i = 0; i < N; i++) {
    const z = new Array<number>(C).fill(0).map((_, c) => {
      let s = b[c]!;
      for (let d = 0; d < D; d++) s += X[i * D + d]! * W[d * C + c]!;
      return s;
    });
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    loss += lse - z[y[i]!]!;
    for (let c = 0; c < C; c++) {
      const g = (Math.exp(z[c]! - lse) - (c === y[i] ? 1 : 0)) / N;
      gB[c] = gB[c]! + g;
      for (let d = 0; d < D; d++) gW[d * C + c] = gW[d * C + c]! + X[i * D + d]! * g;
    }
  }
  let reg = 0;
  W.forEach((w, i) => {
    reg += w * w;
    gW[i] = gW[i]! + lambda * w;
  });
  b.forEach((v, i) => {
    reg += v * v;
    gB[i] = gB[i]! + lambda * v;
  });
  return { loss: loss / N + 0.5 * lambda * reg, gW, gB };
}

describe('linear probe', () => {
  it('objective and gradient match the formula (bias regularised)', () => {
    const rng = createRng(3);
    const N = 25, D = 4, C = 3, lambda = 0.05;
    const X = Float64Array.from({ length: N * D }, () => rng.normal() * 2);
    const y = Array.from({ length: N }, () => rng.int(C));
    const W = Float64Array.from({ length: D * C }, () => rng.normal());
    const b = Float64Array.from({ length: C }, () => rng.normal());
    const got = linearProbeObjective({ rows: N, cols: D, data: X }, y, { rows: D, cols: C, data: W }, b, { numClasses: C, lambda });
    const ref = reference(X, N, D, y, W, b, C, lambda);
    expect(got.loss).toBeCloseTo(ref.loss, 5);
    ref.gW.forEach((g, i) => expect(Math.abs(got.gradW[i]! - g)).toBeLessThan(1e-5));
    ref.gB.forEach((g, i) => expect(Math.abs(got.gradB[i]! - g)).toBeLessThan(1e-5));
  });

  it('reaches the regularised optimum (gradient ≈ 0) and classifies separable data perfectly, without leaking tensors', () => {
    const all = plantedBlobs([80, 80, 80], 5, 8, 6);
    // Train on even rows, test on odd rows.
    const pick = (odd: number) => {
      const rows = Array.from({ length: 120 }, (_, i) => 2 * i + odd);
      return {
        X: { rows: 120, cols: 5, data: Float64Array.from(rows.flatMap((r) => Array.from(all.X.data.subarray(r * 5, r * 5 + 5)))) },
        truth: Int32Array.from(rows, (r) => all.truth[r]!),
      };
    };
    const { X, truth } = pick(0);
    const before = tf.memory().numTensors;
    const probe = fitLinearProbe(X, truth, { numClasses: 3, lambda: 0.01, tol: 1e-5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(probe.trainAccuracy).toBe(1);
    const at = linearProbeObjective(X, truth, probe.W, probe.b, { numClasses: 3, lambda: 0.01 });
    const gn = Math.hypot(...at.gradW, ...at.gradB);
    expect(gn).toBeLessThan(1e-3);
    expect(at.loss).toBeCloseTo(probe.loss, 4);
    const { X: Xt, truth: tt } = pick(1);
    expect(Array.from(probe.predict(Xt))).toEqual(Array.from(tt));
  });

  it('uses λ = 0.01/N by default and is deterministic', () => {
    const { X, truth } = plantedBlobs([30, 30], 3, 2, 1.5);
    const a = fitLinearProbe(X, truth, { numClasses: 2 });
    const b = fitLinearProbe(X, truth, { numClasses: 2 });
    expect(Array.from(a.W.data)).toEqual(Array.from(b.W.data));
    const at = linearProbeObjective(X, truth, a.W, a.b, { numClasses: 2, lambda: 0.01 / 60 });
    expect(at.loss).toBeCloseTo(a.loss, 4);
  });

  it('rejects labels outside [0, numClasses)', () => {
    try {
      fitLinearProbe({ rows: 2, cols: 1, data: new Float32Array([1, 2]) }, [0, 3], { numClasses: 3 });
      expect.unreachable();
    } catch (e) {
      expect(isSmnError(e)).toBe(true);
      expect((e as Error).message).toBe('fitLinearProbe: label 3 at row 1 is outside [0, numClasses = 3)');
    }
  });
});

describe('linear probe duality gap', () => {
  it('bounds the suboptimality: P(W) − P(W*) ≤ reported gap, and the fit stops at relative gap ≤ tol', () => {
    const { X, truth } = plantedBlobs([25, 25, 25], 3, 4, 1.2); // overlapping: a finite optimum
    const lambda = 0.02;
    const tight = fitLinearProbe(X, truth, { numClasses: 3, lambda, tol: 1e-7, maxIter: 2000 });
    const loose = fitLinearProbe(X, truth, { numClasses: 3, lambda, tol: 1e-2 });
    expect(loose.relativeGap).toBeLessThanOrEqual(1e-2);
    expect(loose.converged).toBe(true);
    expect(tight.iterations).toBeGreaterThan(loose.iterations);
    const gapAbs = loose.relativeGap * loose.loss;
    expect(loose.loss - tight.loss).toBeGreaterThanOrEqual(-1e-6);
    expect(loose.loss - tight.loss).toBeLessThanOrEqual(gapAbs + 1e-6);
  });
});
