import { tf, useBackend } from '../../packages/backend/src/index.js';
import { createResNet } from '../../packages/models/src/index.js';
import { maskedWeight } from '../../packages/subnetworks/src/index.js';
await useBackend('torch' as never);
const model = createResNet({ depth: 18, numClasses: 0, seed: 0 });
const names = [...model.params.keys()].filter((n) => n.includes('conv') || n.includes('downsample'));
const scores = names.map((n) => tf.variable(tf.onesLike(model.params.get(n)!)));
const time = async (label: string, f: () => tf.Tensor) => {
  for (let i = 0; i < 2; i++) { const r = f(); await r.data(); r.dispose(); }
  const t = performance.now();
  for (let i = 0; i < 5; i++) { const r = f(); await r.data(); r.dispose(); }
  console.log(label, ((performance.now() - t) / 5).toFixed(1), 'ms');
};
await time('fwd maskedWeight', () => tf.tidy(() => tf.addN(names.map((n, i) => tf.sum(maskedWeight(model.params.get(n)!, scores[i]!, 0, 'threshold'))))));
await time('sum only', () => tf.tidy(() => tf.addN(names.map((n, i) => tf.sum(model.params.get(n)!)))));
await time('sum scores', () => tf.tidy(() => tf.addN(names.map((n, i) => tf.sum(scores[i]!)))));
await time('mul', () => tf.tidy(() => tf.addN(names.map((n, i) => tf.sum(tf.mul(model.params.get(n)!, scores[i]!))))));
const prof = await tf.profile(() => tf.tidy(() => { const { value, grads } = tf.variableGrads(() => tf.addN(names.map((n, i) => tf.sum(maskedWeight(model.params.get(n)!, scores[i]!, 0, 'threshold')))) as tf.Scalar, scores); return value; }));
const agg = new Map<string, [number, number]>();
for (const k of prof.kernels) { const a = agg.get(k.name) ?? [0, 0]; a[0]++; a[1] += Number(k.kernelTimeMs) || 0; agg.set(k.name, a); }
console.log([...agg].sort((a, b) => b[1][1] - a[1][1]).map(([n, [c, t]]) => `${n} x${c} ${t.toFixed(1)}ms`).join('\n'));
