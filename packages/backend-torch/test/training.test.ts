import { beforeAll, describe, expect, it } from 'vitest';
import { available, makeValues, setup, tf } from './helpers.js';
import { resetTorchProfile, torchProfile } from '../src/index.js';

/** W ⊙ (S > 0) / sqrt(mean(S > 0)) with a straight-through gradient for S (dL/dS = dL/dŴ · W / sqrt(m̄)). */
const masked = tf.customGrad(((w: tf.Tensor, s: tf.Tensor, save: tf.GradSaveFunc) => {
  const m = tf.cast(tf.greater(s, 0), 'float32');
  const scale = tf.rsqrt(tf.mean(m));
  save([w, scale]);
  const value = tf.mul(tf.mul(w, m), scale);
  return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.zerosLike(saved[0]!), tf.mul(tf.mul(dy, saved[0]!), saved[1]!)] };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (w: tf.Tensor, s: tf.Tensor) => tf.Tensor;

function batchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2], true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
}

const SHAPES: Record<string, number[]> = {
  w1: [3, 3, 3, 8],
  s1: [3, 3, 3, 8],
  g1: [8],
  b1: [8],
  w2: [3, 3, 8, 16],
  s2: [3, 3, 8, 16],
  w3: [1, 1, 8, 16],
  s3: [1, 1, 8, 16],
  wf: [16, 10],
  sf: [16, 10],
  bf: [10],
};

function initValues(): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, shape] of Object.entries(SHAPES)) {
    const v = makeValues({ shape });
    if (k.startsWith('s')) out[k] = v.map((x) => (x > -1.2 ? 1 : -1)); // some scores start masked off
    else if (k.startsWith('g')) out[k] = v.map(() => 1);
    else if (k.startsWith('b')) out[k] = v.map(() => 0);
    else out[k] = v.map((x) => x * 0.3);
  }
  return out;
}

/** A masked conv net: conv → bn → relu → maxpool → [conv s2 + 1×1 s2 shortcut] → relu → global mean → dense → CE. */
function loss(p: Record<string, tf.Tensor>, x: tf.Tensor4D, y: tf.Tensor): tf.Scalar {
  let h: tf.Tensor = tf.conv2d(x, masked(p.w1!, p.s1!) as tf.Tensor4D, 1, 'same');
  h = tf.relu(batchNorm(h, p.g1!, p.b1!));
  h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'same');
  const a = tf.conv2d(h as tf.Tensor4D, masked(p.w2!, p.s2!) as tf.Tensor4D, 2, 'same');
  const b = tf.conv2d(h as tf.Tensor4D, masked(p.w3!, p.s3!) as tf.Tensor4D, 2, 'valid');
  h = tf.relu(tf.add(a, b));
  const pooled = tf.mean(h, [1, 2]);
  const logits = tf.add(tf.matMul(pooled, masked(p.wf!, p.sf!)), p.bf!);
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

async function train(backend: string, init: Record<string, number[]>, xv: number[], labels: number[], steps: number) {
  await tf.setBackend(backend);
  const params: Record<string, tf.Variable> = {};
  tf.tidy(() => {
    for (const [k, shape] of Object.entries(SHAPES)) params[k] = tf.variable(tf.tensor(init[k]!, shape), k.startsWith('s') || k.startsWith('g') || k.startsWith('b'), `${backend}_${k}_${Math.random()}`);
  });
  const x = tf.tensor4d(xv, [4, 8, 8, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10));
  const opt = tf.train.momentum(0.1, 0.9);
  const trainable = Object.entries(params).filter(([k]) => !k.startsWith('w')).map(([, v]) => v);
  const losses: number[] = [];
  const counts: number[][] = [];
  for (let i = 0; i < steps; i++) {
    const l = opt.minimize(() => loss(params, x, y), true, trainable)!;
    losses.push(l.dataSync()[0]!);
    l.dispose();
    counts.push([tf.memory().numTensors, tf.engine().backend.numDataIds()]);
  }
  const finals = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.from(v.dataSync())]));
  opt.dispose();
  tf.dispose([x, y, ...Object.values(params)]);
  return { losses, finals, counts };
}

describe.skipIf(!available)('torch backend: a masked conv-net training step vs cpu', () => {
  beforeAll(setup);

  it('3 momentum-SGD steps match cpu (losses and parameters within 1e-4), all kernels native, no leaks', { timeout: 120_000 }, async () => {
    const init = initValues();
    const xv = makeValues({ shape: [4, 8, 8, 3] });
    const labels = [1, 7, 3, 3];
    const before = tf.memory().numTensors;
    resetTorchProfile();
    const t = await train('torch', init, xv, labels, 3);
    const prof = torchProfile();
    const torchLeft = tf.memory().numTensors - before;
    const c = await train('cpu', init, xv, labels, 3);
    const cpuLeft = tf.memory().numTensors - before - torchLeft;
    await tf.setBackend('torch');
    for (let i = 0; i < 3; i++) expect(Math.abs(t.losses[i]! - c.losses[i]!), `loss of step ${i}`).toBeLessThan(1e-4 * (1 + Math.abs(c.losses[i]!)));
    expect(t.losses[2]!).toBeLessThan(t.losses[0]!);
    for (const k of Object.keys(SHAPES)) {
      const a = t.finals[k]!;
      const b = c.finals[k]!;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
      expect(worst, `parameter ${k} after 3 steps`).toBeLessThan(1e-4);
    }
    expect(prof.fallback, 'kernels that fell back to cpu').toEqual({});
    for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPool', 'MaxPoolGrad', 'BatchMatMul', 'Max', 'Exp', 'Log']) {
      expect(prof.native[k] ?? 0, k).toBeGreaterThan(0);
    }
    // tensors and native data flat from step 2 on (step 1 creates the optimizer's slots)
    expect(t.counts[2]).toEqual(t.counts[1]);
    // tfjs's momentum optimizer itself leaves a few tensors behind on every backend: same count as cpu
    expect(torchLeft).toBe(cpuLeft);
  });

  it('numDataIds and native handles stay flat over 20 steps', { timeout: 120_000 }, async () => {
    const init = initValues();
    const xv = makeValues({ shape: [4, 8, 8, 3] });
    await tf.setBackend('torch');
    const be = tf.backend() as unknown as { nativeHandlesInUse(): number; native: { live(): number } };
    const r = await train('torch', init, xv, [0, 1, 2, 3], 20);
    // tensors and data ids identical after every step from the second on
    expect(new Set(r.counts.slice(1).map((c) => c.join(','))).size).toBe(1);
    // every native tensor belongs to a live dataId (no handle leaked by a kernel)
    expect(be.native.live()).toBe(be.nativeHandlesInUse());
  });
});
