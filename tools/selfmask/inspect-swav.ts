// Diagnosis of issue 18 (docs/experiments.md, self-masking the SwAV backbone): statistics of one SwAV batch (64 images
// x 2 crops of 28 px) through the embedded_swav backbone with a fresh head: backbone features, how much closer two
// crops of one image are than two images, projection, embeddings, prototype scores, Sinkhorn codes, predictions.
// Usage (torch backend, from the repository root):
//   node --import tsx --conditions=@smn/source tools/selfmask/inspect-swav.ts [OVERRIDES...]
import { useBackend, tf } from '../../packages/backend/src/index.js';
import { createLoader } from '../../packages/datasets/src/index.js';
import { resolveConfig } from '../../packages/train/src/index.js';
import { sinkhorn } from '../../packages/swav/src/index.js';
import { setUpExperiment } from '../../packages/train/src/experiment/setup.js';

const RECIPE = ['model.pret.module=swav', 'main.dataset=multicrop_embedded', 'model.pret.name=embedded_swav', 'swav.nmb_prototypes=30', "swav.nmb_crops=[2]", 'swav.size_crops=[224]', 'swav.min_scale_crops=[0.3]', 'swav.max_scale_crops=[1]'];

function stats(name: string, t: tf.Tensor): void {
  const d = t.dataSync();
  let mn = Infinity, mx = -Infinity, s = 0, s2 = 0;
  for (const v of d) { mn = Math.min(mn, v); mx = Math.max(mx, v); s += v; s2 += v * v; }
  const n = d.length;
  console.log(`${name.padEnd(34)} shape ${t.shape.join('x')} mean ${(s / n).toFixed(4)} std ${Math.sqrt(s2 / n - (s / n) ** 2).toFixed(4)} min ${mn.toFixed(4)} max ${mx.toFixed(4)}`);
}

await useBackend('torch');
const r = resolveConfig({ configName: 'submask_lin', overrides: [...RECIPE, ...process.argv.slice(2)] });
const exp = await setUpExperiment(r.config);
const loader = createLoader(exp.data.train, { batchSize: 64, seed: 0, epoch: 0, indices: exp.data.trainIndices, transform: exp.data.trainPreset, workers: 0 });
for await (const batch of loader) {
  if (!('crops' in batch)) throw new Error('no crops');
  tf.tidy(() => {
    const x = tf.concat(batch.crops.map((c) => tf.tensor4d(c.images, c.shape)), 0);
    stats('input', x);
    const h = exp.features(x, true, { epoch: 0, step: 0 });
    stats('features h (train-mode BN)', h);
    const hn = tf.div(h, tf.norm(h, 'euclidean', 1, true));
    const B = batch.labels.length;
    const cos = tf.matMul(hn, hn, false, true);
    stats('cos(h_i, h_j) all pairs', cos);
    const pairs = tf.sum(tf.mul(tf.slice(hn, [0, 0], [B, -1]), tf.slice(hn, [B, 0], [B, -1])), 1);
    stats('cos(h crop0, h crop1) same image', pairs);
    exp.swavHead!.normalizePrototypes();
    const z = exp.swavHead!.project(h);
    stats('z = fc(h)', z);
    const { embeddings: e, scores: p } = exp.swavHead!.apply(h);
    const ecos = tf.matMul(e, e, false, true);
    stats('cos(e_i, e_j)', ecos);
    stats('p = prototypes(e)', p);
    const pstd = tf.sqrt(tf.moments(p, 0).variance);
    stats('std over samples of p[:,k]', pstd);
    const q = sinkhorn(tf.slice(p, [0, 0], [B, -1]) as tf.Tensor2D);
    stats('q (codes, crop 0)', q);
    stats('max_k q', tf.max(q, 1));
    const lp = tf.logSoftmax(tf.div(tf.slice(p, [B, 0], [B, -1]), 0.1));
    stats('softmax(p crop1/T) max', tf.max(tf.exp(lp), 1));
    stats('loss term crop0<-crop1', tf.neg(tf.sum(tf.mul(q, lp), 1)));
  });
  break;
}
exp.dispose();
