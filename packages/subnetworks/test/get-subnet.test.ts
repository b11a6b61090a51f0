import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng, isSmnError } from '@smn/core';
import { FusedKernel } from '@smn/core';
import { computeMask, maskedWeight, type MaskMode } from '../src/index.js';

// The torch backend registers @smn/core's FusedKernel.maskedWeight: the maskedWeight tests run there too when it builds.
const torchOk = await useBackend('torch').then(
  () => true,
  () => false,
);

beforeAll(async () => {
  await useBackend('cpu');
});

const randn = (n: number, seed: number, mean = 0): number[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.normal(mean, 1));
};

/** Score gradient and effective weight of loss = Σ G ⊙ maskedWeight(W, S) from tfjs. */
function tfjsGrad(w: number[], s: number[], g: number[], shape: number[], k: number, mode: MaskMode, scale = true) {
  const W = tf.tensor(w, shape);
  const S = tf.tensor(s, shape);
  const G = tf.tensor(g, shape);
  const eff = maskedWeight(W, S, k, mode, scale);
  const grad = tf.grad((sc: tf.Tensor) => tf.sum(tf.mul(maskedWeight(W, sc, k, mode, scale), G)))(S);
  const out = { eff: Array.from(eff.dataSync()), grad: Array.from(grad.dataSync()) };
  tf.dispose([W, S, G, eff, grad]);
  return out;
}

/** The closed form of the issue, in float64: dL/dS_i = g_i W_i/√d − sign(m)/(2N)·d^(−3/2)·Σ_j g_j W_j M_j, d = max(|m|, 1/N). */
function closedForm(w: number[], m: number[], g: number[]) {
  const N = w.length;
  const mean = m.reduce((a, b) => a + b, 0) / N;
  const d = Math.max(Math.abs(mean), 1 / N);
  const flows = mean === 0 ? 0 : Math.sign(mean);
  const dot = w.reduce((a, wi, i) => a + g[i]! * wi * m[i]!, 0);
  return {
    eff: w.map((wi, i) => (wi * m[i]!) / Math.sqrt(d)),
    grad: w.map((wi, i) => (g[i]! * wi) / Math.sqrt(d) - (flows / (2 * N)) * d ** -1.5 * dot),
  };
}

function expectClose(a: number[], b: number[], tol: number) {
  expect(a.length).toBe(b.length);
  const scale = Math.max(...b.map(Math.abs)) + 1e-12;
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!) / scale, `entry ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(tol);
}

describe('computeMask', () => {
  it('threshold: 1 where S > k, 0 where S <= k (equality is off); k < 0 is a plain comparison', () => {
    const s = tf.tensor([-1, -0.5, 0, 0.25, 2]);
    const a = computeMask(s, 0, 'threshold');
    expect(Array.from(a.dataSync())).toEqual([0, 0, 0, 1, 1]);
    const b = computeMask(s, -0.5, 'threshold');
    // The reference's in-place code would give all ones for k < 0; we compare plainly.
    expect(Array.from(b.dataSync())).toEqual([0, 0, 1, 1, 1]);
    tf.dispose([s, a, b]);
  });

  it('flip: +1 where S > k, -1 elsewhere', () => {
    const s = tf.tensor([-1, 0, 0.5, 3]);
    const m = computeMask(s, 0.5, 'flip');
    expect(Array.from(m.dataSync())).toEqual([-1, -1, -1, 1]);
    tf.dispose([s, m]);
  });

  it('topk keeps the n - floor((1-k) n) highest signed scores of each tensor', () => {
    const vals = randn(37, 3);
    const s = tf.tensor(vals, [37]);
    for (const k of [0, 0.1, 0.6, 0.914, 1]) {
      const m = computeMask(s, k, 'topk');
      const data = Array.from(m.dataSync());
      const keep = 37 - Math.floor((1 - k) * 37);
      expect(data.reduce((a, b) => a + b, 0), `k=${k}`).toBe(keep);
      const sorted = [...vals].sort((a, b) => b - a);
      data.forEach((v, i) => expect(v, `k=${k} i=${i}`).toBe(keep > 0 && vals[i]! >= sorted[keep - 1]! ? 1 : 0));
      m.dispose();
    }
    s.dispose();
  });

  it('topk ties at the boundary keep the lower index (tf.topk order)', () => {
    const s = tf.tensor([0.5, 0, 0, 0, 0, -1]);
    const m = computeMask(s, 0.5, 'topk'); // keep 6 - floor(0.5·6) = 3
    expect(Array.from(m.dataSync())).toEqual([1, 1, 1, 0, 0, 0]);
    tf.dispose([s, m]);
  });

  it('rejects unknown modes and topk k outside [0, 1]', () => {
    const s = tf.tensor([1, 2]);
    expect(() => computeMask(s, 0, 'nope' as MaskMode)).toThrow(/unknown mask mode 'nope'/);
    try {
      computeMask(s, 1.5, 'topk');
      expect.unreachable();
    } catch (e) {
      expect(isSmnError(e) && e.code).toBe('SMN_SUBNET_BAD_OPTION');
    }
    s.dispose();
  });
});

for (const backend of ['cpu', 'torch'] as const) describe.skipIf(backend === 'torch' && !torchOk)(`maskedWeight straight-through gradient (${backend})`, () => {
  beforeAll(async () => {
    await useBackend(backend);
    // cpu runs the tfjs-ops version, torch the fused kernel: both must match the closed form.
    expect(tf.getKernel(FusedKernel.maskedWeight, backend) !== undefined).toBe(backend === 'torch');
  });
  afterAll(async () => {
    await useBackend('cpu');
  });
  const shape = [4, 6];
  const w = randn(24, 10).map((v) => v * 0.5);
  const g = randn(24, 11);

  for (const [mode, k, mean] of [
    ['threshold', 0, 0],
    ['threshold', 0.3, 0.5],
    ['topk', 0.6, 0],
    ['flip', 0, 0.5],
    ['flip', 0, -0.8],
  ] as const) {
    it(`${mode} k=${k} (scores mean ${mean}) matches the closed form`, () => {
      const s = randn(24, 12 + k * 10, mean);
      const S = tf.tensor(s, shape);
      const M = computeMask(S, k, mode);
      const m = Array.from(M.dataSync());
      tf.dispose([S, M]);
      if (mode === 'flip' && mean < 0) expect(m.reduce((a, b) => a + b, 0)).toBeLessThan(0); // the reference gives NaN here
      const got = tfjsGrad(w, s, g, shape, k, mode);
      const want = closedForm(w, m, g);
      expectClose(got.eff, want.eff, 1e-6);
      expectClose(got.grad, want.grad, 1e-6);
    });
  }

  it('an all-zero mask gives zero weights and the finite gradient g·W·√N', () => {
    const s = new Array(24).fill(-1);
    const got = tfjsGrad(w, s, g, shape, 0, 'threshold');
    expect(got.eff.every((v) => v === 0)).toBe(true);
    expect(got.grad.every(Number.isFinite)).toBe(true);
    expectClose(got.grad, w.map((wi, i) => g[i]! * wi * Math.sqrt(24)), 1e-6);
    // topk with k = 0 keeps nothing: same rule.
    const t = tfjsGrad(w, randn(24, 5), g, shape, 0, 'topk');
    expect(t.eff.every((v) => v === 0) && t.grad.every(Number.isFinite)).toBe(true);
  });

  it('flip with mean(M) = 0 stays finite: d = 1/N and no gradient through the mean', () => {
    const s = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    const got = tfjsGrad(w, s, g, shape, 0, 'flip');
    expect([...got.eff, ...got.grad].every(Number.isFinite)).toBe(true);
    const m = s.map((v) => (v > 0 ? 1 : -1));
    expectClose(got.eff, w.map((wi, i) => wi * m[i]! * Math.sqrt(24)), 1e-6);
    expectClose(got.grad, w.map((wi, i) => g[i]! * wi * Math.sqrt(24)), 1e-6);
  });

  it('scale = false: weight W ⊙ M and score gradient g ⊙ W', () => {
    const s = randn(24, 7);
    const got = tfjsGrad(w, s, g, shape, 0, 'threshold', false);
    expectClose(got.eff, w.map((wi, i) => (s[i]! > 0 ? wi : 0)), 1e-7);
    expectClose(got.grad, w.map((wi, i) => g[i]! * wi), 1e-7);
  });

  it('the weight gradient is g ⊙ M / √d, and weightGrad: false gives the same score gradient', () => {
    const s = randn(24, 13, 0.2);
    const W = tf.tensor(w, shape);
    const S = tf.tensor(s, shape);
    const G = tf.tensor(g, shape);
    const [dW, dS] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(maskedWeight(a, b, 0, 'threshold'), G)))([W, S]);
    const dS2 = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(maskedWeight(W, b, 0, 'threshold', true, { weightGrad: false }), G)))(S);
    const m = s.map((v): number => (v > 0 ? 1 : 0));
    const d = m.reduce((a, b) => a + b, 0) / 24;
    expectClose(Array.from(dW!.dataSync()), g.map((gi, i) => (gi * m[i]!) / Math.sqrt(d)), 1e-6);
    expectClose(Array.from(dS2.dataSync()), Array.from(dS!.dataSync()), 1e-7);
    expectClose(Array.from(dS2.dataSync()), closedForm(w, m, g).grad, 1e-6);
    tf.dispose([W, S, G, dW!, dS!, dS2]);
  });

  it('a conv filter that a convolution has used (stored in another memory order) gives the same results', () => {
    const fshape = [3, 3, 4, 5];
    const n = 180;
    const wv = randn(n, 21);
    const sv = randn(n, 22, 0.5);
    const gv = randn(n, 23);
    const fresh = tfjsGrad(wv, sv, gv, fshape, 0, 'threshold');
    const W = tf.tensor4d(wv, fshape as [number, number, number, number]);
    const x = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 1);
    tf.conv2d(x as tf.Tensor4D, W, 1, 'same').dispose();
    const S = tf.tensor(sv, fshape);
    const G = tf.tensor(gv, fshape);
    const eff = maskedWeight(W, S, 0, 'threshold');
    const grad = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(maskedWeight(W, b, 0, 'threshold', true, { weightGrad: false }), G)))(S);
    expectClose(Array.from(eff.dataSync()), fresh.eff, 1e-7);
    expectClose(Array.from(grad.dataSync()), fresh.grad, 1e-6);
    expectClose(fresh.grad, closedForm(wv, sv.map((v) => (v > 0 ? 1 : 0)), gv).grad, 1e-6);
    tf.dispose([W, x, S, G, eff, grad]);
  });

  it('rejects scores of another shape, naming both shapes', () => {
    const W = tf.zeros([2, 3]);
    const S = tf.zeros([3, 2]);
    expect(() => maskedWeight(W, S, 0, 'threshold')).toThrow('scores have shape [3,2] but the weight has shape [2,3]');
    tf.dispose([W, S]);
  });

  it('creates no lasting tensors in forward or backward', () => {
    const W = tf.tensor(w, shape);
    const S = tf.variable(tf.tensor(randn(24, 9), shape));
    const G = tf.tensor(g, shape);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(maskedWeight(W, S, 0, 'threshold'), G)) as tf.Scalar, [S]);
        return [value, grads[S.name]!];
      }).forEach((t) => t.dispose());
      maskedWeight(W, S, 0.6, 'topk').dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([W, S, G]);
  });
});
