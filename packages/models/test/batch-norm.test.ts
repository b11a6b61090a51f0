import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { createResNet, withCumulativeBatchNorm } from '../src/index.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** Per-channel mean and unbiased variance of an NHWC batch, in float64. */
function channelStats(x: Float32Array, c: number): { mean: number[]; varUnbiased: number[] } {
  const n = x.length / c;
  const mean = new Array<number>(c).fill(0);
  const sq = new Array<number>(c).fill(0);
  for (let i = 0; i < x.length; i++) mean[i % c]! += x[i]! / n;
  for (let i = 0; i < x.length; i++) sq[i % c]! += (x[i]! - mean[i % c]!) ** 2;
  return { mean, varUnbiased: sq.map((s) => s / (n - 1)) };
}

describe('withCumulativeBatchNorm', () => {
  it('makes the running statistics the average of the batch statistics of the batches seen (momentum=None)', async () => {
    const model = createResNet({ depth: 18, width: 4, stem: 'cifar', numClasses: 0, seed: 3 });
    const batches = [0, 1, 2].map((s) => tf.randomNormal([3, 8, 8, 3], s * 0.5, 1 + s, 'float32', s));
    // The first BatchNorm sees the stem convolution's output: compute its batch statistics in the test.
    const stem = batches.map((x) => tf.conv2d(x as tf.Tensor4D, model.params.get('conv1.weight') as tf.Tensor4D, 1, 1));
    const stats = await Promise.all(stem.map(async (h) => channelStats((await h.data()) as Float32Array, 4)));
    const before = (await model.buffers.get('bn1.num_batches_tracked')!.data())[0]!;
    await withCumulativeBatchNorm(async () => {
      for (const x of batches) tf.tidy(() => model.apply(model.params, x, { training: true }));
    });
    const rm = Array.from(await model.buffers.get('bn1.running_mean')!.data());
    const rv = Array.from(await model.buffers.get('bn1.running_var')!.data());
    for (let ch = 0; ch < 4; ch++) {
      const wantMean = stats.reduce((a, s) => a + s.mean[ch]!, 0) / 3;
      const wantVar = stats.reduce((a, s) => a + s.varUnbiased[ch]!, 0) / 3;
      expect(Math.abs(rm[ch]! - wantMean)).toBeLessThan(1e-4 * (1 + Math.abs(wantMean)));
      expect(Math.abs(rv[ch]! - wantVar) / wantVar).toBeLessThan(1e-4);
    }
    expect((await model.buffers.get('bn1.num_batches_tracked')!.data())[0]).toBe(before + 3);
    // Afterwards updates are exponential again (momentum 0.1): one more batch moves the mean by 0.1·(batch − running).
    const x = batches[0]!;
    tf.tidy(() => model.apply(model.params, x, { training: true }));
    const rm2 = Array.from(await model.buffers.get('bn1.running_mean')!.data());
    for (let ch = 0; ch < 4; ch++) expect(Math.abs(rm2[ch]! - (0.9 * rm[ch]! + 0.1 * stats[0]!.mean[ch]!))).toBeLessThan(1e-4);
    tf.dispose([...batches, ...stem]);
    model.dispose();
  });
});

describe('ResNet inference memory', () => {
  it('frees each block’s activations once used in eval mode outside gradients, with the same outputs', async () => {
    const model = createResNet({ depth: 50, width: 8, numClasses: 0, seed: 5 });
    const x = tf.randomNormal([4, 64, 64, 3], 0, 1, 'float32', 9);
    let eager: tf.Tensor | undefined;
    // tf.profile returns the engine's one profile object: copy the number before profiling again.
    const evalPeak = (
      await tf.profile(() => {
        eager = model.apply(model.params, x, { training: false });
      })
    ).peakBytes;
    // Inside a gradient scope every activation is kept for the backward pass (the plain path).
    let kept: tf.Tensor | undefined;
    const gradPeak = (
      await tf.profile(() => {
        const g = tf.grad((inp: tf.Tensor) => {
          const out = model.apply(model.params, inp, { training: false });
          kept = tf.keep(tf.clone(out));
          return tf.sum(out);
        })(x);
        g.dispose();
      })
    ).peakBytes;
    expect(evalPeak).toBeLessThan(gradPeak / 3);
    const a = await eager!.data();
    const b = await kept!.data();
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(b[i]!)));
    tf.dispose([x, eager!, kept!]);
    model.dispose();
  });
});
