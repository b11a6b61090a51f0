import { beforeAll, describe, expect, it } from 'vitest';
import { FusedKernel } from '@smn/core';
import { available, both, setup, tf } from './helpers.js';
import { fusedBatchNormTrain, fusedBatchNormTrainStats } from '../src/index.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const cases: { x: number[]; f: number[]; s: number; pad: Pad; d?: number; what: string }[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 1, pad: 'same', what: '3×3 stride 1 same' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 'same', what: '3×3 stride 2 same (asymmetric padding)' },
  { x: [1, 7, 6, 2], f: [3, 3, 2, 3], s: 2, pad: 'same', what: 'odd sizes stride 2 same' },
  { x: [2, 6, 6, 4], f: [1, 1, 4, 5], s: 2, pad: 'valid', what: '1×1 stride 2 (ResNet downsample)' },
  { x: [2, 6, 6, 3], f: [1, 1, 3, 2], s: 1, pad: 'valid', what: '1×1 stride 1' },
  { x: [1, 9, 9, 2], f: [5, 5, 2, 3], s: 1, pad: 'valid', what: '5×5 valid' },
  { x: [1, 6, 7, 2], f: [3, 2, 2, 3], s: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]], what: 'explicit asymmetric padding, 3×2 filter' },
  { x: [1, 9, 9, 2], f: [3, 3, 2, 2], s: 1, pad: 'same', d: 2, what: 'dilation 2' },
];

describe.skipIf(!available)('torch backend: convolution vs cpu', () => {
  beforeAll(setup);
  for (const c of cases) {
    it(`Conv2D forward and both gradients through tf.grads: ${c.what}`, async () => {
      const f = (x: tf.Tensor, w: tf.Tensor) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad as 'same', 'NHWC', c.d ?? 1);
      const natives = c.d ? ['Conv2D'] : ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
      await both(
        (x, w, dyW) => {
          const y = f(x, w);
          if (c.d) return [y]; // tfjs has no gradient for dilated conv2d
          // weighted sum so the gradient flowing back is not constant
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), tf.reshape(tf.slice(dyW, 0, tf.util.sizeFromShape(y.shape)), y.shape))))([x, w]);
          return [y, ...g];
        },
        [{ shape: c.x }, { shape: c.f }, { shape: [4096] }],
        { natives, tol: 2e-5 },
      );
    });
  }

  it('the same filter reused after its layout copy gives the same result, and stays HWIO to readers', async () => {
    await both(
      (x, w) => {
        const y1 = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
        const y2 = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
        return [y1, y2, tf.add(w, 0), tf.reshape(w, [-1])];
      },
      [{ shape: [1, 5, 5, 3] }, { shape: [3, 3, 3, 4] }],
    );
  });

  it('depthwise conv forward and gradients', async () => {
    const f = (x: tf.Tensor, w: tf.Tensor) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
    await both((x, w) => [f(x, w), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(f(a, b))))([x, w])], [{ shape: [2, 6, 6, 3] }, { shape: [3, 3, 3, 2] }], {
      natives: ['DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'],
      tol: 2e-5,
    });
  });

  it('fused conv2d with bias and relu', async () => {
    await both((x, w, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' }), [{ shape: [1, 5, 5, 2] }, { shape: [3, 3, 2, 3] }, { shape: [3] }], {
      natives: ['FusedConv2D'],
    });
  });

  const pools: { x: number[]; k: number; s: number; pad: 'same' | 'valid'; what: string }[] = [
    { x: [2, 8, 8, 3], k: 2, s: 2, pad: 'valid', what: '2×2 stride 2 valid' },
    { x: [2, 7, 7, 3], k: 3, s: 2, pad: 'same', what: '3×3 stride 2 same (asymmetric)' },
    { x: [1, 6, 6, 2], k: 3, s: 1, pad: 'same', what: '3×3 stride 1 same' },
    { x: [1, 8, 8, 2], k: 2, s: 2, pad: 'same', what: '2×2 stride 2 same' },
  ];
  for (const p of pools) {
    it(`MaxPool/AvgPool and their gradients: ${p.what}`, async () => {
      const mx = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, p.k, p.s, p.pad);
      const av = (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, p.k, p.s, p.pad);
      await both(
        (x, w) => {
          const wt = (y: tf.Tensor) => tf.reshape(tf.slice(w, 0, y.size), y.shape);
          return [
            mx(x),
            av(x),
            tf.grad((a: tf.Tensor) => tf.sum(tf.mul(mx(a), wt(mx(a)))))(x),
            tf.grad((a: tf.Tensor) => tf.sum(tf.mul(av(a), wt(av(a)))))(x),
          ];
        },
        [{ shape: p.x }, { shape: [1024] }],
        { natives: ['MaxPool', 'AvgPool', 'MaxPoolGrad', 'AvgPoolGrad'], tol: 2e-5 },
      );
    });
  }

  it('batchNorm (FusedBatchNorm) forward and gradients', async () => {
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => tf.batchNorm(x, m, tf.abs(v), o, s, 1e-3);
    await both(
      (x, m, v, o, s) => [f(x, m, v, o, s), ...tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(f(a, m, v, b, c))))([x, o, s])],
      [{ shape: [2, 3, 3, 4] }, { shape: [4] }, { shape: [4] }, { shape: [4] }, { shape: [4] }],
      { natives: ['FusedBatchNorm'], tol: 2e-5 },
    );
  });

  it('fusedBatchNormTrain: one libtorch kernel each way on torch, the closed form on cpu, both equal to plain ops', async () => {
    const plain = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, x.shape.slice(0, -1).map((_, i) => i));
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
    };
    for (const shape of [[3, 4, 5, 6], [7, 6]]) {
      const r = await both(
        (x, g, b, w) => {
          const loss = (f: typeof plain) => (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, c, d), w));
          return [fusedBatchNormTrain(x, g, b), ...tf.grads(loss(fusedBatchNormTrain))([x, g, b]), plain(x, g, b), ...tf.grads(loss(plain))([x, g, b])];
        },
        [{ shape }, { shape: [6] }, { shape: [6] }, { shape }],
        { natives: [FusedKernel.batchNormTrain, FusedKernel.batchNormTrainGrad], tol: 5e-5 },
      );
      // fused (outputs 0-3) against plain ops (outputs 4-7) on the torch side
      for (let k = 0; k < 4; k++) {
        const a = r.torch[k]!.values;
        const p = r.torch[k + 4]!.values;
        const worst = Math.max(...a.map((v, i) => Math.abs(v - p[i]!) / (1 + Math.abs(p[i]!))));
        expect(worst, `fused vs plain, output ${k}`).toBeLessThan(5e-5);
      }
    }
  });

  it('fusedBatchNormTrainStats: the batch mean and biased variance of the same kernel, off the gradient tape', async () => {
    const shape = [4, 5, 5, 6];
    const r = await both(
      (x, g, b, w) => {
        const axes = [0, 1, 2];
        const { mean, variance } = tf.moments(x, axes);
        let kept: tf.Tensor[] = [];
        // Inside a gradient: the statistics change nothing in it, and y's gradient is fusedBatchNormTrain's.
        const [gx] = tf.grads((a: tf.Tensor) => {
          const out = fusedBatchNormTrainStats(a, g, b);
          kept = [out.mean, out.variance];
          return tf.sum(tf.mul(out.y, w));
        })([x]);
        const [gx2] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(fusedBatchNormTrain(a, g, b), w)))([x]);
        return [...kept, mean, variance, gx!, gx2!];
      },
      [{ shape }, { shape: [6] }, { shape: [6] }, { shape }],
      { natives: [FusedKernel.batchNormTrain], tol: 5e-5 },
    );
    for (const side of [r.torch, r.cpu]) {
      for (const [k, ref] of [[0, 2], [1, 3], [4, 5]] as const) {
        const a = side[k]!.values;
        const p = side[ref]!.values;
        const worst = Math.max(...a.map((v, i) => Math.abs(v - p[i]!) / (1 + Math.abs(p[i]!))));
        expect(worst, `output ${k} against ${ref}`).toBeLessThan(1e-5);
      }
    }
  });
});
