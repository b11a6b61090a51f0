import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng } from '@smn/core';
import { createSwavHead, prototypesFrozen, SwavQueue, swavLoss } from '../src/index.js';

beforeAll(async () => {
  await useBackend('cpu');
});

function features(n: number, d: number, seed: number): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(Float32Array.from({ length: n * d }, () => rng.normal()), [n, d]);
}

describe('createSwavHead', () => {
  it('initialises like PyTorch nn.Linear (U(±1/√in)), seeded, and gives normalised embeddings and e·Wᵀ scores', () => {
    const head = createSwavHead({ inFeatures: 16, featDim: 8, nmbPrototypes: 5, seed: 3 });
    const [fcW, fcB, protoW] = head.variables();
    expect([fcW!.shape, fcB!.shape, protoW!.shape]).toEqual([[8, 16], [8], [5, 8]]);
    const w = fcW!.dataSync();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(1 / 4);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.2); // fills the range
    expect(Math.max(...protoW!.dataSync().map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8));
    const again = createSwavHead({ inFeatures: 16, featDim: 8, nmbPrototypes: 5, seed: 3 });
    const other = createSwavHead({ inFeatures: 16, featDim: 8, nmbPrototypes: 5, seed: 4 });
    expect(Array.from(again.variables()[0]!.dataSync())).toEqual(Array.from(w));
    expect(Array.from(other.variables()[0]!.dataSync())).not.toEqual(Array.from(w));

    const x = features(6, 16, 1);
    const { embeddings, scores } = head.apply(x);
    const norms = tf.norm(embeddings, 'euclidean', 1).arraySync() as number[];
    norms.forEach((n) => expect(n).toBeCloseTo(1, 5));
    const z = tf.tidy(() => tf.add(tf.matMul(x, fcW!, false, true), fcB!));
    const zn = z.arraySync() as number[][];
    const en = embeddings.arraySync() as number[][];
    zn.forEach((r, i) => {
      const n = Math.hypot(...r);
      r.forEach((v, j) => expect(en[i]![j]).toBeCloseTo(v / n, 5));
    });
    const s = tf.matMul(embeddings, protoW!, false, true);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(s, scores))).dataSync()[0])).toBeLessThan(1e-6);
    tf.dispose([x, embeddings, scores, z, s]);
    for (const h of [head, again, other]) h.dispose();
  });

  it('normalises prototype rows and leaves prototypes out of the trainable variables while frozen', () => {
    const head = createSwavHead({ inFeatures: 4, featDim: 3, nmbPrototypes: 7 });
    head.normalizePrototypes();
    (tf.norm(head.prototypeVariables()[0]!, 'euclidean', 1).arraySync() as number[]).forEach((n) =>
      expect(n).toBeCloseTo(1, 6),
    );
    expect(prototypesFrozen(5004, 5005)).toBe(true);
    expect(prototypesFrozen(5005, 5005)).toBe(false);
    expect(head.trainableVariables(0, 5005)).toHaveLength(2);
    expect(head.trainableVariables(5005, 5005)).toHaveLength(3);
    head.dispose();
  });

  it('saves and loads its weights; refuses another shape', async () => {
    const a = createSwavHead({ inFeatures: 4, featDim: 3, nmbPrototypes: 5, seed: 1 });
    const b = createSwavHead({ inFeatures: 4, featDim: 3, nmbPrototypes: 5, seed: 2 });
    const st = await a.state();
    expect(Object.keys(st).sort()).toEqual(['fc.bias', 'fc.weight', 'prototypes.weight']);
    b.load(st);
    b.variables().forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(a.variables()[i]!.dataSync())));
    const c = createSwavHead({ inFeatures: 4, featDim: 3, nmbPrototypes: 6 });
    expect(() => c.load(st)).toThrow(/"prototypes.weight" has shape \[5,3\] but this head expects \[6,3\]/);
    const m = createSwavHead({ inFeatures: 4, featDim: 3, nmbPrototypes: 5, prototypes: 'masked' });
    expect(() => m.load(st)).toThrow(/needs \[.*prototypes.scores.weight/);
    for (const h of [a, b, c, m]) h.dispose();
  });

  it('masked fc and prototypes: frozen row-normalised prototype weights, learned scores get gradients', () => {
    const head = createSwavHead({ inFeatures: 6, featDim: 4, nmbPrototypes: 5, fc: 'masked', prototypes: 'masked', seed: 2 });
    const vars = head.variables();
    expect(vars.map((v) => v.shape)).toEqual([[6, 4], [4], [4, 5]]); // scores of fc weight, fc bias, prototypes
    // All masks are on at init (scores 1.0): prototypeScores(I) gives the prototype vectors, each of unit norm.
    const eye = tf.eye(4) as tf.Tensor2D;
    const P = head.prototypeScores(eye); // [4, K]: column k = prototype k
    (tf.norm(P, 'euclidean', 0).arraySync() as number[]).forEach((n) => expect(n).toBeCloseTo(1, 5));
    const x = features(8 * 2, 6, 4);
    const gradStep = (): void => {
      const { grads, value } = tf.variableGrads(() => {
        const { embeddings, scores } = head.apply(x);
        return swavLoss({ embeddings, scores, prototypes: (e) => head.prototypeScores(e), batchSize: 2 }).loss;
      }, vars);
      for (const v of vars) expect(tf.tidy(() => tf.max(tf.abs(grads[v.name]!)).dataSync()[0])).toBeGreaterThan(0);
      tf.dispose([value, ...Object.values(grads)]);
    };
    gradStep(); // the first call may create lasting constants
    const before = tf.memory().numTensors;
    gradStep();
    gradStep();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    tf.dispose([eye, P]);
    head.dispose();
  });

  it('a few SGD steps of the SwAV loss with head and queue lower the loss without leaking', () => {
    const B = 4, F = 12;
    const head = createSwavHead({ inFeatures: F, featDim: 6, nmbPrototypes: 10, seed: 5 });
    const queue = new SwavQueue({ length: 8, featDim: 6, batchSize: B });
    queue.startEpoch(0, 0);
    // Two "views" that share a signal per sample plus small noise: a learnable invariance.
    const base = features(B, F, 6);
    const crops = tf.tidy(() =>
      tf.concat(Array.from({ length: 8 }, (_, c) => tf.add(base, tf.mul(features(B, F, 100 + c), 0.1)))),
    ) as tf.Tensor2D;
    const opt = tf.train.sgd(0.5);
    const losses: number[] = [];
    let mid = 0;
    for (let step = 0; step < 15; step++) {
      if (step === 2) mid = tf.memory().numTensors;
      head.normalizePrototypes();
      const loss = opt.minimize(() => {
        const { embeddings, scores } = head.apply(crops);
        return swavLoss({ embeddings, scores, prototypes: (e) => head.prototypeScores(e), batchSize: B, queue }).loss;
      }, true, head.trainableVariables(step, 0));
      losses.push(loss!.dataSync()[0]!);
      loss!.dispose();
    }
    expect(tf.memory().numTensors).toBe(mid);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! - 0.05);
    tf.dispose([base, crops]);
    opt.dispose();
    queue.dispose();
    head.dispose();
  });
});
