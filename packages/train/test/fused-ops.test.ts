import { describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { FusedKernel } from '@smn/core';
import { createResNet, setTrainBatchNorm } from '@smn/models';
import { createMaskedModel } from '@smn/subnetworks';
import { useFusedKernels } from '../src/index.js';

const maxRel = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(m, 1e-12);
};

// The torch backend registers @smn/core's FusedKernel.batchNormTrain; @smn/models finds it by name.
const torchOk = await useBackend('torch').then(
  () => true,
  () => false,
);

describe.skipIf(!torchOk)('fused train-mode BatchNorm on the torch backend', () => {
  it('gives the plain-ops outputs, score gradients and running statistics of a masked ResNet step', async () => {
    await useBackend('torch');
    const step = async (fused: boolean) => {
      if (fused) expect(await useFusedKernels()).toBe(true);
      else setTrainBatchNorm(null);
      const m = createResNet({ depth: 18, width: 8, stem: 'imagenet', numClasses: 0, seed: 11 });
      const mm = createMaskedModel(m, { select: (n) => (n.includes('conv') || n.includes('downsample') ? ['mask', n] : 'freeze'), scoresInit: { kind: 'normal', mean: 1, std: 0 } });
      const x = tf.randomNormal([8, 28, 28, 3], 0, 1, 'float32', 3);
      const w = tf.randomNormal([8, 64], 0, 1, 'float32', 4);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(mm.apply(x, { training: true }), w)) as tf.Scalar, mm.variables());
      const out = {
        loss: (await value.data())[0]!,
        grad: (await grads[mm.scores.get('layer1.0.conv1.weight')!.name]!.data()) as Float32Array,
        rv: (await m.buffers.get('layer2.0.bn1.running_var')!.data()) as Float32Array,
      };
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      tf.dispose([x, w]);
      mm.dispose();
      m.dispose();
      return out;
    };
    const plain = await step(false);
    const fused = await step(true);
    setTrainBatchNorm(null);
    expect(Math.abs(fused.loss - plain.loss) / Math.abs(plain.loss)).toBeLessThan(1e-4);
    expect(maxRel(fused.grad, plain.grad)).toBeLessThan(1e-3);
    expect(maxRel(fused.rv, plain.rv)).toBeLessThan(1e-5);
  }, 120_000);

  it('is found by name by default, with plain ops on a backend that does not register it', async () => {
    const kernelsOf = async (backend: 'torch' | 'cpu') => {
      await useBackend(backend);
      setTrainBatchNorm('auto');
      const m = createResNet({ depth: 18, width: 8, stem: 'imagenet', numClasses: 0, seed: 11 });
      const x = tf.randomNormal([2, 28, 28, 3], 0, 1, 'float32', 3);
      const { kernels } = await tf.profile(() => tf.tidy(() => m.apply(m.params, x, { training: true })));
      tf.dispose(x);
      m.dispose();
      return new Set(kernels.map((k) => k.name));
    };
    expect((await kernelsOf('torch')).has(FusedKernel.batchNormTrain)).toBe(true);
    expect((await kernelsOf('cpu')).has(FusedKernel.batchNormTrain)).toBe(false);
    setTrainBatchNorm(null);
  }, 120_000);
});
