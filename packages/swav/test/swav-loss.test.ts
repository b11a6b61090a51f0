import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng } from '@smn/core';
import { SwavQueue, swavLoss } from '../src/index.js';
import { logSoftmaxRows, matmulT, normRows, sinkhornRef, swavLossRef, type Mat } from './_ref.js';

beforeAll(async () => {
  await useBackend('cpu');
});

function randMat(r: number, c: number, seed: number): Mat {
  const rng = createRng(seed);
  return Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal()));
}

describe('swavLoss', () => {
  it('equals a hand-computed small case (B = 2, crops [2, 1], K = 3, feat = 2)', () => {
    // Embeddings at angles, prototypes along the axes and the diagonal: everything unit norm.
    const ang = [0, 0.5, 2.0, 2.6, 0.3, -1.2];
    const e: Mat = ang.map((a) => [Math.cos(a), Math.sin(a)]);
    const W: Mat = [[1, 0], [0, 1], [Math.SQRT1_2, Math.SQRT1_2]];
    // Spelled out for crop 0 → targets from p rows 0-1, predictions from crops 1 and 2 (rows 2-3, 4-5); crop 1 the
    // same with crops 0 and 2; each subloss / (3 − 1), the sum / 2.
    const p = matmulT(e, W);
    const q0 = sinkhornRef(p.slice(0, 2));
    const q1 = sinkhornRef(p.slice(2, 4));
    const ce = (q: Mat, rows: Mat): number => {
      const lp = logSoftmaxRows(rows.map((r) => r.map((x) => x / 0.1)));
      return -(q[0]!.reduce((s, v, k) => s + v * lp[0]![k]!, 0) + q[1]!.reduce((s, v, k) => s + v * lp[1]![k]!, 0)) / 2;
    };
    const hand = ((ce(q0, p.slice(2, 4)) + ce(q0, p.slice(4, 6))) / 2 + (ce(q1, p.slice(0, 2)) + ce(q1, p.slice(4, 6))) / 2) / 2;
    expect(swavLossRef(e, W, 2, [2, 1], [0, 1]).loss).toBeCloseTo(hand, 12);

    const et = tf.tensor2d(e), Wt = tf.tensor2d(W);
    const { loss, queueUsed, queuePushed } = swavLoss({ embeddings: et, prototypes: Wt, batchSize: 2, nmbCrops: [2, 1] });
    expect(loss.dataSync()[0]).toBeCloseTo(hand, 5);
    expect([queueUsed, queuePushed]).toEqual([false, false]);
    tf.dispose([et, Wt, loss]);
  });

  it('matches the JS reference for the default 2 + 6 crops and a prototype function', () => {
    const B = 3, K = 7, F = 5;
    const e = normRows(randMat(8 * B, F, 1));
    const W = normRows(randMat(K, F, 2));
    const want = swavLossRef(e, W, B, [2, 6], [0, 1]).loss;
    const et = tf.tensor2d(e), Wt = tf.tensor2d(W);
    const a = swavLoss({ embeddings: et, prototypes: Wt, batchSize: B });
    const b = swavLoss({ embeddings: et, prototypes: (x) => tf.matMul(x, Wt, false, true), batchSize: B });
    expect(a.loss.dataSync()[0]).toBeCloseTo(want, 5);
    expect(b.loss.dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose([et, Wt, a.loss, b.loss]);
  });

  it('has the gradient (softmax(p_v/T) − q)/(T·B·(Σcrops−1)·|assign|) in p: no gradient through the codes', () => {
    const B = 2, K = 4, crops = [2, 2], assign = [0, 1], T = 0.1, total = 4;
    const e = normRows(randMat(total * B, 3, 3));
    const W = normRows(randMat(K, 3, 4));
    const p = matmulT(e, W);
    const { q } = swavLossRef(e, W, B, crops, assign);
    const Wt = tf.tensor2d(W), pt = tf.tensor2d(p), et = tf.tensor2d(e);
    const grad = tf.grad((s: tf.Tensor) =>
      swavLoss({ embeddings: et, prototypes: Wt, scores: s as tf.Tensor2D, batchSize: B, nmbCrops: crops, cropsForAssign: assign }).loss,
    )(pt);
    const g = grad.arraySync() as number[][];
    for (let v = 0; v < total; v++) {
      const sm = logSoftmaxRows(p.slice(v * B, (v + 1) * B).map((r) => r.map((x) => x / T))).map((r) => r.map(Math.exp));
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < K; k++) {
          let want = 0;
          assign.forEach((c, i) => {
            if (c !== v) want += (sm[b]![k]! - q[i]![b]![k]!) / (T * B * (total - 1) * assign.length);
          });
          expect(g[v * B + b]![k]!).toBeCloseTo(want, 5);
        }
      }
    }
    tf.dispose([Wt, pt, et, grad]);
  });

  it('is stationary at log K when every prediction is uniform: embeddings orthogonal to all prototypes, or collapsed prototypes', () => {
    // The trivial optimum that held smn's self-masking and SwAV pretraining at chance (docs/experiments.md, self-masking
    // the SwAV backbone, round 2). All p_bk equal in a row makes the codes uniform (Sinkhorn of a constant row) and the
    // predictions uniform, so the loss is log K and its gradient (softmax(p/T) − q)·… is zero everywhere.
    const B = 4, K = 3, F = 5;
    const cases: [string, Mat, Mat][] = [];
    // (a) K < F: prototypes in the first 3 dimensions, embeddings in the last 2 (p = 0).
    const Wa = normRows(randMat(K, F, 5).map((r) => r.map((x, j) => (j < K ? x : 0))));
    const ea = normRows(randMat(2 * B, F, 6).map((r) => r.map((x, j) => (j < K ? 0 : x))));
    cases.push(['orthogonal', ea, Wa]);
    // (b) every prototype the same unit vector (p_bk = p_b for all k).
    const w0 = normRows(randMat(1, F, 7))[0]!;
    cases.push(['collapsed', normRows(randMat(2 * B, F, 8)), [w0, w0, w0]]);
    for (const [, e, W] of cases) {
      const et = tf.tensor2d(e), Wt = tf.tensor2d(W);
      const { value, grads } = tf.tidy(() =>
        tf.valueAndGrads((ee: tf.Tensor, ww: tf.Tensor) => swavLoss({ embeddings: ee as tf.Tensor2D, prototypes: ww as tf.Tensor2D, batchSize: B, nmbCrops: [2] }).loss)([et, Wt]),
      );
      expect(value.dataSync()[0]).toBeCloseTo(Math.log(K), 5);
      for (const g of grads) for (const x of g.dataSync()) expect(Math.abs(x)).toBeLessThan(1e-6);
      tf.dispose([et, Wt, value, ...grads]);
    }
  });

  it('uses a full queue (prepended to the Sinkhorn input), fills it, and leaves it alone when not filling', async () => {
    const B = 2, K = 5, F = 4, L = 4;
    const W = normRows(randMat(K, F, 5));
    const Wt = tf.tensor2d(W);
    const queue = new SwavQueue({ length: L, featDim: F, batchSize: B });
    const steps = [normRows(randMat(8 * B, F, 6)), normRows(randMat(8 * B, F, 7)), normRows(randMat(8 * B, F, 8))];
    const run = (e: Mat) => {
      const et = tf.tensor2d(e);
      const r = swavLoss({ embeddings: et, prototypes: Wt, batchSize: B, queue });
      const v = r.loss.dataSync()[0]!;
      tf.dispose([et, r.loss]);
      return { ...r, v };
    };
    // Not filling: no push, no use.
    const r0 = run(steps[0]!);
    expect([r0.queueUsed, r0.queuePushed]).toEqual([false, false]);
    expect((await queue.state()).data[0]!.every((x) => x === 0)).toBe(true);
    queue.startEpoch(30, 30);
    expect(queue.filling).toBe(true);
    // Two steps fill the queue (L = 2B) without using it.
    const r1 = run(steps[0]!);
    const r2 = run(steps[1]!);
    expect([r1.queueUsed, r2.queueUsed, r2.queuePushed]).toEqual([false, false, true]);
    expect(r1.v).toBeCloseTo(swavLossRef(steps[0]!, W, B, [2, 6], [0, 1]).loss, 5);
    expect(queue.isFull(0) && queue.isFull(1)).toBe(true);
    // Queue i holds crop i of step 2 then of step 1 (newest first).
    const st = await queue.state();
    const expectQueue = (i: number): Mat => [...steps[1]!.slice(i * B, (i + 1) * B), ...steps[0]!.slice(i * B, (i + 1) * B)];
    for (const i of [0, 1]) expectQueue(i).flat().forEach((x, j) => expect(st.data[i]![j]).toBeCloseTo(x, 6));
    // Third step uses it: targets from Sinkhorn over [queue; batch], last B rows.
    const want3 = swavLossRef(steps[2]!, W, B, [2, 6], [0, 1], 0.1, 0.05, 3, [expectQueue(0), expectQueue(1)]).loss;
    const r3 = run(steps[2]!);
    expect(r3.queueUsed).toBe(true);
    expect(queue.use).toBe(true);
    expect(r3.v).toBeCloseTo(want3, 5);
    expect(Math.abs(r3.v - swavLossRef(steps[2]!, W, B, [2, 6], [0, 1]).loss)).toBeGreaterThan(1e-4);
    queue.dispose();
    Wt.dispose();
  });

  it('does not leak tensors inside optimizer.minimize, queue included', () => {
    const B = 2, K = 3, F = 4;
    const W = tf.variable(tf.tensor2d(normRows(randMat(K, F, 9))));
    const e = tf.variable(tf.tensor2d(normRows(randMat(8 * B, F, 10))));
    const queue = new SwavQueue({ length: 4, featDim: F, batchSize: B });
    queue.startEpoch(0, 0);
    const opt = tf.train.sgd(0.1);
    const step = (): void => opt.minimize(() => swavLoss({ embeddings: e, prototypes: W, batchSize: B, queue }).loss, true, [W, e])?.dispose();
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(queue.use).toBe(true);
    tf.dispose([W, e]);
    opt.dispose();
    queue.dispose();
  });

  it('rejects inconsistent shapes and options', () => {
    const e = tf.zeros([10, 4]) as tf.Tensor2D;
    const W = tf.zeros([3, 4]) as tf.Tensor2D;
    expect(() => swavLoss({ embeddings: e, prototypes: W, batchSize: 2 })).toThrow(
      /\[Σ nmbCrops · batchSize = 16, feat\]; found \[10,4\]/,
    );
    expect(() => swavLoss({ embeddings: e, prototypes: W, batchSize: 5, nmbCrops: [1, 1], cropsForAssign: [0, 2] })).toThrow(
      /cropsForAssign must be crop indices in \[0, 2\)/,
    );
    tf.dispose([e, W]);
  });
});
