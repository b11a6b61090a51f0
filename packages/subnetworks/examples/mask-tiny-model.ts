// Mask a tiny conv net and train its masks for a few SGD steps, then save the masks as a 1-bit .smnmask file.
// Run from packages/subnetworks:  pnpm tsx examples/mask-tiny-model.ts
import { useBackend, tf } from '@smn/backend';
import { createMaskedModel, loadMasks, saveMasks, type FunctionalModel } from '@smn/subnetworks';

await useBackend('cpu'); // registers the gradients; 'auto' picks the fastest backend installed

// A functional model: PyTorch parameter names, TF.js layouts (conv HWIO, linear [in, out]).
const params = new Map<string, tf.Tensor>([
  ['conv1.weight', tf.randomNormal([3, 3, 1, 8], 0, 0.3, 'float32', 1)],
  ['conv1.bias', tf.zeros([8])],
  ['fc.weight', tf.randomNormal([8, 3], 0, 0.3, 'float32', 2)],
  ['fc.bias', tf.zeros([3])],
]);
const model: FunctionalModel = {
  params,
  apply: (p, x) =>
    tf.tidy(() => {
      const h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, p.get('conv1.weight') as tf.Tensor4D, 1, 'same'), p.get('conv1.bias')!));
      return tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, p.get('fc.weight') as tf.Tensor2D), p.get('fc.bias')!);
    }),
};

// As the reference README: mask the weights (slot = layer name), keep the biases; scores start at 1.0.
const masked = createMaskedModel(model, {
  select: (name) => (name.endsWith('.weight') ? ['mask', name.split('.')[0]!] : 'freeze'),
  scoresInit: { kind: 'normal', mean: 1, std: 0 },
  mode: 'threshold',
  k: 0,
});

const x = tf.randomNormal([16, 6, 6, 1], 0, 1, 'float32', 3);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 3), 'int32'), 3);
const opt = tf.train.sgd(50); // the paper masks with lr 50 (scores start at 1 and must cross 0)
for (let step = 0; step < 10; step++) {
  const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, masked.apply(x, { training: true, step })) as tf.Scalar, true, masked.variables())!;
  const { mean_mask } = masked.analyze({ step });
  console.log(`step ${step}: loss ${loss.dataSync()[0]!.toFixed(4)}, active weights ${(100 * mean_mask!).toFixed(1)}%`);
  loss.dispose();
}

const masks = masked.masks();
const { bytes } = await saveMasks('/tmp/tiny.smnmask', masks, { baseParams: params, mode: 'threshold', k: 0 });
console.log(`saved ${masks.size} masks in ${bytes} bytes`);
const back = await loadMasks('/tmp/tiny.smnmask', { baseParams: params }); // refuses other base weights
console.log('reloaded:', [...back.keys()].join(', '));
tf.dispose([...masks.values(), ...back.values(), x, y]);
masked.dispose();
