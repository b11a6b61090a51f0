import * as tf from '@tensorflow/tfjs-core';
import { SmnError, atomicWriteFile } from '@smn/core';
import { loadDataset } from '@smn/datasets';
import { createResNet, resnetStateDict, writeSafetensors, type ResNetModel } from '@smn/models';
import { createMaskedModel } from '@smn/subnetworks';
import { createOptimizer, lrAt } from './optim/index.js';
import { classificationObjective, createTrainStep } from './step.js';
import { runLoop } from './loop.js';
import { definedOnly } from './_options.js';
import { useFusedKernels } from './fused-ops.js';
import { createLoader, type Batch } from '@smn/datasets';
import { classificationMetrics, embedSplit } from './experiment/data.js';
import type { RunEvents } from './experiment/types.js';
import { TrainErrorCode } from './errors.js';
import { SWAV_PRETRAIN_DEFAULTS, swavBackboneKnn, trainSwav, type SwavPretrainSettings } from './pretrain-swav.js';

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
  /**
   * 'supervised' (default; the shipped embedded backbone): cross-entropy on the labels. 'swav': no labels, the SwAV
   * objective of self-supervised masking applied to every weight (pretrain-swav.ts; the shipped embedded_swav backbone).
   */
  method?: 'supervised' | 'swav';
  /** SwAV settings (method 'swav'), each defaulting to SWAV_PRETRAIN_DEFAULTS. */
  swav?: Partial<SwavPretrainSettings>;
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
  /** Supervised: the classifier's accuracy; SwAV: kNN accuracy (k 200, T 0.1) against the training images. */
  testAccuracy: number;
  testImages: number;
  trainImages: number;
  seconds: number;
}

/** Options with their defaults filled in. */
type Settings = Required<Pick<PretrainOptions, 'classes' | 'maxIndex' | 'depth' | 'width' | 'epochs' | 'batchSize' | 'lr' | 'seed' | 'workers' | 'dataset' | 'method'>> &
  PretrainOptions & { swavSettings: SwavPretrainSettings };

/** The pretraining images: train indices below maxIndex and test indices of the chosen classes, labels remapped to 0..n-1. */
async function pretrainData(s: Settings) {
  const root = s.dataRoot ? { dataRoot: s.dataRoot } : {};
  const [train, test] = await Promise.all([loadDataset(s.dataset, { split: 'train', ...root }), loadDataset(s.dataset, { split: 'test', ...root })]);
  const remap = new Map(s.classes.map((c, i) => [c, i]));
  const pick = (labels: Int32Array, bound: number) => Int32Array.from([...labels.keys()].filter((i) => i < bound && remap.has(labels[i]!)));
  const trainIdx = pick(train.labels, s.maxIndex);
  if (trainIdx.length === 0) throw new SmnError(TrainErrorCode.PretrainEmpty, `no training images of classes ${s.classes.join(',')} in ${train.source}`);
  return { train, test, trainIdx, testIdx: pick(test.labels, test.length), classOf: (label: number) => remap.get(label)!, size: train.imageShape?.[0] ?? 28 };
}

/** Plain supervised training of every parameter with the shared training step; the trained values end up in `model`. */
async function trainModel(s: Settings, model: ResNetModel, d: Awaited<ReturnType<typeof pretrainData>>): Promise<void> {
  const mm = createMaskedModel(model, { select: () => 'train' });
  const params = new Map([...mm.trainable].map(([n, v]) => [n, v] as [string, tf.Variable]));
  const optimizer = createOptimizer({ optimizer: 'sgd', momentum: 0.9, groups: [{ name: 'all', params, lr: s.lr, weightDecay: 5e-4 }] });
  const ev = s.events ?? {};
  const objective = classificationObjective({ logits: (x) => mm.apply(x, { training: true }) as tf.Tensor2D, numClasses: s.classes.length, variables: [...params.values()], labelOf: d.classOf });
  ev.onPhase?.('pretrain', s.epochs);
  try {
    const res = await runLoop<Batch>({
      epochs: s.epochs,
      start: { epoch: 0, batch: 0, step: 0 },
      ...(s.signal ? { signal: s.signal } : {}),
      batchesInEpoch: () => Math.ceil(d.trainIdx.length / s.batchSize),
      batches: (epoch, skip) =>
        createLoader(d.train, {
          batchSize: s.batchSize,
          seed: s.seed,
          epoch,
          indices: d.trainIdx,
          transform: { preset: 'supervised', size: d.size, scale: [0.6, 1], jitterP: 0.3, grayscaleP: 0, solarizeP: 0 },
          workers: s.workers,
          startBatch: skip,
        }),
      beginEpoch: (epoch) => optimizer.setLr('all', lrAt(epoch, { scheduler: 'cosine', lr: s.lr, epochs: s.epochs })),
      step: createTrainStep({ objective, optimizer, params: [params], divergenceHint: `lower the learning rate (now ${s.lr})` }),
      endEpoch: async () => ({}),
      ...(ev.onBatchEnd ? { onBatchEnd: ev.onBatchEnd } : {}),
      ...(ev.onEpochEnd ? { onEpochEnd: ev.onEpochEnd } : {}),
    });
    if (!res.completed) throw new SmnError(TrainErrorCode.Interrupted, 'pretraining was interrupted; nothing was written');
    // Copy the trained values back into the model.
    for (const [n, v] of params) {
      const p = model.params.get(n)!;
      model.params.set(n, tf.clone(v));
      p.dispose();
    }
  } finally {
    mm.dispose();
    optimizer.dispose();
  }
}

/**
 * Pretrains the small embedded backbone: a torchvision-layout ResNet on part of Fashion-MNIST's label space, so that
 * adapting it to all ten classes of the embedded subset is a real transfer task. Plain supervised training (SGD
 * momentum 0.9, cosine, weight decay 5e-4, light augmentation), then the fc head is dropped and the weights are saved
 * as safetensors in PyTorch layout and names, exactly like a torchvision checkpoint.
 */
export async function pretrainEmbedded(opts: PretrainOptions): Promise<PretrainResult> {
  const t0 = Date.now();
  const swav = opts.method === 'swav';
  // SwAV: batch 256 of 2×28 + 4×14 px crops at lr 0.3 and weight decay 1e-6 (SwAV's own decay); supervised as before.
  const base = { classes: [0, 1, 2, 3, 4], maxIndex: 50_000, depth: 18 as const, width: 16, epochs: 4, batchSize: swav ? 256 : 128, lr: swav ? 0.3 : 0.1, seed: 0, workers: 1, dataset: 'fashion_mnist', method: 'supervised' as const };
  const s: Settings = { ...base, ...definedOnly(opts), out: opts.out, swavSettings: { ...SWAV_PRETRAIN_DEFAULTS, ...definedOnly(opts.swav ?? {}) } };
  const d = await pretrainData(s);
  await useFusedKernels();
  const model = createResNet({ depth: s.depth, width: s.width, stem: 'imagenet', numClasses: swav ? 0 : s.classes.length, seed: s.seed });
  model.output = swav ? 'features' : 'logits';
  try {
    let acc: number;
    if (swav) {
      await trainSwav({ model, train: d.train, trainIdx: d.trainIdx, size: d.size, epochs: s.epochs, batchSize: s.batchSize, lr: s.lr, weightDecay: 1e-6, seed: s.seed, workers: s.workers, swav: s.swavSettings, ...(s.signal ? { signal: s.signal } : {}), ...(s.events ? { events: s.events } : {}) });
      s.events?.onPhase?.('evaluate', d.testIdx.length);
      acc = await swavBackboneKnn(model, d, { workers: s.workers, numClasses: s.classes.length, ...(s.events ? { events: s.events } : {}) });
    } else {
      await trainModel(s, model, d);
      // Evaluate on the held-out classes' test images.
      s.events?.onPhase?.('evaluate', d.testIdx.length);
      const te = await embedSplit(d.test, d.testIdx, { preset: 'eval', size: d.size }, { features: (x) => model.apply(model.params, x, { training: false }) as tf.Tensor2D }, {
        batchSize: 256,
        workers: s.workers,
        onProgress: (done, total) => s.events?.onProgress?.('evaluate', done, total),
      });
      acc = classificationMetrics(te.features, te.dim, Int32Array.from(te.labels, d.classOf)).accuracy;
    }
    const nParams = await saveBackbone(s, model, { acc, trainImages: d.trainIdx.length, testImages: d.testIdx.length, size: d.size, classNames: s.classes.map((c) => d.train.classes[c]!), seconds: (Date.now() - t0) / 1000 });
    return { out: s.out, params: nParams, testAccuracy: acc, testImages: d.testIdx.length, trainImages: d.trainIdx.length, seconds: (Date.now() - t0) / 1000 };
  } finally {
    model.dispose();
  }
}

/** Writes the backbone without its fc head (safetensors, PyTorch names) and its description beside it; returns its parameter count. */
async function saveBackbone(s: Settings, model: ResNetModel, r: { acc: number; trainImages: number; testImages: number; size: number; classNames: string[]; seconds: number }): Promise<number> {
  const sd = resnetStateDict(model);
  sd.delete('fc.weight');
  sd.delete('fc.bias');
  const nParams = [...sd.entries()].filter(([n]) => !n.includes('running') && !n.includes('num_batches')).reduce((a, [, t]) => a + t.data.length, 0);
  const swav = s.method === 'swav';
  const sw = s.swavSettings;
  const meta = {
    what: `ResNet-${s.depth} (torchvision layout and names, width ${s.width}, ImageNet stem) pretrained by smn on Fashion-MNIST${swav ? ' with SwAV, without labels' : ''}`,
    dataset: `${s.dataset} train images with index < ${s.maxIndex} and labels ${s.classes.join(',')} (${r.classNames.join(', ')})${swav ? ', labels unused' : ''}`,
    trainImages: r.trainImages,
    epochs: s.epochs,
    batchSize: s.batchSize,
    ...(swav
      ? {
          method: 'swav',
          swav: { crops: sw.crops, nmbPrototypes: sw.nmbPrototypes, queueLength: sw.queueLength, epochQueueStarts: sw.epochQueueStarts, freezePrototypesNiters: sw.freezePrototypesNiters, temperature: sw.temperature, epsilon: sw.epsilon, projection: 'Linear(features -> 128)' },
          optimizer: `SGD momentum 0.9, lr ${s.lr} cosine, weight decay 1e-6`,
        }
      : { optimizer: `SGD momentum 0.9, lr ${s.lr} cosine, weight decay 5e-4` }),
    seed: s.seed,
    params: nParams,
    testAccuracy: r.acc,
    ...(swav ? { testMetric: 'kNN accuracy (k 200, T 0.1) against the training images, BatchNorm statistics recomputed on them (unaugmented)' } : {}),
    testImages: r.testImages,
    testSplit: `${s.dataset} test images of labels ${s.classes.join(',')}`,
    inputSize: r.size,
    normalisation: swav ? 'ImageNet mean/std in training (the multicrop preset), CLIP mean/std in evaluation (as smn train)' : 'CLIP mean/std (as the reference evaluation transform)',
    command: swav
      ? `pnpm smn --backend torch pretrain --method swav --epochs ${s.epochs} --width ${s.width} --seed ${s.seed} --prototypes ${sw.nmbPrototypes} --queue ${sw.queueLength} --small-crops ${sw.crops[1]?.count ?? 0} --lr ${s.lr} --batch-size ${s.batchSize}`
      : `pnpm smn pretrain --epochs ${s.epochs} --width ${s.width} --seed ${s.seed}`,
    seconds: Math.round(r.seconds),
    createdAt: new Date().toISOString(),
  };
  await writeSafetensors(s.out, sd, { smn: JSON.stringify(meta) });
  await atomicWriteFile(s.out.replace(/\.safetensors$/, '.json'), JSON.stringify(meta, null, 2) + '\n');
  return nParams;
}
