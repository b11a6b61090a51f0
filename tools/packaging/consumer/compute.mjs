// The work a user does with the published packages, the same code in Node (node-check.mjs) and in the browser
// bundle (browser-entry.mjs): a .smnmask round trip, a safetensors round trip, kNN on a bank whose answer is known,
// Sinkhorn-Knopp, the seeded RNG, and a resized crop, a blur and a preset's view of the same pixels. It needs a tfjs backend set by the caller. Results are plain JSON (bytes as
// hex) so the test can check them against its own formulas and compare the two runtimes.
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@smn/core';
import { decodeMasks, encodeMasks } from '@smn/subnetworks';
import { encodeSafetensors, parseSafetensors } from '@smn/models';
import { knnPredict } from '@smn/knn';
import { sinkhorn } from '@smn/swav';
import { compileSampleTransform, gaussianBlur, resampleBox, sampleRng } from '@smn/datasets';
import { inputs, range } from './inputs.mjs';

export { inputs };

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function maskJson(masks) {
  return Object.fromEntries([...masks].map(([name, m]) => [name, { shape: [...m.shape], values: Array.from(m.values) }]));
}

export async function compute() {
  const inp = inputs();
  const before = tf.memory().numTensors;

  const binary = await encodeMasks(inp.masks, { mode: 'threshold', k: 0 });
  const binaryBack = decodeMasks(binary.bytes, 'binary.smnmask');
  const sign = await encodeMasks(inp.signMasks, { mode: 'flip' });
  const signBack = decodeMasks(sign.bytes, 'sign.smnmask');
  const gzip = await encodeMasks(inp.masks, { mode: 'threshold', k: 0, compress: 'gzip' });
  const gzipBack = decodeMasks(gzip.bytes, 'gzip.smnmask');

  const st = encodeSafetensors(inp.tensors, inp.metadata);
  const stBack = parseSafetensors(st, 'roundtrip.safetensors');

  const knn = await knnPredict(inp.queries, inp.bank, inp.bankLabels, inp.knn);

  const o = tf.tensor2d(inp.scores.data, inp.scores.shape);
  const q3 = sinkhorn(o);
  const q200 = sinkhorn(o, { iterations: 200 });
  const sink3 = Array.from(await q3.data());
  const sink200 = Array.from(await q200.data());
  tf.dispose([o, q3, q200]);

  const box = { top: 1, left: 2, height: 12, width: 15 };
  const crop = resampleBox(inp.image, box, 9, 9, 'bicubic', true);
  const blur = gaussianBlur(inp.image, 1.3);
  const view = compileSampleTransform({ preset: 'supervised', size: 12, scale: [0.3, 1] })(inp.image, sampleRng(1, 0, 0)).view;

  const rng = createRng(inp.rngSeed);
  return {
    backend: tf.getBackend(),
    smnmask: {
      binary: { hex: hex(binary.bytes), header: binary.header, back: maskJson(binaryBack.masks), backHeader: binaryBack.header },
      sign: { hex: hex(sign.bytes), header: sign.header, back: maskJson(signBack.masks) },
      gzip: { bytes: gzip.bytes.length, compression: gzip.header.compression, back: maskJson(gzipBack.masks) },
    },
    safetensors: {
      hex: hex(st),
      metadata: stBack.metadata,
      back: Object.fromEntries(
        [...stBack.tensors].map(([name, t]) => [name, { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.data, (v) => (typeof v === 'bigint' ? v.toString() : v)) }]),
      ),
    },
    knn: { predictions: Array.from(knn.predictions), scores: Array.from(knn.scores), numClasses: knn.numClasses, k: knn.k },
    sinkhorn: { shape: inp.scores.shape, iterations3: sink3, iterations200: sink200 },
    rng: { next: range(5, () => rng.next()), int: range(5, () => rng.int(1000)) },
    datasets: {
      crop: hex(crop.data),
      blur: hex(blur.data),
      flatCrop: [...new Set(resampleBox(inp.flat, box, 9, 9, 'bicubic', true).data)],
      flatBlur: [...new Set(gaussianBlur(inp.flat, 1.3).data)],
      supervised: Array.from(view),
    },
    leakedTensors: tf.memory().numTensors - before,
  };
}
