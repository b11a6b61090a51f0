import type { DenseMatrix } from '@smn/core';
import { createLoader, mixSeed } from '@smn/datasets';
import { withCumulativeBatchNorm } from '@smn/models';
import { knnMemTrainAccuracy, knnSelfAccuracy } from '@smn/knn';
import { fitLinearProbe } from '@smn/cascade';
import type * as tf from '@tensorflow/tfjs-core';
import type { LoopPosition } from '../loop.js';
import { forwardWithoutGradients } from '../step.js';
import { classificationMetrics, embedSplit, type Embedded } from './data.js';
import type { Experiment, ModelPosition } from './setup.js';
import type { RunContext } from './types.js';

/** What evaluation needs of a run. */
export type EvalContext = Pick<RunContext, 'exp' | 'workers' | 'signal' | 'events' | 'onBadSample' | 'onWarning'>;

/** Mask statistics of the backbone and the head (the reference's SubmaskedModel.analyze, docs/method.md#masked-model), keyed `model_analysis/*`. */
export function maskAnalysis(exp: Experiment, pos: ModelPosition): Record<string, number> {
  const a: Record<string, number> = {};
  for (const [k, v] of Object.entries(exp.masked.analyze({ epoch: pos.epoch, step: pos.step }))) a[`model_analysis/${k}`] = v;
  for (const [k, v] of Object.entries(exp.head?.analyze() ?? {})) a[`model_analysis/head_${k}`] = v;
  return a;
}

/** Features (and the head's logits) of `indices` of a split, in eval mode with the masks of `pos`. */
export async function embedForEval(c: EvalContext, split: 'train' | 'test', indices: Int32Array, withLogits: boolean, pos: ModelPosition): Promise<Embedded> {
  const { exp } = c;
  const head = exp.head;
  c.events.onPhase?.(`embed ${split}`, indices.length);
  return embedSplit(
    split === 'train' ? exp.data.train : exp.data.test,
    indices,
    exp.data.evalPreset,
    { features: (x) => exp.features(x, false, pos), ...(withLogits && head ? { logits: (f: tf.Tensor2D) => head.apply(f) } : {}) },
    { batchSize: Math.max(exp.cfg.dl.batch_size, 128), workers: c.workers, ...(c.signal ? { signal: c.signal } : {}), onProgress: (d, t) => c.events.onProgress?.(`embed ${split}`, d, t), onBadSample: c.onBadSample, ...(c.onWarning ? { onWarning: c.onWarning } : {}) },
  );
}

const allOf = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
/** An embedded split's features as a host matrix (the kNN bank or queries, the probe's inputs). */
const matrixOf = (e: Embedded): DenseMatrix => ({ rows: e.rows, cols: e.dim, data: e.features });

/**
 * The epoch-end validation on the test split ("val set = test set", docs/method.md#datasets): accuracy and loss of a classifier, or
 * SwAV's kNN monitor (the test set against itself, and against the train bank with cls.mem_train_every_epoch).
 */
export async function validationMetrics(c: EvalContext, pos: ModelPosition): Promise<Record<string, number>> {
  const { cfg, data } = c.exp;
  const m: Record<string, number> = {};
  if (c.exp.swav) {
    if (!cfg.cls.knn_eval) return m;
    const te = await embedForEval(c, 'test', allOf(data.test.length), false, pos);
    m['training/val/knn_accuracy'] = (await knnSelfAccuracy(matrixOf(te), te.labels, { numClasses: data.numClasses, seed: cfg.main.seed })).accuracy;
    if (cfg.cls.mem_train_every_epoch) {
      const tr = await embedForEval(c, 'train', data.bankIndices, false, pos);
      m['training/val/knn_accuracy_mem_train'] = (await knnMemTrainAccuracy(matrixOf(te), te.labels, matrixOf(tr), tr.labels, { numClasses: data.numClasses })).accuracy;
    }
  } else if (cfg.main.validate || cfg.main.test) {
    const te = await embedForEval(c, 'test', allOf(data.test.length), true, pos);
    const r = classificationMetrics(te.logits!.data, te.logits!.cols, te.labels);
    m['training/val/accuracy'] = r.accuracy;
    m['training/val/loss'] = r.loss;
  }
  return m;
}

/** Seed tag of the epoch-end samples: their choice and augmentation differ from the epoch's own batches. */
const SAMPLE_SEED_TAG = 0x5a3e;

/**
 * The reference's epoch-end sample step (`DeepLearningModule.training_epoch_end`, docs/method.md#batchnorm-protocol): `dl.analyze_sample_size` random
 * augmented train samples through the training objective in train mode without gradients, after the validation. It
 * changes no weight, but moves the BatchNorm running statistics (momentum 0.1, one batch) and, for SwAV while its
 * queue fills, pushes the samples' embeddings into the queue. The samples and their augmentation depend only on
 * (main.seed, epoch). Returns how many samples went through.
 */
export async function forwardTrainSamples(c: EvalContext, epoch: number, pos: LoopPosition): Promise<number> {
  const { cfg, data, objective } = c.exp;
  const n = Math.min(cfg.dl.analyze_sample_size, data.trainIndices.length);
  if (n <= 0) return 0;
  const loader = createLoader(data.train, {
    batchSize: n,
    seed: mixSeed(cfg.main.seed, SAMPLE_SEED_TAG),
    epoch,
    indices: data.trainIndices,
    transform: data.trainPreset,
    onBadSample: c.onBadSample,
    ...(c.onWarning ? { onWarning: c.onWarning } : {}),
  });
  for await (const batch of loader) {
    await forwardWithoutGradients(objective, batch, pos);
    return batch.labels.length;
  }
  return 0;
}

/**
 * main.update_bn: BatchNorm running statistics as the cumulative average over the unaugmented train bank, in training
 * mode without gradients (PyTorch's swa_utils.update_bn). Returns false when there is nothing to update or the pass
 * was aborted (partial statistics stay in memory only).
 */
export async function recomputeBatchNorm(c: EvalContext, pos: ModelPosition): Promise<boolean> {
  const { exp } = c;
  if (!exp.cfg.main.update_bn || exp.buffers.size === 0) return false;
  await withCumulativeBatchNorm(() =>
    embedSplit(exp.data.train, exp.data.bankIndices, exp.data.evalPreset, { features: (x) => exp.features(x, true, pos) }, {
      batchSize: Math.max(exp.cfg.dl.batch_size, 128),
      workers: c.workers,
      ...(c.signal ? { signal: c.signal } : {}),
      onProgress: (d, t) => c.events.onProgress?.('update bn', d, t),
      onBadSample: c.onBadSample,
      ...(c.onWarning ? { onWarning: c.onWarning } : {}),
    }),
  );
  return !c.signal?.aborted;
}

/** The final test's features and metrics (docs/method.md#knn). */
export interface TestResult {
  metrics: Record<string, number>;
  /** Test-set features (with logits for a classifier) and the train bank's. */
  test: Embedded;
  train: Embedded;
}

/** The final test: accuracy and loss of a classifier, kNN of the test set against the train bank (k ≤ 200). */
export async function testMetrics(c: EvalContext, pos: ModelPosition): Promise<TestResult> {
  const { cfg, data, swav } = c.exp;
  const te = await embedForEval(c, 'test', allOf(data.test.length), !swav, pos);
  const tr = await embedForEval(c, 'train', data.bankIndices, false, pos);
  const m: Record<string, number> = {};
  if (te.logits) {
    const r = classificationMetrics(te.logits.data, te.logits.cols, te.labels);
    m['training/test/accuracy'] = r.accuracy;
    m['training/test/loss'] = r.loss;
  }
  if (cfg.cls.knn_analysis || swav) {
    const k = Math.min(200, tr.rows);
    m['training/test/knn_accuracy_mem_train'] = (await knnMemTrainAccuracy(matrixOf(te), te.labels, matrixOf(tr), tr.labels, { numClasses: data.numClasses, k })).accuracy;
  }
  return { metrics: m, test: te, train: tr };
}

/** A fitted linear probe: weights [D, C] and bias [C], and its metrics. */
export interface ProbeResult {
  W: Float32Array;
  b: Float32Array;
  metrics: Record<string, number>;
  /** The probe's accuracy is reported as validation and test accuracy (the head's test loss no longer applies). */
  replacesHead: boolean;
}

/**
 * The linear probe on the unaugmented train bank's features (volt/linear_probe.py, docs/method.md#probe), scored on the test set. When the probe is
 * the model's only head (SwAV, main.train=0, or no head) it is what validation and test report, as in the reference.
 */
export function probeMetrics(c: EvalContext, { train: tr, test: te }: Pick<TestResult, 'train' | 'test'>): ProbeResult {
  const { cfg, data } = c.exp;
  c.events.onPhase?.('probe', cfg.lp.max_iter);
  const probe = fitLinearProbe(matrixOf(tr), tr.labels, {
    numClasses: data.numClasses,
    lambda: cfg.lp.lambda_scaled / tr.rows,
    maxIter: cfg.lp.max_iter,
    tol: cfg.lp.tol,
    onIteration: (i) => c.events.onProgress?.('probe', i.iteration, cfg.lp.max_iter),
  });
  const pred = probe.predict(matrixOf(te));
  let ok = 0;
  for (let i = 0; i < te.rows; i++) if (pred[i] === te.labels[i]) ok++;
  const m: Record<string, number> = { 'training/probe/train_accuracy': probe.trainAccuracy, 'training/probe/accuracy': ok / te.rows };
  // An untrained head's accuracy would be meaningless: the reference reports the probe through validation (docs/method.md#linear-probing, #self-supervised-masking).
  const replacesHead = c.exp.swav || !cfg.main.train || !c.exp.head;
  if (replacesHead) {
    m['training/val/accuracy'] = ok / te.rows;
    m['training/test/accuracy'] = ok / te.rows;
  }
  return { W: Float32Array.from(probe.W.data), b: probe.b, metrics: m, replacesHead };
}
