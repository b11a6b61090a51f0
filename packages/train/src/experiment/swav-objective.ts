import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import type { Batch } from '@smn/datasets';
import { swavLoss, type SwavHead, type SwavQueue } from '@smn/swav';
import type { SmnConfig } from '../config/index.js';
import type { LoopPosition } from '../loop.js';
import type { Objective } from '../step.js';
import { TrainErrorCode } from '../errors.js';

/** Options of {@link swavObjective}. */
export interface SwavObjectiveOptions {
  /** Pooled backbone features [B, D] of images in training mode. */
  features(x: tf.Tensor4D, pos: LoopPosition): tf.Tensor2D;
  head: SwavHead;
  queue: SwavQueue | null;
  swav: SmnConfig['swav'];
  /** The backbone's learnable variables (scores, trained weights). */
  backbone: readonly tf.Variable[];
}

/**
 * The reference's SWAVModule.training_step (volt/modules/ssl.py, docs/method.md#swav) on multi-crop batches: consecutive crops of equal size go
 * through the backbone together, then the projection, prototypes and the swapped-prediction loss with Sinkhorn codes
 * (and the queue while it fills). Before a training step the prototypes are normalised; they are trained only after
 * `swav.freeze_prototypes_niters` steps.
 */
export function swavObjective(o: SwavObjectiveOptions): Objective<Batch> {
  const { head, swav } = o;
  return {
    beforeStep: () => head.normalizePrototypes(),
    variables: (pos) => {
      const trainable = new Set(head.trainableVariables(pos.step, swav.freeze_prototypes_niters));
      return [...o.backbone, ...head.variables().filter((v) => trainable.has(v))];
    },
    loss: (batch, pos) => {
      if (!('crops' in batch)) throw new SmnError(TrainErrorCode.TrainInternal, 'SwAV needs multi-crop batches');
      const outs: tf.Tensor2D[] = [];
      let i = 0;
      while (i < batch.crops.length) {
        let j = i;
        while (j < batch.crops.length && batch.crops[j]!.shape[1] === batch.crops[i]!.shape[1]) j++;
        const x = tf.concat(batch.crops.slice(i, j).map((c) => tf.tensor4d(c.images, c.shape)), 0);
        outs.push(o.features(x, pos));
        i = j;
      }
      const { embeddings, scores } = head.apply(tf.concat(outs, 0));
      return swavLoss({
        embeddings,
        scores,
        prototypes: (e) => head.prototypeScores(e),
        batchSize: batch.labels.length,
        nmbCrops: swav.nmb_crops,
        cropsForAssign: swav.crops_for_assign,
        temperature: swav.temperature,
        epsilon: swav.epsilon,
        iterations: swav.sinkhorn_iterations,
        queue: o.queue,
      }).loss;
    },
  };
}
