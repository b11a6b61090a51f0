import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import type { Batch } from '@smn/datasets';
import { classificationObjective, createOptimizer, createTrainStep, forwardWithoutGradients, type Objective } from '../src/index.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const pos = { epoch: 0, batch: 0, step: 0 };

/** Logits = mean over pixels of x (a channel per class, 3 classes) × w + b: small enough to check by hand. */
function tinyModel() {
  const w = tf.variable(tf.tensor1d([0.5, -0.25, 1]), true, 'tiny_w');
  const b = tf.variable(tf.tensor1d([0, 0.1, -0.1]), true, 'tiny_b');
  const params = new Map([
    ['head.weight', w],
    ['head.bias', b],
  ]);
  const logits = (x: tf.Tensor4D) => tf.add(tf.mul(tf.mean(x, [1, 2]), w), b) as tf.Tensor2D;
  return { w, b, params, logits, dispose: () => (w.dispose(), b.dispose()) };
}

const batch = (labels: number[]): Batch => ({
  indices: Int32Array.from(labels.keys()),
  labels: Int32Array.from(labels),
  images: Float32Array.from({ length: labels.length * 2 * 2 * 3 }, (_, i) => ((i * 7) % 5) / 5),
  shape: [labels.length, 2, 2, 3],
});

describe('the shared training step', () => {
  it('takes the gradient of the objective and hands it to the optimizer under the parameter names (SGD by hand)', async () => {
    const m = tinyModel();
    const optimizer = createOptimizer({ optimizer: 'sgd', groups: [{ name: 'all', params: m.params, lr: 0.5, weightDecay: 0 }] });
    const objective = classificationObjective({ logits: m.logits, numClasses: 3, variables: [m.w, m.b] });
    const b = batch([0, 2]);
    // Expected: plain gradient descent with tf's own gradients of the same loss.
    const { value, grads } = tf.variableGrads(() => objective.loss(b, pos), [m.w, m.b]);
    const want = { w: Array.from(tf.sub(m.w, tf.mul(grads['tiny_w']!, 0.5)).dataSync()), b: Array.from(tf.sub(m.b, tf.mul(grads['tiny_b']!, 0.5)).dataSync()), loss: value.dataSync()[0]! };
    const before = tf.memory().numTensors;
    const step = createTrainStep({ objective, optimizer, params: [m.params] });
    const loss = await step(b, pos);
    expect(tf.memory().numTensors).toBe(before);
    expect(loss).toBeCloseTo(want.loss, 6);
    Array.from(m.w.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want.w[i]!, 6));
    Array.from(m.b.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want.b[i]!, 6));
    optimizer.dispose();
    m.dispose();
  });

  it('maps labels (pretraining), calls beforeStep, and stops on a non-finite loss after naming the fix', async () => {
    const m = tinyModel();
    const optimizer = createOptimizer({ optimizer: 'sgd', groups: [{ name: 'all', params: m.params, lr: 0.1, weightDecay: 0 }] });
    const remapped = classificationObjective({ logits: m.logits, numClasses: 3, variables: [m.w], labelOf: (l) => l - 5 });
    const calls: number[] = [];
    const objective: Objective<Batch> = { ...remapped, beforeStep: (p) => calls.push(p.step) };
    const step = createTrainStep({ objective, optimizer, params: [m.params] });
    await step(batch([5, 7]), { epoch: 0, batch: 0, step: 4 });
    expect(calls).toEqual([4]);
    const bad: Objective<Batch> = { variables: () => [m.w], loss: () => tf.div(tf.sum(m.w), tf.scalar(0)) as tf.Scalar };
    const diverging = createTrainStep({ objective: bad, optimizer, params: [m.params], divergenceHint: 'lower dl.lr (now 50)' });
    await expect(diverging(batch([0]), { epoch: 2, batch: 3, step: 9 })).rejects.toMatchObject({ code: 'SMN_TRAIN_DIVERGED', message: 'the loss became Infinity at epoch 2, batch 3; lower dl.lr (now 50) or check the data' });
    optimizer.dispose();
    m.dispose();
  });

  it('forwardWithoutGradients runs the objective, changes no variable and leaks nothing', async () => {
    const m = tinyModel();
    const objective = classificationObjective({ logits: m.logits, numClasses: 3, variables: [m.w, m.b] });
    const w0 = Array.from(m.w.dataSync());
    const before = tf.memory().numTensors;
    const loss = await forwardWithoutGradients(objective, batch([1, 1]), pos);
    expect(Number.isFinite(loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(m.w.dataSync())).toEqual(w0);
    await expect(forwardWithoutGradients(objective, { indices: new Int32Array(0), labels: new Int32Array(0), crops: [] }, pos)).rejects.toMatchObject({ code: 'SMN_TRAIN_INTERNAL' });
    m.dispose();
  });
});
