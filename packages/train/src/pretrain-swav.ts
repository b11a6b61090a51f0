import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import { createLoader, type Batch, type CropGroup, type ImageDataset } from '@smn/datasets';
import { knnMemTrainAccuracy } from '@smn/knn';
import { withCumulativeBatchNorm, type ResNetModel } from '@smn/models';
import { createMaskedModel } from '@smn/subnetworks';
import { createSwavHead, SwavQueue } from '@smn/swav';
import { resolveConfig } from './config/index.js';
import { createOptimizer, lrAt } from './optim/index.js';
import { createTrainStep } from './step.js';
import { runLoop } from './loop.js';
import { embedSplit } from './experiment/data.js';
import { swavObjective } from './experiment/swav-objective.js';
import type { RunEvents } from './experiment/types.js';
import { TrainErrorCode } from './errors.js';

/**
 * SwAV settings of `smn pretrain --method swav` (their defaults, with `--epochs 20`, made the shipped SwAV backbone).
 * 300 prototypes, more than the 128 embedding dimensions: with 100 the loss settled at log 100 (uniform predictions)
 * within the first epoch, the projection turning the embeddings away from every prototype (docs/experiments.md,
 * self-masking the SwAV backbone, round 2).
 */
export interface SwavPretrainSettings {
  /** Crop groups of the multi-crop views (default 2×28 px at scale 0.2–1 and 4×14 px at scale 0.1–0.3). */
  crops: CropGroup[];
  nmbPrototypes: number;
  /** Queue length per assignment crop (0: none). */
  queueLength: number;
  /** First epoch (0-based) whose batches fill the queue. */
  epochQueueStarts: number;
  /** Steps during which the prototypes get no gradient. */
  freezePrototypesNiters: number;
  temperature: number;
  epsilon: number;
}

export const SWAV_PRETRAIN_DEFAULTS: SwavPretrainSettings = {
  crops: [
    { count: 2, size: 28, scale: [0.2, 1] },
    { count: 4, size: 14, scale: [0.1, 0.3] },
  ],
  nmbPrototypes: 300,
  queueLength: 1024,
  epochQueueStarts: 1,
  freezePrototypesNiters: 100,
  temperature: 0.1,
  epsilon: 0.05,
};

/** What the SwAV pretraining needs from pretrain.ts's settings and data. */
export interface SwavPretrainInput {
  model: ResNetModel;
  train: ImageDataset;
  trainIdx: Int32Array;
  size: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
  workers: number;
  swav: SwavPretrainSettings;
  signal?: AbortSignal;
  events?: RunEvents;
}

/**
 * Self-supervised pretraining of every parameter of `model` (output 'features') with the SwAV objective of `smn train`
 * (experiment/swav-objective.ts, docs/method.md#swav): multi-crop views of the unlabelled images, a linear projection
 * to 128 dimensions, `nmbPrototypes` prototypes, Sinkhorn codes with a queue. SGD momentum 0.9, cosine schedule. The
 * trained values end up in `model`; the projection and prototypes are dropped.
 */
export async function trainSwav(o: SwavPretrainInput): Promise<void> {
  const s = o.swav;
  const nmbCrops = s.crops.map((c) => c.count);
  // The swav section of a resolved config: the objective reads its loss settings from there (one place for them).
  const swavCfg = {
    ...resolveConfig({ configName: 'submask_lin', overrides: ['model.pret.module=swav'] }).config.swav,
    nmb_crops: nmbCrops,
    crops_for_assign: [0, 1],
    nmb_prototypes: s.nmbPrototypes,
    temperature: s.temperature,
    epsilon: s.epsilon,
    freeze_prototypes_niters: s.freezePrototypesNiters,
  };
  const mm = createMaskedModel(o.model, { select: () => 'train' });
  const head = createSwavHead({ inFeatures: o.model.featureDim, featDim: 128, nmbPrototypes: s.nmbPrototypes, fc: 'linear', prototypes: 'linear', seed: o.seed + 2 });
  const queue = s.queueLength > 0 ? new SwavQueue({ length: s.queueLength, featDim: 128, batchSize: o.batchSize, nmbAssign: 2 }) : null;
  const backbone = new Map([...mm.trainable].map(([n, v]) => [n, v] as [string, tf.Variable]));
  const headVars = new Map(head.variables().map((v, i) => [`swav.var${i}`, v] as [string, tf.Variable]));
  const optimizer = createOptimizer({
    optimizer: 'sgd',
    momentum: 0.9,
    groups: [
      { name: 'backbone', params: backbone, lr: o.lr, weightDecay: o.weightDecay },
      { name: 'head', params: headVars, lr: o.lr, weightDecay: o.weightDecay },
    ],
  });
  const objective = swavObjective({ features: (x) => mm.apply(x, { training: true }) as tf.Tensor2D, head, queue, swav: swavCfg, backbone: [...backbone.values()] });
  const ev = o.events ?? {};
  ev.onPhase?.('pretrain', o.epochs);
  try {
    const res = await runLoop<Batch>({
      epochs: o.epochs,
      start: { epoch: 0, batch: 0, step: 0 },
      ...(o.signal ? { signal: o.signal } : {}),
      // Whole batches only: the queue holds a multiple of the batch size.
      batchesInEpoch: () => Math.floor(o.trainIdx.length / o.batchSize),
      batches: (epoch, skip) =>
        createLoader(o.train, {
          batchSize: o.batchSize,
          seed: o.seed,
          epoch,
          indices: o.trainIdx,
          dropLast: true,
          transform: { preset: 'multicrop', crops: s.crops },
          workers: o.workers,
          startBatch: skip,
        }),
      beginEpoch: (epoch) => {
        queue?.startEpoch(epoch, s.epochQueueStarts);
        const lr = lrAt(epoch, { scheduler: 'cosine', lr: o.lr, epochs: o.epochs });
        optimizer.setLr('backbone', lr);
        optimizer.setLr('head', lr);
      },
      step: createTrainStep({ objective, optimizer, params: [backbone, headVars], divergenceHint: `lower the learning rate (now ${o.lr})` }),
      endEpoch: async () => ({}),
      ...(ev.onBatchEnd ? { onBatchEnd: ev.onBatchEnd } : {}),
      ...(ev.onEpochEnd ? { onEpochEnd: ev.onEpochEnd } : {}),
    });
    if (!res.completed) throw new SmnError(TrainErrorCode.Interrupted, 'pretraining was interrupted; nothing was written');
    for (const [n, v] of backbone) {
      const p = o.model.params.get(n)!;
      o.model.params.set(n, tf.clone(v));
      p.dispose();
    }
  } finally {
    mm.dispose();
    head.dispose();
    queue?.dispose();
    optimizer.dispose();
  }
}

/**
 * The SwAV backbone's BatchNorm statistics recomputed on the unaugmented training images (docs/method.md#batchnorm-protocol:
 * the crops' statistics are not those of whole images), then its kNN accuracy (k 200, T 0.1) of `test` against those
 * training images as the bank, with labels mapped by `classOf`.
 */
export async function swavBackboneKnn(
  model: ResNetModel,
  d: { train: ImageDataset; test: ImageDataset; trainIdx: Int32Array; testIdx: Int32Array; size: number; classOf: (label: number) => number },
  opts: { workers: number; numClasses: number; events?: RunEvents },
): Promise<number> {
  const preset = { preset: 'eval' as const, size: d.size };
  const embed = (training: boolean) => ({ features: (x: tf.Tensor4D) => model.apply(model.params, x, { training, output: 'features' }) as tf.Tensor2D });
  await withCumulativeBatchNorm(() => embedSplit(d.train, d.trainIdx, preset, embed(true), { batchSize: 256, workers: opts.workers, onProgress: (a, b) => opts.events?.onProgress?.('update bn', a, b) }));
  const tr = await embedSplit(d.train, d.trainIdx, preset, embed(false), { batchSize: 256, workers: opts.workers, onProgress: (a, b) => opts.events?.onProgress?.('bank', a, b) });
  const te = await embedSplit(d.test, d.testIdx, preset, embed(false), { batchSize: 256, workers: opts.workers, onProgress: (a, b) => opts.events?.onProgress?.('evaluate', a, b) });
  const m = (e: typeof tr) => ({ rows: e.rows, cols: e.dim, data: e.features });
  const labels = (e: typeof tr) => Int32Array.from(e.labels, d.classOf);
  return (await knnMemTrainAccuracy(m(te), labels(te), m(tr), labels(tr), { numClasses: opts.numClasses })).accuracy;
}
