import { afterAll, describe, expect, it } from 'vitest';
import { isSmnError } from '@smn/core';
import { useBackend, releaseBackend, tf, type ConcreteBackendName } from '../src/index.js';
import { randn, relMaxDiff, size } from './helpers.js';

// Every backend present here trains the same tiny conv net from the same seeded init for a few SGD steps and must
// agree with `cpu`. Tolerances (fp32, different summation orders, 4 steps at lr 0.1):
const LOSS_TOL = 1e-4; // relative, per step
const WEIGHT_TOL = 1e-3; // max |Δ| / max |w_cpu|, per parameter after the last step
const STEPS = 4;

const SHAPES: Record<string, number[]> = {
  'conv1.weight': [3, 3, 3, 8],
  'bn1.weight': [8],
  'bn1.bias': [8],
  'conv2.weight': [3, 3, 8, 8],
  'fc.weight': [8, 5],
  'fc.bias': [5],
};
const X_SHAPE: [number, number, number, number] = [6, 8, 8, 3];
const LABELS = [0, 3, 1, 4, 2, 3];

function initialParams(): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let seed = 1;
  for (const [name, shape] of Object.entries(SHAPES)) {
    const fanIn = shape.length === 4 ? shape[0]! * shape[1]! * shape[2]! : shape[0]!;
    const v = randn(size(shape), seed++).map((a) => a / Math.sqrt(fanIn));
    if (name === 'bn1.weight') v.fill(1);
    if (name.endsWith('bias')) v.fill(0.01);
    out.set(name, v);
  }
  return out;
}

/** conv3x3 → batch norm (plain ops, batch statistics) → relu → maxpool 2 → conv3x3/2 → relu → avgpool → dense → CE. */
function loss(p: Map<string, tf.Variable>, x: tf.Tensor4D, y: tf.Tensor2D): tf.Scalar {
  const v = (k: string): tf.Tensor => p.get(k)!;
  let h: tf.Tensor = tf.conv2d(x, v('conv1.weight') as tf.Tensor4D, 1, 'same');
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  h = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), v('bn1.weight')), v('bn1.bias'));
  h = tf.relu(h);
  h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
  h = tf.relu(tf.conv2d(h as tf.Tensor4D, v('conv2.weight') as tf.Tensor4D, 2, 'same'));
  h = tf.reshape(tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid'), [X_SHAPE[0], 8]);
  const logits = tf.add(tf.matMul(h as tf.Tensor2D, v('fc.weight') as tf.Tensor2D), v('fc.bias'));
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

interface TrainResult {
  losses: number[];
  weights: Map<string, Float32Array>;
  tensorsPerStep: number[];
}

// Reads are async: webgpu under Node cannot `dataSync` (it needs OffscreenCanvas).
async function train(): Promise<TrainResult> {
  const params = new Map<string, tf.Variable>();
  let id = 0;
  for (const [k, a] of initialParams()) {
    const t = tf.tensor(a, SHAPES[k]);
    params.set(k, tf.variable(t, true, `parity/${k}/${process.pid}/${id++}/${tf.getBackend()}`));
    t.dispose();
  }
  const x = tf.tensor4d(randn(size(X_SHAPE), 99), X_SHAPE);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(LABELS, 'int32'), 5), 'float32')) as tf.Tensor2D;
  const opt = tf.train.sgd(0.1);
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const l = opt.minimize(() => loss(params, x, y), true, [...params.values()])!;
    losses.push((await l.data())[0]!);
    l.dispose();
    tensorsPerStep.push(tf.memory().numTensors);
  }
  const weights = new Map<string, Float32Array>();
  for (const [k, t] of params) weights.set(k, Float32Array.from((await t.data()) as Float32Array));
  opt.dispose();
  tf.dispose([x, y, ...params.values()]);
  return { losses, weights, tensorsPerStep };
}

describe('a tiny conv net trains the same on every backend present', () => {
  let ref: TrainResult;

  afterAll(async () => {
    releaseBackend();
    await useBackend('cpu');
  });

  it('cpu (the reference) learns and does not leak', { timeout: 60_000 }, async () => {
    await useBackend('cpu');
    const before = tf.memory().numTensors;
    ref = await train();
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(ref.tensorsPerStep).size).toBe(1);
    expect(ref.losses.every(Number.isFinite)).toBe(true);
    expect(ref.losses[STEPS - 1]!).toBeLessThan(ref.losses[0]!);
  });

  const others: ConcreteBackendName[] = ['wasm', 'webgpu', 'tensorflow', 'torch'];
  it.for(others)('%s agrees with cpu', { timeout: 120_000 }, async (name, ctx) => {
    try {
      await useBackend(name);
    } catch (e) {
      if (!isSmnError(e) || e.code !== 'SMN_BACKEND_UNAVAILABLE') throw e;
      console.log(`skipping ${name}: ${String(e.details['reason'])}`);
      ctx.skip(`${name} not available: ${String(e.details['reason'])}`);
      return;
    }
    try {
      await check(name);
    } finally {
      if (name === 'webgpu') releaseBackend();
    }
  });

  async function check(name: ConcreteBackendName): Promise<void> {
    const before = tf.memory().numTensors;
    const got = await train();
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(got.tensorsPerStep).size).toBe(1);
    const lossDiff = Math.max(...got.losses.map((l, s) => Math.abs(l - ref.losses[s]!) / ref.losses[s]!));
    const wDiff = Math.max(...[...ref.weights].map(([k, w]) => relMaxDiff(got.weights.get(k)!, w)));
    console.log(`${name} vs cpu after ${STEPS} steps: loss rel diff ${lossDiff.toExponential(2)}, weights ${wDiff.toExponential(2)}`);
    for (let s = 0; s < STEPS; s++) {
      expect(Math.abs(got.losses[s]! - ref.losses[s]!) / ref.losses[s]!, `loss at step ${s}`).toBeLessThan(LOSS_TOL);
    }
    for (const [k, w] of ref.weights) expect(relMaxDiff(got.weights.get(k)!, w), k).toBeLessThan(WEIGHT_TOL);
  }
});
