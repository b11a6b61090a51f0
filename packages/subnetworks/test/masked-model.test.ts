import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { createRng, isSmnError } from '@smn/core';
import { createMaskedLinear, createMaskedModel, progressiveK, type FunctionalModel, type Selection } from '../src/index.js';
import { loadReference, tinyApply, tinyModel, type Reference } from './_tiny-model.js';

let ref: Reference;
beforeAll(async () => {
  await useBackend('cpu');
  ref = loadReference();
});

const disposeModel = (m: FunctionalModel) => m.params.forEach((t) => t.dispose());
const bySlot = (name: string): Selection => (name === 'fc.weight' ? ['mask', 'head'] : name.endsWith('.weight') ? ['mask', 'backbone'] : name === 'conv1.bias' ? 'train' : 'freeze');

/** The reference's statistics recomputed in float64 from read-back masks and scores (torch.std is unbiased). */
function jsStats(masks: number[], scores: number[]) {
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const std = (a: number[]) => Math.sqrt(a.reduce((x, y) => x + (y - mean(a)) ** 2, 0) / (a.length - 1));
  const sum = masks.reduce((x, y) => x + y, 0);
  return {
    mean_mask: mean(masks),
    std_mask: std(masks),
    total_on: sum,
    total_off: masks.length - sum,
    mean_score: mean(scores),
    std_score: std(scores),
    max_score: Math.max(...scores),
    min_score: Math.min(...scores),
  };
}

describe('createMaskedModel', () => {
  it('walks params in order with slots, makes scores for masked and variables for trained params', () => {
    const model = tinyModel(ref);
    const masked = createMaskedModel(model, { select: bySlot, scoresInit: { kind: 'normal', mean: 1, std: 0 } });
    expect(masked.entries.map((e) => [e.name, e.selection, e.slot])).toEqual([
      ['conv1.weight', 'mask', 'backbone'],
      ['conv1.bias', 'train', 'default'],
      ['conv2.weight', 'mask', 'backbone'],
      ['fc.weight', 'mask', 'head'],
      ['fc.bias', 'freeze', 'default'],
    ]);
    expect([...masked.scores.keys()]).toEqual(['conv1.weight', 'conv2.weight', 'fc.weight']);
    expect([...masked.trainable.keys()]).toEqual(['conv1.bias']);
    expect(masked.variables()).toHaveLength(4);
    for (const [name, s] of masked.scores) expect(s.shape).toEqual(model.params.get(name)!.shape);
    masked.dispose();
    disposeModel(model);
  });

  it('rejects an unknown selection, naming the parameter', () => {
    const model = tinyModel(ref);
    for (const bad of ['prune', ['mask'], ['mask', 3], 'Mask'] as unknown as Selection[]) {
      try {
        createMaskedModel(model, { select: (n) => (n === 'conv2.weight' ? bad : 'freeze') });
        expect.unreachable();
      } catch (e) {
        expect(isSmnError(e) && e.code).toBe('SMN_SUBNET_BAD_SELECTION');
        expect((e as Error).message).toContain(`for parameter "conv2.weight"`);
      }
    }
    expect(tf.memory().numTensors).toBe(model.params.size); // nothing left behind by the failed constructions
    disposeModel(model);
  });

  it('effectiveParams: masked → W⊙M/√mean(M), trainable → the variable, frozen → unchanged', () => {
    const model = tinyModel(ref);
    const masked = createMaskedModel(model, { select: bySlot, scoresInit: { kind: 'normal', mean: 0, std: 1 }, seed: 3 });
    const eff = masked.effectiveParams();
    const masks = masked.masks();
    for (const [name, w] of model.params) {
      const got = Array.from(eff.get(name)!.dataSync());
      const base = Array.from(w.dataSync());
      if (masked.scores.has(name)) {
        const m = Array.from(masks.get(name)!.dataSync());
        const mean = m.reduce((a, b) => a + b, 0) / m.length;
        got.forEach((v, i) => expect(v).toBeCloseTo((base[i]! * m[i]!) / Math.sqrt(mean), 6));
      } else {
        expect(got).toEqual(base);
      }
    }
    for (const t of [...eff.values(), ...masks.values()]) t.dispose();
    masked.dispose();
    disposeModel(model);
  });

  it('analyze: the reference keys, overall and per slot, equal to statistics recomputed here', () => {
    const model = tinyModel(ref);
    const masked = createMaskedModel(model, { select: bySlot, scoresInit: { kind: 'normal', mean: 0.2, std: 1 }, seed: 1, k: 0.1 });
    const a = masked.analyze();
    const masks = masked.masks();
    const read = (names: string[]) => ({
      m: names.flatMap((n) => Array.from(masks.get(n)!.dataSync())),
      s: names.flatMap((n) => Array.from(masked.scores.get(n)!.dataSync())),
    });
    const all = read(['conv1.weight', 'conv2.weight', 'fc.weight']);
    const expected: Record<string, number> = { prune_k: 0.1 };
    Object.assign(expected, jsStats(all.m, all.s));
    for (const [slot, names] of [
      ['backbone', ['conv1.weight', 'conv2.weight']],
      ['head', ['fc.weight']],
    ] as const) {
      const r = read([...names]);
      for (const [key, v] of Object.entries(jsStats(r.m, r.s))) expected[`${key}_${slot}`] = v;
    }
    expect(Object.keys(a).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, v] of Object.entries(expected)) expect(a[key], key).toBeCloseTo(v, 5);
    expect(a.total_on! + a.total_off!).toBe(162 + 432 + 40);
    masks.forEach((t) => t.dispose());
    masked.dispose();

    const none = createMaskedModel(model, { select: () => 'freeze' });
    expect(none.analyze()).toEqual({});
    none.dispose();
    disposeModel(model);
  });

  it('k may be a schedule of epoch and step; progressiveK follows the reference formulas', () => {
    const topk = progressiveK({ mode: 'topk', k: 0.5, kStart: 1, epochs: 10 });
    expect([0, 5, 10].map((epoch) => topk({ epoch, step: 0 }))).toEqual([1, 0.75, 0.5]);
    const thr = progressiveK({ mode: 'threshold', k: 0.2, epochs: 4 });
    expect([0, 1, 4].map((epoch) => thr({ epoch, step: 0 }))).toEqual([0, 0.05, 0.2]);
    expect(progressiveK({ mode: 'flip', k: 0.3, epochs: 4 })({ epoch: 2, step: 0 })).toBe(0.3);

    const model = tinyModel(ref);
    const masked = createMaskedModel(model, { select: bySlot, mode: 'topk', k: topk, scoresInit: { kind: 'kaiming-uniform' } });
    expect(masked.k()).toBe(1);
    expect(masked.analyze({ epoch: 0 }).mean_mask).toBe(1);
    const a = masked.analyze({ epoch: 5 });
    expect(a.prune_k).toBe(0.75);
    // Per tensor: 162 - floor(0.25·162) = 122, 432 - 108 = 324, 40 - 10 = 30.
    expect(a.total_on).toBe(122 + 324 + 30);
    masked.dispose();
    const bad = createMaskedModel(model, { select: bySlot, mode: 'topk', k: () => 2 });
    expect(() => bad.masks()).toThrow(/k must be in \[0, 1\]; found 2/);
    bad.dispose();
    disposeModel(model);
  });

  it('trains with SGD: loss falls, base params untouched, tensor count flat over many steps', () => {
    const model = tinyModel(ref);
    const baseBefore = [...model.params.values()].map((t) => Array.from(t.dataSync()));
    const masked = createMaskedModel(model, { select: bySlot, scoresInit: { kind: 'normal', mean: 1, std: 0.5 }, seed: 2 });
    const rng = createRng(7);
    const x = tf.tensor(Array.from({ length: 4 * 7 * 7 * 3 }, () => rng.normal()), [4, 7, 7, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
    const opt = tf.train.sgd(0.5);
    const lossFn = () => tf.losses.softmaxCrossEntropy(labels, masked.apply(x, { training: true })) as tf.Scalar;
    const step = () => {
      const l = opt.minimize(lossFn, true, masked.variables())!;
      const v = l.dataSync()[0]!;
      l.dispose();
      return v;
    };
    const first = step();
    step();
    const counts: number[] = [];
    let last = first;
    for (let i = 0; i < 15; i++) {
      last = step();
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    expect(last).toBeLessThan(first);
    expect([...model.params.values()].map((t) => Array.from(t.dataSync()))).toEqual(baseBefore);
    // analyze, masks, effectiveParams and apply add nothing either.
    const before = tf.memory().numTensors;
    masked.analyze();
    masked.masks().forEach((t) => t.dispose());
    tf.tidy(() => {
      masked.effectiveParams();
    });
    masked.apply(x).dispose();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([x, labels]);
    masked.dispose();
    disposeModel(model);
  }, 60_000);

  it('ignores extra model state such as BatchNorm buffers updated in training', () => {
    // A model with a running-mean buffer beside its params (as @smn/models keeps BatchNorm statistics).
    const params = new Map<string, tf.Tensor>([['fc.weight', tf.tensor([[1, -2], [3, 0.5]])]]);
    const buffers = new Map<string, tf.Variable>([['bn.running_mean', tf.variable(tf.zeros([2]), false)]]);
    const model = {
      params,
      buffers,
      apply(p: Map<string, tf.Tensor>, x: tf.Tensor, opts?: { training?: boolean }) {
        if (opts?.training) buffers.get('bn.running_mean')!.assign(tf.tidy(() => tf.add(tf.mul(buffers.get('bn.running_mean')!, 0.9), tf.mul(tf.mean(x, 0), 0.1))));
        return tf.matMul(x as tf.Tensor2D, p.get('fc.weight') as tf.Tensor2D);
      },
    };
    const masked = createMaskedModel(model, { select: () => 'mask', scoresInit: { kind: 'constant', value: 1 } });
    const x = tf.tensor([[1, 1]]);
    const y = masked.apply(x, { training: true });
    expect(Array.from(y.dataSync())).toEqual([4, -1.5]);
    expect(Array.from(masked.model.buffers.get('bn.running_mean')!.dataSync())).toEqual([Math.fround(0.1), Math.fround(0.1)]);
    tf.dispose([x, y]);
    masked.dispose();
    buffers.forEach((b) => b.dispose());
    params.forEach((t) => t.dispose());
  });

  it('dispose frees scores and variables; later use throws SMN_SUBNET_DISPOSED', () => {
    const model = tinyModel(ref);
    const before = tf.memory().numTensors;
    const masked = createMaskedModel(model, { select: bySlot });
    expect(tf.memory().numTensors).toBe(before + 4);
    masked.dispose();
    expect(tf.memory().numTensors).toBe(before);
    try {
      masked.masks();
      expect.unreachable();
    } catch (e) {
      expect(isSmnError(e) && e.code).toBe('SMN_SUBNET_DISPOSED');
    }
    disposeModel(model);
  });
});

describe('createMaskedLinear', () => {
  it('frozen U(±1/√in) weight [in,out], scores = scoreInit, y = x·(W⊙M)/√mean(M)', () => {
    const head = createMaskedLinear(64, 10, { seed: 3, scoreInit: 1 });
    expect(head.weight.shape).toEqual([64, 10]);
    const w = Array.from(head.weight.dataSync());
    const bound = 1 / Math.sqrt(64);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.95 * bound);
    expect(new Set(head.scores.get('weight')!.dataSync())).toEqual(new Set([1]));
    expect(head.trainable.size).toBe(0);

    // Turn some scores negative and check the formula by hand.
    const s = Array.from({ length: 640 }, (_, i) => (i % 3 === 0 ? -1 : 1));
    head.scores.get('weight')!.assign(tf.tensor(s, [64, 10]));
    const rng = createRng(1);
    const xv = Array.from({ length: 2 * 64 }, () => rng.normal());
    const x = tf.tensor(xv, [2, 64]);
    const y = Array.from(head.apply(x).dataSync());
    const m = s.map((v) => (v > 0 ? 1 : 0));
    const sc = 1 / Math.sqrt(m.reduce((a: number, b) => a + b, 0) / 640);
    for (let b = 0; b < 2; b++) {
      for (let o = 0; o < 10; o++) {
        let acc = 0;
        for (let i = 0; i < 64; i++) acc += xv[b * 64 + i]! * w[i * 10 + o]! * m[i * 10 + o]! * sc;
        expect(y[b * 10 + o]).toBeCloseTo(acc, 5);
      }
    }
    const before = tf.memory().numTensors;
    const { grads, value } = tf.variableGrads(() => tf.sum(head.apply(x)) as tf.Scalar, head.variables());
    expect(Object.keys(grads)).toEqual([head.scores.get('weight')!.name]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    head.dispose();
    expect(head.weight.isDisposed).toBe(true);
  });

  it('drives the tiny model as its head (features → logits)', () => {
    const head = createMaskedLinear(8, 5, { seed: 0 });
    const feats = tf.tidy(() => tf.mean(tf.relu(tinyApplyFeatures()), [1, 2]));
    const y = head.apply(feats);
    expect(y.shape).toEqual([2, 5]);
    tf.dispose([feats, y]);
    head.dispose();
  });
});

function tinyApplyFeatures(): tf.Tensor {
  const rng = createRng(4);
  const x = tf.tensor(Array.from({ length: 2 * 7 * 7 * 3 }, () => rng.normal()), [2, 7, 7, 3]);
  const w = tf.tensor(Array.from({ length: 3 * 3 * 3 * 8 }, () => rng.normal(0, 0.3)), [3, 3, 3, 8]);
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
}
void tinyApply;
