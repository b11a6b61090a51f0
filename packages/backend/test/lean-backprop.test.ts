import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  disableLeanBackprop,
  enableLeanBackprop,
  leanBackpropEnabled,
  tf,
  useBackend,
} from '../src/index.js';
import { randn, size } from './helpers.js';

// Lean backprop must give exactly tfjs's gradients (same kernels, same order) while holding less memory at its peak.

const tensor = (shape: number[], seed: number, scale = 1): tf.Tensor =>
  tf.tensor(randn(size(shape), seed).map((v) => v * scale), shape);

/** Masked weight through a custom gradient that hands back the dy it was given (the straight-through estimator). */
type Grad = Parameters<typeof tf.customGrad>[0];
const steMask = tf.customGrad(((w: tf.Tensor, s: tf.Tensor, save: tf.GradSaveFunc) => {
  save([s]);
  return { value: tf.mul(w, tf.cast(tf.greater(s, 0), 'float32')), gradFunc: (dy: tf.Tensor) => [dy, dy] };
}) as unknown as Grad) as unknown as (w: tf.Tensor, s: tf.Tensor) => tf.Tensor;

/**
 * A residual conv net with what a masked ResNet step has: tensors used several times, a custom gradient, batch
 * statistics, a multi-output op (split) and a reduction to a scalar loss.
 */
function loss(p: Record<string, tf.Variable>, x: tf.Tensor4D, blocks: number): tf.Scalar {
  let h = tf.relu(tf.conv2d(x, steMask(p['stem']!, p['stemScore']!) as tf.Tensor4D, 1, 'same'));
  for (let b = 0; b < blocks; b++) {
    const w = steMask(p[`w${b}`]!, p[`s${b}`]!) as tf.Tensor4D;
    let r = tf.conv2d(h as tf.Tensor4D, w, 1, 'same');
    const { mean, variance } = tf.moments(r, [0, 1, 2]);
    r = tf.mul(tf.sub(r, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    h = tf.relu(tf.add(h, tf.mul(r, h))) as tf.Tensor4D;
  }
  const [a, c] = tf.split(h, 2, 3);
  return tf.add(tf.mean(tf.square(a!)), tf.mean(tf.mul(c!, c!))) as tf.Scalar;
}

function params(blocks: number, ch: number): Record<string, tf.Variable> {
  const p: Record<string, tf.Variable> = {
    stem: tf.variable(tensor([3, 3, 3, ch], 1, 0.3), true, 'stem'),
    stemScore: tf.variable(tensor([3, 3, 3, ch], 2), true, 'stemScore'),
  };
  for (let b = 0; b < blocks; b++) {
    p[`w${b}`] = tf.variable(tensor([3, 3, ch, ch], 10 + b, 0.2), true, `w${b}`);
    p[`s${b}`] = tf.variable(tensor([3, 3, ch, ch], 100 + b), true, `s${b}`);
  }
  return p;
}

/** Gradients of every variable, read back, plus the loss value; disposes what it made. */
function gradients(p: Record<string, tf.Variable>, x: tf.Tensor4D, blocks: number): { value: number; grads: Record<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(() => loss(p, x, blocks), Object.values(p));
  const out: Record<string, Float32Array> = {};
  for (const [k, g] of Object.entries(grads)) out[k] = g.dataSync() as Float32Array;
  const v = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { value: v, grads: out };
}

beforeAll(async () => {
  await useBackend('cpu', { leanBackprop: false });
});

afterEach(() => disableLeanBackprop());

describe('lean backprop', () => {
  it('gives bit-identical gradients to tfjs on a residual net with custom gradients and multi-output ops', () => {
    const p = params(3, 6);
    const x = tensor([2, 6, 6, 3], 7) as tf.Tensor4D;
    const ref = gradients(p, x, 3);
    enableLeanBackprop();
    expect(leanBackpropEnabled()).toBe(true);
    const lean = gradients(p, x, 3);
    expect(lean.value).toBe(ref.value);
    expect(Object.keys(lean.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const k of Object.keys(ref.grads)) expect(lean.grads[k], k).toEqual(ref.grads[k]);
    // The straight-through gradient is not zero: the test would notice a lost dy.
    expect(ref.grads['s0']!.some((v) => v !== 0)).toBe(true);
    tf.dispose([x, ...Object.values(p)]);
  });

  it('leaks no tensor and leaves a caller dy alone', () => {
    enableLeanBackprop();
    const p = params(2, 4);
    const x = tensor([2, 5, 5, 3], 8) as tf.Tensor4D;
    gradients(p, x, 2);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) gradients(p, x, 2);
    expect(tf.memory().numTensors).toBe(before);

    const a = tensor([4, 3], 9);
    const dy = tensor([4, 3], 10);
    const [ga] = tf.grads((t: tf.Tensor) => tf.mul(tf.relu(t), t))([a], dy);
    expect(dy.isDisposed).toBe(false);
    // d/dt relu(t)·t = 2t for t > 0, 0 otherwise.
    const av = a.dataSync();
    const dv = dy.dataSync();
    const want = Array.from(av, (v, i) => (v > 0 ? 2 * v * dv[i]! : 0));
    expect(Array.from(ga!.dataSync())).toEqual(want.map((v) => Math.fround(v)));
    tf.dispose([a, dy, ga!, x, ...Object.values(p)]);
  });

  it('sums the gradient of a tensor used by several ops and by the same op twice', () => {
    enableLeanBackprop();
    const a = tensor([5], 11);
    // f = Σ (a·a + 3a + exp(a)): df/da = 2a + 3 + exp(a).
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.add(tf.add(tf.mul(t, t), tf.mul(t, 3)), tf.exp(t))))(a);
    const want = Array.from(a.dataSync(), (v) => 2 * v + 3 + Math.exp(v));
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    tf.dispose([a, g]);
  });

  it('leaves second-order gradients to tfjs and gets them right', () => {
    enableLeanBackprop();
    const a = tensor([4], 12);
    // d²/da² Σ a³ = 6a.
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.pow(u, 3)))(t)))(a);
    Array.from(g2.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(6 * a.dataSync()[i]!, 4));
    tf.dispose([a, g2]);
  });

  it('frees saved tensors and gradients as the backward pass goes, where tfjs holds them to the end', async () => {
    // 24 tanh layers: the forward pass saves each output (the next layer's input). tfjs's backward pass keeps those
    // and every gradient it computes until it returns; lean backprop frees a saved output and a gradient at each step.
    const x = tensor([256, 64], 15);
    const act = 256 * 64 * 4;
    const f = (t: tf.Tensor) => {
      let h = t;
      for (let i = 0; i < 24; i++) h = tf.tanh(h);
      return tf.sum(h);
    };
    // In activations above what was allocated before: the peak, and what is held when the last kernel has run.
    const measure = async () => {
      const base = tf.memory().numBytes;
      const prof = await tf.profile(() => tf.dispose(tf.grads(f)([x])));
      return { peak: (prof.peakBytes - base) / act, atEnd: (prof.kernels.at(-1)!.totalBytesSnapshot - base) / act };
    };
    const ref = await measure();
    enableLeanBackprop();
    const lean = await measure();
    expect(ref.atEnd).toBeGreaterThan(40);
    expect(lean.atEnd).toBeLessThan(8);
    expect(lean.peak).toBeLessThan(ref.peak);
    tf.dispose(x);
  });

  it('is on after useBackend unless turned off', async () => {
    await useBackend('cpu');
    expect(leanBackpropEnabled()).toBe(true);
    await useBackend('cpu', { leanBackprop: false });
    expect(leanBackpropEnabled()).toBe(false);
  });
});
