import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { SwavQueue } from '@smn/swav';
import { decodeCheckpoint, encodeCheckpoint } from '../src/checkpoint.js';
import { createOptimizer, resolveConfig } from '../src/index.js';
import { encodeRunState, loadWeights, parseRunMeta, restoreRunState, type RunState, type RunStateParts } from '../src/experiment/run-state.js';
import type { Optimizer } from '../src/optim/index.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const config = resolveConfig({ configName: 'submask' }).config;

/** Two variables in two groups, a BatchNorm buffer, SGD with momentum and a SwAV queue, filled from `seed`. */
function parts(seed: number): RunStateParts & { optimizer: Optimizer; dispose(): void } {
  const v = (shape: number[], k: number) => tf.variable(tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => seed * 10 + k + i / 8), shape));
  const vars = new Map([
    ['scores.conv1.weight', v([2, 3], 1)],
    ['head.weight', v([3], 2)],
  ]);
  const buffers = new Map([
    ['bn1.running_mean', tf.variable(tf.fill([3], seed), false)],
    ['bn1.num_batches_tracked', tf.variable(tf.scalar(seed, 'int32'), false)],
  ]);
  const optimizer = createOptimizer({
    optimizer: 'sgdc',
    momentum: 0.9,
    groups: [
      { name: 'backbone', params: new Map([['scores.conv1.weight', vars.get('scores.conv1.weight')!]]), lr: 50, weightDecay: 0 },
      { name: 'head', params: new Map([['head.weight', vars.get('head.weight')!]]), lr: 0.1, weightDecay: 1e-6 },
    ],
  });
  const queue = new SwavQueue({ length: 4, featDim: 2, batchSize: 2, nmbAssign: 2 });
  return {
    vars,
    buffers,
    optimizer,
    queue,
    dispose() {
      for (const x of [...vars.values(), ...buffers.values()]) x.dispose();
      optimizer.dispose();
      queue.dispose();
    },
  };
}

const values = (m: ReadonlyMap<string, tf.Variable>) => Object.fromEntries([...m].map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('run state through a checkpoint', () => {
  it('restores variables, buffers, optimizer slots, the queue and the position exactly', async () => {
    const a = parts(1);
    // Momentum buffers and a queue with rows in it: what a resumed run must get back.
    tf.tidy(() => a.optimizer.step(new Map([['scores.conv1.weight', tf.ones([2, 3])], ['head.weight', tf.fill([3], 0.5)]])));
    a.queue!.filling = true;
    a.queue!.push(0, tf.tensor2d([[1, 2], [3, 4]]));
    a.queue!.push(1, tf.tensor2d([[5, 6], [7, 8]]));
    const state: RunState = { position: { epoch: 3, batch: 5, step: 41 }, epochLoss: { sum: 2.5, n: 5 }, badSamples: 2 };
    const bytes = encodeCheckpoint(await encodeRunState(a, state, { finished: false, config }));
    const ckpt = decodeCheckpoint(bytes, 'mem');
    expect(parseRunMeta(ckpt.meta, 'mem')).toMatchObject({ format: 'smn-run', epoch: 3, batch: 5, step: 41, finished: false, badSamples: 2, queue: { n: 2, filling: true } });
    expect(ckpt.meta.config).toEqual(config);

    const b = parts(2);
    const back = restoreRunState(b, ckpt, 'mem');
    expect(back).toEqual(state);
    expect(values(b.vars)).toEqual(values(a.vars));
    expect(values(b.buffers)).toEqual(values(a.buffers));
    expect(b.optimizer.getState()).toEqual(a.optimizer.getState());
    expect(await b.queue!.state()).toEqual(await a.queue!.state());
    // One more identical step from both gives identical weights: the optimizer state really came back.
    for (const p of [a, b]) tf.tidy(() => p.optimizer.step(new Map([['scores.conv1.weight', tf.ones([2, 3])], ['head.weight', tf.fill([3], 0.5)]])));
    expect(values(b.vars)).toEqual(values(a.vars));
    a.dispose();
    b.dispose();
  });

  it('refuses metadata that is not a run state, naming the field', async () => {
    const a = parts(1);
    const ckpt = await encodeRunState(a, { position: { epoch: 0, batch: 0, step: 0 }, epochLoss: { sum: 0, n: 0 }, badSamples: 0 }, { finished: false, config });
    const broken = { ...ckpt, meta: { ...ckpt.meta, step: 'seven' } };
    expect(() => restoreRunState(a, broken, 'runs/x/last.ckpt')).toThrowError(/runs\/x\/last\.ckpt is not a run checkpoint smn can resume \(step: /);
    const stepped = parts(1);
    tf.tidy(() => stepped.optimizer.step(new Map([['head.weight', tf.ones([3])]])));
    const withSlots = await encodeRunState(stepped, { position: { epoch: 0, batch: 1, step: 1 }, epochLoss: { sum: 1, n: 1 }, badSamples: 0 }, { finished: false, config });
    expect(() => restoreRunState(a, { ...withSlots, tensors: new Map([...withSlots.tensors].filter(([k]) => !k.startsWith('opt/'))) }, 'c')).toThrowError(/lacks tensor "opt\/head\.weight\/momentum_buffer"/);
    a.dispose();
    stepped.dispose();
  });

  it('loadWeights: strict refuses a missing tensor; otherwise it loads what matches and lists the rest', async () => {
    const a = parts(1);
    const ckpt = await encodeRunState(a, { position: { epoch: 0, batch: 0, step: 0 }, epochLoss: { sum: 0, n: 0 }, badSamples: 0 }, { finished: true, config });
    ckpt.tensors.delete('var/head.weight');
    ckpt.tensors.set('buf/bn1.running_mean', { shape: [4], data: new Float32Array(4) });
    const b = parts(2);
    expect(() => loadWeights(b, ckpt, { strict: true, source: 'c' })).toThrowError(/has no tensor "var\/head\.weight"/);
    const skipped = loadWeights(b, ckpt, { strict: false, source: 'c' });
    expect(skipped).toEqual(['var/head.weight (missing)', 'buf/bn1.running_mean (shape)']);
    expect(values(b.vars)['scores.conv1.weight']).toEqual(values(a.vars)['scores.conv1.weight']);
    expect(values(b.buffers)['bn1.num_batches_tracked']).toEqual([1]);
    a.dispose();
    b.dispose();
  });
});
