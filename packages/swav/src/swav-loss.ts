import * as tf from '@tensorflow/tfjs-core';
import { SmnError, fmtShape } from '@smn/core';
import { SwavErrorCode } from './errors.js';
import { sinkhorn, SINKHORN_DEFAULTS } from './sinkhorn.js';
import type { PrototypesInput, SinkhornOptions, SwavLossOptions, SwavLossResult } from './types.js';

/** SwAV loss defaults (volt/modules/ssl.py, SWAVConfig). */
export const SWAV_LOSS_DEFAULTS = {
  nmbCrops: [2, 6] as readonly number[],
  cropsForAssign: [0, 1] as readonly number[],
  temperature: 0.1,
  ...SINKHORN_DEFAULTS,
};

function applyPrototypes(prototypes: PrototypesInput, e: tf.Tensor2D): tf.Tensor2D {
  return typeof prototypes === 'function' ? prototypes(e) : tf.matMul(e, prototypes, false, true);
}

/**
 * The code of one assignment crop without gradient (the reference's `torch.no_grad()` block): the ops run inside
 * a `customGrad` forward, which tfjs does not record on the tape, and the gradient is zero.
 */
function assignNoGrad(
  o: tf.Tensor2D,
  queueScores: (() => tf.Tensor2D) | null,
  bs: number,
  opts: SinkhornOptions,
): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const value: tf.Tensor = tf.tidy(() => {
      const full = queueScores === null ? (x as tf.Tensor2D) : tf.concat([queueScores(), x as tf.Tensor2D], 0);
      const q = sinkhorn(full, opts);
      return tf.slice(q, [q.shape[0] - bs, 0], [bs, q.shape[1]]); // keep the current batch: out[-bs:]
    });
    return { value, gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return f(o) as tf.Tensor2D;
}

/**
 * SwAV's swapped-prediction loss over a multi-crop batch, the reference's `SWAVModule.training_step` (docs/method.md#swav, steps 2-5).
 *
 * With `p = prototypes(embeddings)` `[Σ nmbCrops · B, K]` and crop blocks `p_c = p[c·B : (c+1)·B]`:
 * for each assignment crop `c` (index i in `cropsForAssign`), without gradient, `o = p_c` (prepended with
 * `prototypes(queue[i])` when the queue is used), then the queue is shifted and filled with `embeddings_c`, and
 * `q = sinkhorn(o)[-B:]`; `subloss = Σ_{v ≠ c} −mean_b Σ_k q_bk · log_softmax(p_v / T)_bk`;
 * `loss = Σ_c subloss / (Σ nmbCrops − 1) / len(cropsForAssign)`.
 *
 * Call it inside `optimizer.minimize`/`tf.variableGrads`: gradients reach the embeddings and the prototypes only
 * through the predictions `p_v`. Side effect: pushes into `queue` when `queue.filling` is true.
 *
 * @returns the scalar loss (caller disposes) and whether the queue was used / filled.
 */
export function swavLoss(options: SwavLossOptions): SwavLossResult {
  const o = { ...SWAV_LOSS_DEFAULTS, ...options };
  const { embeddings, batchSize: B, nmbCrops, cropsForAssign, temperature: T, queue } = o;
  const sinkOpts: SinkhornOptions = { epsilon: o.epsilon, iterations: o.iterations, domain: o.domain };
  const totalCrops = nmbCrops.reduce((a, b) => a + b, 0);
  checkSwavLossOptions(o, totalCrops);
  const feat = embeddings.shape[1];
  let queueUsed = false;
  let queuePushed = false;
  const loss = tf.tidy(() => {
    const p = o.scores ?? applyPrototypes(o.prototypes, embeddings);
    if (p.rank !== 2 || p.shape[0] !== totalCrops * B) {
      throw new SmnError(
        SwavErrorCode.Shape,
        `swavLoss prototype scores must be [${totalCrops * B}, K]; found ${fmtShape(p.shape)}.`,
        { kind: 'usage' },
      );
    }
    const K = p.shape[1];
    const block = (t: tf.Tensor2D, c: number, width: number): tf.Tensor2D => tf.slice(t, [c * B, 0], [B, width]);
    let total: tf.Tensor = tf.scalar(0);
    cropsForAssign.forEach((cropId, i) => {
      const out = block(p, cropId, K);
      let queueScores: (() => tf.Tensor2D) | null = null;
      if (queue && queue.filling) {
        if (queue.shouldUse(i)) {
          queueUsed = true;
          const stored = queue.embeddings(i);
          queueScores = () => applyPrototypes(o.prototypes, stored);
        }
      }
      // Computed before the push, so it sees the queue as it was (the reference's order).
      const q = assignNoGrad(out, queueScores, B, sinkOpts);
      if (queue && queue.filling) {
        queue.push(i, block(embeddings, cropId, feat));
        queuePushed = true;
      }
      const subloss = swappedSubloss(p, q, cropId, totalCrops, block, K, T);
      total = tf.add(total, tf.div(subloss, totalCrops - 1));
    });
    return tf.div(total, cropsForAssign.length) as tf.Scalar;
  });
  return { loss, queueUsed, queuePushed };
}

/** The checks of {@link swavLoss} on its options and on the embeddings' shape. */
function checkSwavLossOptions(
  o: SwavLossOptions & { nmbCrops: readonly number[]; cropsForAssign: readonly number[]; temperature: number },
  totalCrops: number,
): void {
  const { embeddings, batchSize: B, nmbCrops, cropsForAssign, temperature: T, queue } = o;
  if (!Number.isInteger(B) || B < 1) {
    throw new SmnError(SwavErrorCode.Option, `swavLoss batchSize must be a positive integer; found ${B}.`, { kind: 'usage' });
  }
  if (!(totalCrops >= 2) || nmbCrops.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new SmnError(
      SwavErrorCode.Option,
      `swavLoss nmbCrops must be non-negative integers summing to at least 2; found [${nmbCrops.join(', ')}].`,
      { kind: 'usage' },
    );
  }
  if (cropsForAssign.length < 1 || cropsForAssign.some((c) => !Number.isInteger(c) || c < 0 || c >= totalCrops)) {
    throw new SmnError(
      SwavErrorCode.Option,
      `swavLoss cropsForAssign must be crop indices in [0, ${totalCrops}); found [${cropsForAssign.join(', ')}].`,
      { kind: 'usage' },
    );
  }
  if (!(T > 0) || !Number.isFinite(T)) {
    throw new SmnError(SwavErrorCode.Option, `swavLoss temperature must be a finite number > 0; found ${T}.`, {
      kind: 'usage',
    });
  }
  if (embeddings.rank !== 2 || embeddings.shape[0] !== totalCrops * B) {
    throw new SmnError(
      SwavErrorCode.Shape,
      `swavLoss embeddings must be [Σ nmbCrops · batchSize = ${totalCrops * B}, feat]; found ` +
        `${fmtShape(embeddings.shape)} (nmbCrops [${nmbCrops.join(', ')}], batchSize ${B}).`,
      { kind: 'usage' },
    );
  }
  if (queue && queue.nmbAssign !== cropsForAssign.length) {
    throw new SmnError(
      SwavErrorCode.Option,
      `swavLoss queue has ${queue.nmbAssign} assignment crops but cropsForAssign has ${cropsForAssign.length}.`,
      { kind: 'usage' },
    );
  }
}

/** `Σ_{v ≠ cropId} −mean_b Σ_k q_bk · log_softmax(p_v / T)_bk`: the assignment `q` of crop `cropId` predicted from every other crop. */
function swappedSubloss(
  p: tf.Tensor2D,
  q: tf.Tensor2D,
  cropId: number,
  totalCrops: number,
  block: (t: tf.Tensor2D, c: number, width: number) => tf.Tensor2D,
  K: number,
  T: number,
): tf.Tensor {
  let subloss: tf.Tensor = tf.scalar(0);
  for (let v = 0; v < totalCrops; v++) {
    if (v === cropId) continue;
    const logp = tf.logSoftmax(tf.div(block(p, v, K), T));
    subloss = tf.sub(subloss, tf.mean(tf.sum(tf.mul(q, logp), 1)));
  }
  return subloss;
}
