import { it } from 'vitest';
import { tf, setup } from './helpers.js';
it('x', async () => {
  await setup();
  for (const b of ['torch', 'cpu', 'torch']) {
    await tf.setBackend(b);
    const x = tf.randomNormal([4, 8, 8, 3]); const w = tf.variable(tf.randomNormal([3, 3, 3, 8]));
    const opt = tf.train.sgd(0.1);
    let t0 = performance.now();
    for (let i = 0; i < 20; i++) { const l = opt.minimize(() => tf.sum(tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Variable<tf.Rank.R4>, 1, 'same'))), true, [w])!; l.dataSync(); l.dispose(); }
    const t1 = performance.now();
    for (let i = 0; i < 2000; i++) { tf.tidy(() => tf.add(x, 1)); }
    const t2 = performance.now();
    process.stdout.write(`RESULT ${b} step ${((t1 - t0) / 20).toFixed(2)} ms, add ${((t2 - t1) / 2000 * 1000).toFixed(1)} us\n`);
  }
}, 60000);
