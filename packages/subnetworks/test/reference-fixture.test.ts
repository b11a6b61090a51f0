import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createMaskedModel } from '../src/index.js';
import { loadReference, maxRelErr, tinyModel, toTensor, type Reference } from './_tiny-model.js';

// Masked outputs and score gradients against the PyTorch re-implementation of the reference's GetSubnet and
// SubmaskedModel (tools/fixtures/subnetworks/make_fixtures.py, computed in float64). Tolerance: 1e-5 relative,
// entries below 1% of the tensor's largest measured against that 1% (float32 here; see maxRelErr).
let ref: Reference;
beforeAll(() => {
  ref = loadReference();
});

// cpu always; wasm too (a dependency of @smn/backend, so present wherever the tests run).
describe.each(['cpu', 'wasm'] as const)('PyTorch reference fixture on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(async () => {
    await useBackend('cpu');
  });
  for (const mode of ['threshold', 'topk', 'flip'] as const) {
    it(`${mode}: masks, outputs, score and bias gradients match PyTorch`, () => {
      expect(tf.getBackend()).toBe(backend);
      const c = ref.cases.find((x) => x.mode === mode)!;
      const model = tinyModel(ref);
      const masked = createMaskedModel(model, {
        select: (name) => (ref.masked.includes(name) ? 'mask' : ref.trained.includes(name) ? 'train' : 'freeze'),
        scoresInit: (name) => toTensor(c.scores[name]!),
        mode: c.mode,
        k: c.k,
      });
      const x = toTensor(ref.input);
      const r = toTensor(ref.R);

      const masks = masked.masks();
      for (const name of ref.masked) {
        expect(Array.from(masks.get(name)!.dataSync()), name).toEqual(c.masks[name]!.data);
      }
      for (const m of masks.values()) m.dispose();

      const y = masked.apply(x);
      expect(y.shape).toEqual(c.output.shape);
      expect(maxRelErr(y.dataSync(), c.output.data)).toBeLessThan(1e-5);
      y.dispose();

      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(masked.apply(x, { training: true }), r)) as tf.Scalar, masked.variables());
      expect(Math.abs(value.dataSync()[0]! - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-5);
      for (const name of ref.masked) {
        const g = grads[masked.scores.get(name)!.name]!;
        expect(g.shape, name).toEqual(c.scoreGrads[name]!.shape);
        expect(maxRelErr(g.dataSync(), c.scoreGrads[name]!.data), `score grad ${name}`).toBeLessThan(1e-5);
      }
      for (const name of ref.trained) {
        const g = grads[masked.trainable.get(name)!.name]!;
        expect(maxRelErr(g.dataSync(), c.trainGrads[name]!.data), `bias grad ${name}`).toBeLessThan(1e-5);
      }
      // Frozen parameters get no variable and pass through unchanged.
      expect(masked.trainable.has('fc.bias')).toBe(false);
      expect(masked.scores.has('fc.bias')).toBe(false);

      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
      tf.dispose([x, r]);
      masked.dispose();
      for (const p of model.params.values()) p.dispose();
    });
  }
});
