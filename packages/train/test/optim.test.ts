import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { FusedKernel, isSmnError } from '@smn/core';
import {
  applySchedule,
  createOptimizer,
  groupHyperparams,
  lrAt,
  lrSchedule,
  optimizerOptionsFromConfig,
  type OptimizerName,
  type ParamGroup,
  type ScheduleOptions,
} from '../src/optim/index.js';

// Made by tools/fixtures/train/make_optim_fixtures.py with PyTorch 1.13.
interface ScheduleCase {
  name: string;
  options: Omit<ScheduleOptions, 'lr' | 'scheduler'> & { scheduler: ScheduleOptions['scheduler'] };
  baseLrs: number[];
  lrs: number[][];
}
interface OptimCase {
  name: string;
  kind: OptimizerName;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  betas: [number, number];
  eps: number;
  groups: { name: string; lr: number; weightDecay: number; params: Record<string, number[]> }[];
  init: Record<string, number[]>;
  steps: { lrs: number[]; grads: Record<string, number[]>; params: Record<string, number[]> }[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  schedules: ScheduleCase[];
  optimizers: OptimCase[];
};

function relClose(a: number, b: number, rel: number, abs = 0): boolean {
  return Math.abs(a - b) <= abs + rel * Math.max(Math.abs(a), Math.abs(b));
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('lrAt reproduces torch 1.13 per-epoch schedules', () => {
  for (const c of fixture.schedules) {
    it(c.name, () => {
      c.baseLrs.forEach((lr, gi) => {
        const opts: ScheduleOptions = { ...c.options, lr };
        const all = lrSchedule(opts);
        expect(all.length).toBe(c.options.epochs);
        for (let e = 0; e < c.options.epochs; e++) {
          const want = c.lrs[e]![gi]!;
          // The emulation follows torch's chainable formulas in float64: agreement to ~1 ulp.
          if (!relClose(all[e]!, want, 1e-13, 1e-300)) expect.fail(`group ${gi} epoch ${e}: got ${all[e]} want ${want}`);
        }
        for (const e of [0, 1, Math.floor(c.options.epochs / 2), c.options.epochs - 1]) {
          expect(lrAt(e, opts)).toBe(all[e]);
        }
      });
    });
  }

  it('cosine_warmup: lr is exactly 0 in epoch 0 and the base lr at the milestone (docs/method.md#schedulers)', () => {
    const o: ScheduleOptions = { scheduler: 'cosine_warmup', lr: 50, epochs: 150, warmupEpochs: 40 };
    expect(lrAt(0, o)).toBe(0);
    expect(lrAt(1, o)).toBe(50 / 40);
    expect(lrAt(40, o)).toBe(50);
    // closed form after the milestone: lr0 (1 + cos(pi (e - W) / (E - W))) / 2
    expect(lrAt(95, o)).toBeCloseTo((50 * (1 + Math.cos((Math.PI * 55) / 110))) / 2, 10);
  });

  it('rejects impossible schedules with the dl.* key in the message', () => {
    const bad = (o: ScheduleOptions, key: string) => {
      try {
        lrAt(0, o);
        expect.fail('no error');
      } catch (e) {
        expect(isSmnError(e)).toBe(true);
        expect((e as Error).message).toContain(key);
      }
    };
    bad({ scheduler: 'cosine_warmup', lr: 1, epochs: 10, warmupEpochs: 10 }, 'dl.warmup_epochs');
    bad({ scheduler: 'cosine_warmup', lr: 1, epochs: 10, warmupEpochs: 0 }, 'dl.warmup_epochs');
    bad({ scheduler: 'step', lr: 1, epochs: 10, step: 0 }, 'dl.scheduler_step');
    bad({ scheduler: 'cosine', lr: 1, epochs: 0 }, 'dl.epochs');
    bad({ scheduler: 'linear' as never, lr: 1, epochs: 3 }, 'dl.scheduler');
  });
});

// On torch, SGD runs as @smn/core's FusedKernel.sgdStep (one native pass); the same fixtures must hold.
const torchOk = await useBackend('torch').then(
  () => true,
  () => false,
);

for (const backend of ['cpu', 'torch'] as const) describe.skipIf(backend === 'torch' && !torchOk)(`optimizers match torch 1.13 step by step (${backend})`, () => {
  beforeAll(async () => {
    await useBackend(backend);
    expect(tf.getKernel(FusedKernel.sgdStep, backend) !== undefined).toBe(backend === 'torch');
  });
  afterAll(async () => {
    await useBackend('cpu');
  });
  for (const c of fixture.optimizers) {
    it(`${c.kind}: ${c.name}`, () => {
      const shapes: Record<string, number[]> = {};
      for (const g of c.groups) Object.assign(shapes, g.params);
      const vars = new Map(Object.entries(c.init).map(([k, v]) => [k, tf.variable(tf.tensor(v, shapes[k]), true, undefined)]));
      const opt = createOptimizer({
        optimizer: c.kind,
        momentum: c.momentum,
        dampening: c.dampening,
        nesterov: c.nesterov,
        betas: c.betas,
        eps: c.eps,
        groups: c.groups.map((g) => ({
          name: g.name,
          lr: g.lr,
          weightDecay: g.weightDecay,
          params: Object.fromEntries(Object.keys(g.params).map((k) => [k, vars.get(k)!])),
        })),
      });
      const before = tf.memory().numTensors;
      c.steps.forEach((s, si) => {
        s.lrs.forEach((lr, gi) => opt.setLr(gi, lr));
        const grads = new Map(Object.entries(s.grads).map(([k, v]) => [k, tf.tensor(v, shapes[k])]));
        opt.step(grads);
        grads.forEach((t) => t.dispose());
        for (const [k, want] of Object.entries(s.params)) {
          const got = vars.get(k)!.dataSync();
          for (let i = 0; i < want.length; i++) {
            // float32 arithmetic in a different order than torch's kernels: a few ulps, relative to the step size.
            if (!relClose(got[i]!, want[i]!, 2e-6, 2e-6)) expect.fail(`step ${si} ${k}[${i}]: got ${got[i]} want ${want[i]}`);
          }
        }
      });
      // State tensors are created on the first step of each param, nothing else survives.
      const slotsPerParam = c.kind === 'adam' || c.kind === 'adamw' ? 2 : c.momentum !== 0 ? 1 : 0;
      expect(tf.memory().numTensors - before).toBe(slotsPerParam * vars.size);
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before);
      vars.forEach((v) => v.dispose());
    });
  }
});

describe('optimizer state', () => {
  it('getState/setState continue bit-exactly, through a fresh optimizer', () => {
    const make = () => ({
      w: tf.variable(tf.tensor([0.5, -1, 2, 0.25], [2, 2])),
      h: tf.variable(tf.tensor([1, -2, 3])),
    });
    const gradsAt = (s: number) => new Map([
      ['w', tf.tensor([0.1 * s, -0.2, 0.3, 0.05 * s], [2, 2])],
      ['h', tf.tensor([s, 0.5, -0.5])],
    ]);
    for (const kind of ['sgd', 'sgdc', 'adamw'] as const) {
      const run = (a: ReturnType<typeof make>, from: number, to: number, opt: ReturnType<typeof createOptimizer>) => {
        for (let s = from; s < to; s++) {
          const g = gradsAt(s);
          if (s === 1) g.delete('h'); // a step where the head has no grad (frozen prototypes)
          opt.step(g);
          g.forEach((t) => t.dispose());
        }
        return a;
      };
      const groups = (a: ReturnType<typeof make>): ParamGroup[] => [
        { name: 'backbone', params: { w: a.w }, lr: 0.1, weightDecay: 0.01 },
        { name: 'head', params: { h: a.h }, lr: 0.05, weightDecay: 0.001 },
      ];
      const a = make();
      const optA = createOptimizer({ optimizer: kind, momentum: 0.9, groups: groups(a) });
      run(a, 0, 6, optA);

      const b = make();
      const optB = createOptimizer({ optimizer: kind, momentum: 0.9, groups: groups(b) });
      run(b, 0, 3, optB);
      const state = optB.getState();
      expect(state.steps).toBe(3);
      expect(state.params.h!.step).toBe(2);
      expect(state.params.w!.slots[kind === 'adamw' ? 'exp_avg' : 'momentum_buffer']!.data).toBeInstanceOf(Float32Array);
      const json = JSON.parse(JSON.stringify(state, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v)));
      for (const p of Object.values(json.params) as { slots: Record<string, { data: number[] | Float32Array }> }[]) {
        for (const s of Object.values(p.slots)) s.data = Float32Array.from(s.data as number[]);
      }
      optB.dispose();
      const optC = createOptimizer({ optimizer: kind, momentum: 0.9, groups: groups(b) });
      optC.setState(json);
      run(b, 3, 6, optC);
      expect(Array.from(b.w.dataSync())).toEqual(Array.from(a.w.dataSync()));
      expect(Array.from(b.h.dataSync())).toEqual(Array.from(a.h.dataSync()));
      optA.dispose();
      optC.dispose();
      [a.w, a.h, b.w, b.h].forEach((v) => v.dispose());
    }
  });

  it('setState lists every mismatch; step rejects unknown names and wrong shapes', () => {
    const w = tf.variable(tf.zeros([2, 3]));
    const opt = createOptimizer({ optimizer: 'sgd', momentum: 0.9, groups: [{ name: 'backbone', params: { w }, lr: 1, weightDecay: 0 }] });
    expect(() =>
      opt.setState({
        optimizer: 'sgdc',
        steps: 1,
        groups: [{ name: 'head', lr: 1, initialLr: 1, weightDecay: 0 }],
        params: { v: { step: 1, slots: {} } },
      }),
    ).toThrowError(/optimizer is 'sgdc'[\s\S]*groups are \[head\][\s\S]*parameter 'v'[\s\S]*lacks parameter 'w'/);
    const g = tf.zeros([3, 2]);
    expect(() => opt.step({ w: g })).toThrowError(/'w' has shape \[3,2\] but the parameter has \[2,3\]/);
    expect(() => opt.step({ x: g })).toThrowError(/'x', which is in no parameter group/);
    g.dispose();
    opt.dispose();
    w.dispose();
  });
});

describe('groupHyperparams (docs/method.md#optimizers)', () => {
  const base = {
    dl: { optimizer: 'sgdc' as OptimizerName, lr: 50, weight_decay: 0, momentum: 0.9, betas: [0.9, 0.98], eps: 1e-6 },
    cls: { head_lr: 1, head_wd: 1, head_scale_lr: true, head_scale_wd: true, size_scale_wd: false },
  };
  it('submask: head lr = 1 × dl.lr', () => {
    expect(groupHyperparams(base)).toEqual({ backbone: { lr: 50, weightDecay: 0 }, head: { lr: 50, weightDecay: 0 } });
  });
  it('SSL command: absolute head lr/wd with the scaling flags off', () => {
    const cfg = { ...base, cls: { ...base.cls, head_lr: 0.15, head_wd: 1e-6, head_scale_lr: false, head_scale_wd: false } };
    expect(groupHyperparams(cfg)).toEqual({ backbone: { lr: 50, weightDecay: 0 }, head: { lr: 0.15, weightDecay: 1e-6 } });
  });
  it('size_scale_wd scales by 50000 / N and head_scale_wd follows it', () => {
    const cfg = { dl: { ...base.dl, optimizer: 'sgd' as OptimizerName, lr: 0.1, weight_decay: 5e-4 }, cls: { ...base.cls, head_wd: 2, size_scale_wd: true } };
    const r = groupHyperparams(cfg, 10000);
    expect(r.backbone.weightDecay).toBeCloseTo(2.5e-3, 15);
    expect(r.head).toEqual({ lr: 0.1, weightDecay: 2 * r.backbone.weightDecay });
    expect(() => groupHyperparams(cfg)).toThrowError(/training set size/);
  });
  it('adamw uses one lr/wd for both groups and refuses head scaling', () => {
    const cfg = { ...base, dl: { ...base.dl, optimizer: 'adamw' as OptimizerName, lr: 5e-4, weight_decay: 0.2 } };
    expect(groupHyperparams(cfg).head).toEqual({ lr: 5e-4, weightDecay: 0.2 });
    expect(() => groupHyperparams({ ...cfg, cls: { ...cfg.cls, head_lr: 0.5 } })).toThrowError(/cls.head_lr=1/);
    expect(optimizerOptionsFromConfig(cfg.dl)).toEqual({ optimizer: 'adamw', momentum: 0.9, dampening: 0, nesterov: false, betas: [0.9, 0.98], eps: 1e-6 });
  });
});

describe('applySchedule', () => {
  it('sets each group from its own initial lr', () => {
    const lrs: number[] = [];
    const opt = { groups: [{ initialLr: 50 }, { initialLr: 0.15 }], setLr: (i: number, lr: number) => (lrs[i] = lr) };
    expect(applySchedule(opt, 0, { scheduler: 'cosine_warmup', epochs: 150, warmupEpochs: 40 })).toEqual([0, 0]);
    expect(applySchedule(opt, 20, { scheduler: 'cosine_warmup', epochs: 150, warmupEpochs: 40 })).toEqual([25, 0.075]);
    expect(lrs).toEqual([25, 0.075]);
  });
});

describe('lrAt past the last epoch', () => {
  it('follows torch, and refuses the epoch where torch divides by zero', () => {
    expect(lrAt(12, { scheduler: 'cosine_cooldown', lr: 1, epochs: 12, cooldown: 4, etaMin: 0.5 })).toBe(1);
    expect(() => lrAt(12, { scheduler: 'cosine_cooldown', lr: 1, epochs: 12, cooldown: 4, etaMin: 0 })).toThrowError(/divides by zero/);
    expect(lrAt(11, { scheduler: 'cosine_cooldown', lr: 1, epochs: 12, cooldown: 4, etaMin: 0 })).toBe(0);
  });
});
