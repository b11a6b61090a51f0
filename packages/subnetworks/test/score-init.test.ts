import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { isSmnError } from '@smn/core';
import { SQRT5, fanIn, initScores, type ScoresInit, type ScoresInitFn } from '../src/index.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const stats = (v: ArrayLike<number>) => {
  const a = Array.from(v);
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  const std = Math.sqrt(a.reduce((x, y) => x + (y - mean) ** 2, 0) / (a.length - 1));
  return { mean, std, min: Math.min(...a), max: Math.max(...a) };
};

function init(kind: ScoresInit | ScoresInitFn, w: tf.Tensor, name = 'w', seed = 0): Float32Array {
  const m = initScores(kind, [[name, w]], seed);
  const out = m.get(name)!.dataSync() as Float32Array;
  m.get(name)!.dispose();
  return out;
}

describe('fanIn', () => {
  it('reads fan_in as PyTorch would from the PyTorch-layout tensor', () => {
    expect(fanIn([3, 3, 64, 128], 'hwio')).toBe(3 * 3 * 64); // OIHW [128,64,3,3]
    expect(fanIn([3, 3, 64, 128])).toBe(576); // auto: rank 4 → hwio
    expect(fanIn([512, 10])).toBe(512); // auto: rank 2 → [in, out]
    expect(fanIn([10, 512], 'torch')).toBe(512); // [out, in]
    expect(fanIn([128, 64, 3, 3], 'torch')).toBe(576); // OIHW
    expect(fanIn([1, 50, 768])).toBe(50 * 768); // auto: rank 3 → torch rule
    expect(() => fanIn([5], 'torch', 'bias')).toThrow(/fan-in of "bias" with shape \[5\].*at least 2 dimensions/);
    expect(() => fanIn([2, 3], 'hwio', 'fc.weight')).toThrow(/hwio expects/);
  });
});

describe('initScores', () => {
  it('kaiming-uniform: U(±1/√fan_in) for matrices, √5 for 1-D tensors', () => {
    const w = tf.zeros([3, 3, 16, 32]);
    const v = init({ kind: 'kaiming-uniform' }, w);
    const bound = 1 / Math.sqrt(3 * 3 * 16);
    const s = stats(v);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeLessThan(bound);
    expect(s.min).toBeLessThan(-0.95 * bound);
    expect(s.max).toBeGreaterThan(0.95 * bound);
    expect(Math.abs(s.std - bound / Math.sqrt(3))).toBeLessThan(0.05 * bound); // uniform std = bound/√3
    const torchLayout = init({ kind: 'kaiming-uniform', layout: 'torch' }, w);
    // Read as PyTorch order [out=3, in=3, 16, 32]: fan_in = 3·16·32; same draws, other bound.
    const tb = 1 / Math.sqrt(3 * 16 * 32);
    Array.from(torchLayout).forEach((x, i) => expect(Math.abs(x - (v[i]! * tb) / bound)).toBeLessThan(1e-7));
    const b = tf.zeros([7]);
    expect(Array.from(init({ kind: 'kaiming-uniform' }, b))).toEqual(new Array(7).fill(Math.fround(SQRT5)));
    tf.dispose([w, b]);
  });

  it('normal(mean, std) and constant', () => {
    const w = tf.zeros([100, 50]);
    const s = stats(init({ kind: 'normal', mean: 0.5, std: 0.1 }, w));
    expect(Math.abs(s.mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(s.std - 0.1)).toBeLessThan(0.005);
    // The paper's runs: N(1, 0) = exactly 1.
    expect(new Set(init({ kind: 'normal', mean: 1, std: 0 }, w))).toEqual(new Set([1]));
    expect(new Set(init({ kind: 'constant', value: -2 }, w))).toEqual(new Set([-2]));
    w.dispose();
  });

  it('magnitude: |W| + noise, optionally with W shuffled within the tensor', () => {
    const vals = Array.from({ length: 200 }, (_, i) => (i % 2 ? -1 : 1) * (i / 100));
    const w = tf.tensor(vals, [20, 10]);
    const v = init({ kind: 'magnitude', mean: 0, std: 0 }, w);
    expect(Array.from(v)).toEqual(vals.map((x) => Math.fround(Math.abs(x))));
    const noisy = init({ kind: 'magnitude', mean: 0.1, std: 0.01 }, w);
    const diff = stats(Array.from(noisy).map((x, i) => x - Math.abs(vals[i]!)));
    expect(Math.abs(diff.mean - 0.1)).toBeLessThan(0.005);
    const sh = Array.from(init({ kind: 'magnitude', mean: 0, std: 0, shuffle: true }, w));
    expect(sh).not.toEqual(Array.from(v));
    expect([...sh].sort((a, b) => a - b)).toEqual([...v].sort((a, b) => a - b)); // a permutation of |W|
    w.dispose();
  });

  it('is seeded: same seed same scores, other seed other scores', () => {
    const w = tf.zeros([8, 8]);
    const a = init({ kind: 'kaiming-uniform' }, w, 'w', 5);
    expect(init({ kind: 'kaiming-uniform' }, w, 'w', 5)).toEqual(a);
    expect(init({ kind: 'kaiming-uniform' }, w, 'w', 6)).not.toEqual(a);
    w.dispose();
  });

  it('accepts a function and checks what it returns, naming the parameter', () => {
    const w = tf.zeros([2, 3]);
    expect(Array.from(init(() => tf.fill([2, 3], 0.25), w))).toEqual(new Array(6).fill(0.25));
    try {
      initScores(() => tf.zeros([3, 2]), [['layer1.0.conv1.weight', w]], 0);
      expect.unreachable();
    } catch (e) {
      expect(isSmnError(e) && e.code).toBe('SMN_SUBNET_BAD_SCORES');
      expect((e as Error).message).toMatch(/"layer1.0.conv1.weight" returned float32 \[3,2\]; expected a float32 tensor of shape \[2,3\]/);
    }
    w.dispose();
  });

  it('rejects unknown kinds', () => {
    const w = tf.zeros([2, 2]);
    expect(() => initScores({ kind: 'xavier' } as unknown as ScoresInit, [['w', w]], 0)).toThrow(/unknown scoresInit kind 'xavier'/);
    w.dispose();
  });
});
