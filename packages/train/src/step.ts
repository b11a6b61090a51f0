import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import type { Batch } from '@smn/datasets';
import type { LoopPosition } from './loop.js';
import type { Optimizer } from './optim/index.js';
import { TrainErrorCode } from './errors.js';

/**
 * What a training step minimises. The same objective runs without gradients for the reference's epoch-end sample
 * forward (its `training_step` under `no_grad`, docs/method.md#batchnorm-protocol), so both see the same model in the same mode.
 */
export interface Objective<B = Batch> {
  /** The loss of `batch` at `pos`, in training mode (BatchNorm uses and updates batch statistics). */
  loss(batch: B, pos: LoopPosition): tf.Scalar;
  /** The variables the step differentiates at `pos` (SwAV leaves the prototypes out for the first steps). */
  variables(pos: LoopPosition): tf.Variable[];
  /** Runs before each training step, not before sample forwards (SwAV normalises its prototypes here). */
  beforeStep?(pos: LoopPosition): void;
}

/** Options of {@link createTrainStep}. */
export interface TrainStepOptions<B> {
  objective: Objective<B>;
  optimizer: Pick<Optimizer, 'step'>;
  /** The optimizer's parameter maps: gradients reach the optimizer under these names. */
  params: Iterable<ReadonlyMap<string, tf.Variable>>;
  /** Said after a non-finite loss: what to change (default 'lower the learning rate'). */
  divergenceHint?: string;
}

/**
 * The one training step of every experiment and of pretraining: the objective's loss, its gradients with respect to
 * the objective's variables, one optimizer step; returns the loss. A non-finite loss throws `SMN_TRAIN_DIVERGED`
 * (after the step, as PyTorch would have taken it). Every tensor made here is disposed.
 */
export function createTrainStep<B>(opts: TrainStepOptions<B>): (batch: B, pos: LoopPosition) => Promise<number> {
  const nameOf = new Map<string, string>();
  for (const params of opts.params) for (const [name, v] of params) nameOf.set(v.name, name);
  return async (batch, pos) => {
    opts.objective.beforeStep?.(pos);
    const { value, grads } = tf.variableGrads(() => opts.objective.loss(batch, pos), opts.objective.variables(pos));
    const named = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(grads)) named.set(nameOf.get(vn) ?? vn, g);
    opts.optimizer.step(named);
    for (const g of Object.values(grads)) g.dispose();
    const loss = (await value.data())[0]!;
    value.dispose();
    if (!Number.isFinite(loss)) {
      throw new SmnError(TrainErrorCode.TrainDiverged, `the loss became ${loss} at epoch ${pos.epoch}, batch ${pos.batch}; ${opts.divergenceHint ?? 'lower the learning rate'} or check the data`);
    }
    return loss;
  };
}

/**
 * The objective's forward on `batch` without gradients, in training mode (the reference's epoch-end sample step): it
 * moves BatchNorm running statistics (and fills a SwAV queue) like a step, and changes no weight. Returns the loss.
 */
export async function forwardWithoutGradients<B>(objective: Objective<B>, batch: B, pos: LoopPosition): Promise<number> {
  const value = tf.tidy(() => objective.loss(batch, pos));
  const loss = (await value.data())[0]!;
  value.dispose();
  return loss;
}

/** Options of {@link classificationObjective}. */
export interface ClassificationObjectiveOptions {
  /** Logits [B, C] of images [B, H, W, 3] in training mode. */
  logits(x: tf.Tensor4D, pos: LoopPosition): tf.Tensor2D;
  numClasses: number;
  /** The variables trained at every step. */
  variables: readonly tf.Variable[];
  /** Class index of each label (default: the label itself). */
  labelOf?: (label: number) => number;
}

/** Cross-entropy of single-view batches (the reference's ClassifierModule.training_step in volt/modules/classifier.py; pretraining). */
export function classificationObjective(o: ClassificationObjectiveOptions): Objective<Batch> {
  return {
    variables: () => [...o.variables],
    loss: (batch, pos) => {
      if (!('images' in batch)) throw new SmnError(TrainErrorCode.TrainInternal, 'a classification step needs single-view batches (images), got multi-crop views');
      const labels = o.labelOf ? Int32Array.from(batch.labels, o.labelOf) : batch.labels;
      const logits = o.logits(tf.tensor4d(batch.images, batch.shape), pos);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), o.numClasses);
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    },
  };
}
