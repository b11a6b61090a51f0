import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import { loadDataset } from '@smn/datasets';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';
import { createMaskedModel } from '@smn/subnetworks';
import { createOptimizer, lrAt } from './optim/index.js';
import { runLoop } from './loop.js';
import { useFusedKernels } from './fused-ops.js';
import { createLoader, type Batch } from '@smn/datasets';
import { classificationMetrics, embedSplit } from './experiment/data.js';
import type { RunEvents } from './experiment/run.js';

/** Options of {@link pretrainEmbedded}; the defaults made the shipped backbone. */
export interface PretrainOptions {
  /** Output .safetensors file (a .json description is written beside it). */
  out: string;
  /** Dataset with the pretraining images (default the Fashion-MNIST train split). */
  dataset?: string;
  dataRoot?: string;
  /** Labels used for pretraining (default 0-4: T-shirt/top, Trouser, Pullover, Dress, Coat). */
  classes?: number[];
  /** Train indices below this bound only (default 50,000: the embedded subset comes from 50,000-59,999). */
  maxIndex?: number;
  depth?: 18 | 34;
  width?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  workers?: number;
  signal?: AbortSignal;
  events?: RunEvents;
}

export interface PretrainResult {
  out: string;
  params: number;
  testAccuracy: number;
  testImages: number;
  trainImages: number;
  seconds: number;
}

/**
 * Pretrains the small embedded backbone: a torchvision-layout ResNet on part of Fashion-MNIST's label space, so that
 * adapting it to all ten classes of the embedded subset is a real transfer task. Plain supervised training (SGD
 * momentum 0.9, cosine, weight decay 5e-4, light augmentation), then the fc head is dropped and the weights are saved
 * as safetensors in PyTorch layout and names, exactly like a torchvision checkpoint.
 */
export async function pretrainEmbedded(opts: PretrainOptions): Promise<PretrainResult> {
  const t0 = Date.now();
  const classes = opts.classes ?? [0, 1, 2, 3, 4];
  const maxIndex = opts.maxIndex ?? 50_000;
  const epochs = opts.epochs ?? 4;
  const B = opts.batchSize ?? 128;
  const seed = opts.seed ?? 0;
  const width = opts.width ?? 16;
  const depth = opts.depth ?? 18;
  const workers = opts.workers ?? 1;
  const name = opts.dataset ?? 'fashion_mnist';
  const [train, test] = await Promise.all([
    loadDataset(name, { split: 'train', ...(opts.dataRoot ? { dataRoot: opts.dataRoot } : {}) }),
    loadDataset(name, { split: 'test', ...(opts.dataRoot ? { dataRoot: opts.dataRoot } : {}) }),
  ]);
  const remap = new Map(classes.map((c, i) => [c, i]));
  const pick = (labels: Int32Array, bound: number) => Int32Array.from([...labels.keys()].filter((i) => i < bound && remap.has(labels[i]!)));
  const trainIdx = pick(train.labels, maxIndex);
  const testIdx = pick(test.labels, test.length);
  if (trainIdx.length === 0) throw new SmnError('SMN_PRETRAIN_EMPTY', `no training images of classes ${classes.join(',')} in ${train.source}`);
  const size = train.imageShape?.[0] ?? 28;

  await useFusedKernels();
  const model = createResNet({ depth, width, stem: 'imagenet', numClasses: classes.length, seed });
  model.output = 'logits';
  const mm = createMaskedModel(model, { select: () => 'train' });
  const params = new Map([...mm.trainable].map(([n, v]) => [n, v] as [string, tf.Variable]));
  const byVar = new Map([...params].map(([n, v]) => [v.name, n]));
  const lr = opts.lr ?? 0.1;
  const optimizer = createOptimizer({ optimizer: 'sgd', momentum: 0.9, groups: [{ name: 'all', params, lr, weightDecay: 5e-4 }] });
  const ev = opts.events ?? {};
  const remapLabels = (l: Int32Array) => Int32Array.from(l, (v) => remap.get(v)!);
  ev.onPhase?.('pretrain', epochs);
  const res = await runLoop<Batch>({
    epochs,
    start: { epoch: 0, batch: 0, step: 0 },
    ...(opts.signal ? { signal: opts.signal } : {}),
    batchesInEpoch: () => Math.ceil(trainIdx.length / B),
    batches: (epoch, skip) =>
      createLoader(train, {
        batchSize: B,
        seed,
        epoch,
        indices: trainIdx,
        transform: { preset: 'supervised', size, scale: [0.6, 1], jitterP: 0.3, grayscaleP: 0, solarizeP: 0 },
        workers,
        startBatch: skip,
      }),
    beginEpoch: (epoch) => optimizer.setLr('all', lrAt(epoch, { scheduler: 'cosine', lr, epochs })),
    step: async (b) => {
      if (!('images' in b)) throw new SmnError('SMN_TRAIN_INTERNAL', 'pretraining needs single-view batches');
      const { value, grads } = tf.variableGrads(() => {
        const logits = mm.apply(tf.tensor4d(b.images, b.shape), { training: true }) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(remapLabels(b.labels), 'int32'), classes.length), logits) as tf.Scalar;
      }, [...params.values()]);
      optimizer.step(new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k) ?? k, g])));
      Object.values(grads).forEach((g) => g.dispose());
      const loss = (await value.data())[0]!;
      value.dispose();
      return loss;
    },
    endEpoch: async () => ({}),
    ...(ev.onBatchEnd ? { onBatchEnd: ev.onBatchEnd } : {}),
    ...(ev.onEpochEnd ? { onEpochEnd: ev.onEpochEnd } : {}),
  });
  if (!res.completed) throw new SmnError('SMN_INTERRUPTED', 'pretraining was interrupted; nothing was written');

  // Copy the trained values back into the model and evaluate on the held-out classes' test images.
  for (const [n, v] of params) {
    const p = model.params.get(n)!;
    model.params.set(n, tf.clone(v));
    p.dispose();
  }
  ev.onPhase?.('evaluate', testIdx.length);
  const te = await embedSplit(test, testIdx, { preset: 'eval', size }, { features: (x) => model.apply(model.params, x, { training: false }) as tf.Tensor2D }, {
    batchSize: 256,
    workers,
    onProgress: (d, t) => ev.onProgress?.('evaluate', d, t),
  });
  const acc = classificationMetrics(te.features, te.dim, remapLabels(te.labels)).accuracy;

  const sd = resnetStateDict(model);
  sd.delete('fc.weight');
  sd.delete('fc.bias');
  const nParams = [...sd.entries()].filter(([n]) => !n.includes('running') && !n.includes('num_batches')).reduce((a, [, t]) => a + t.data.length, 0);
  const meta = {
    what: `ResNet-${depth} (torchvision layout and names, width ${width}, ImageNet stem) pretrained by smn on Fashion-MNIST`,
    dataset: `${name} train images with index < ${maxIndex} and labels ${classes.join(',')} (${classes.map((c) => train.classes[c]).join(', ')})`,
    trainImages: trainIdx.length,
    epochs,
    batchSize: B,
    optimizer: `SGD momentum 0.9, lr ${lr} cosine, weight decay 5e-4`,
    seed,
    params: nParams,
    testAccuracy: acc,
    testImages: testIdx.length,
    testSplit: `${name} test images of labels ${classes.join(',')}`,
    inputSize: size,
    normalisation: 'CLIP mean/std (as the reference evaluation transform)',
    command: `pnpm smn pretrain --epochs ${epochs} --width ${width} --seed ${seed}`,
    createdAt: new Date().toISOString(),
  };
  await writeSafetensors(opts.out, sd, { smn: JSON.stringify(meta) });
  await writeFile(opts.out.replace(/\.safetensors$/, '.json'), JSON.stringify(meta, null, 2) + '\n');
  mm.dispose();
  optimizer.dispose();
  model.dispose();
  return { out: opts.out, params: nParams, testAccuracy: acc, testImages: testIdx.length, trainImages: trainIdx.length, seconds: (Date.now() - t0) / 1000 };
}
