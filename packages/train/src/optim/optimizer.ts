import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel, SmnError, fmtShape } from '@smn/core';
import { TrainErrorCode } from '../errors.js';

/** The reference's `dl.optimizer` values. */
export type OptimizerName = 'sgd' | 'sgdc' | 'adam' | 'adamw';

/** One parameter group: its own lr and weight decay (torch `param_groups`). */
export interface ParamGroup {
  /** 'backbone' or 'head' in the reference's setup; any unique name. */
  name: string;
  /** Trainable variables by name (names are unique across groups). */
  params: ReadonlyMap<string, tf.Variable> | Readonly<Record<string, tf.Variable>>;
  lr: number;
  weightDecay: number;
}

/** Options of {@link createOptimizer}. Defaults follow torch: momentum 0, dampening 0, no Nesterov, betas (0.9, 0.999), eps 1e-8. */
export interface OptimizerOptions {
  optimizer: OptimizerName;
  groups: ParamGroup[];
  /** SGD/sgdc momentum (`dl.momentum`). */
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** Adam/AdamW (`dl.betas`, `dl.eps`). */
  betas?: readonly [number, number];
  eps?: number;
}

/** A group as the optimizer holds it. `initialLr` is the lr the group was created with (the schedules' base lr). */
export interface GroupInfo {
  name: string;
  lr: number;
  initialLr: number;
  weightDecay: number;
  params: string[];
}

/** One saved state tensor. */
export interface SavedSlot {
  shape: number[];
  data: Float32Array;
}

/**
 * Everything needed to continue optimising exactly where it stopped (for checkpoints): plain numbers and
 * Float32Arrays, no tensors. Slots: `momentum_buffer` (SGD with momentum), `exp_avg`, `exp_avg_sq` (Adam/AdamW).
 */
export interface OptimizerState {
  optimizer: OptimizerName;
  /** Number of `step()` calls. */
  steps: number;
  groups: { name: string; lr: number; initialLr: number; weightDecay: number }[];
  /** Per parameter: its own step count (Adam's bias correction; params skipped for lack of a grad do not count). */
  params: Record<string, { step: number; slots: Record<string, SavedSlot> }>;
}

interface ParamEntry {
  name: string;
  variable: tf.Variable;
  group: GroupInfo;
  step: number;
  slots: Map<string, tf.Variable>;
}

const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'sgdc', 'adam', 'adamw'];

function entriesOf(params: ParamGroup['params']): [string, tf.Variable][] {
  return params instanceof Map ? [...params.entries()] : Object.entries(params);
}

/**
 * Optimizer over named tf.Variables with torch 1.13 semantics (single-tensor code path):
 * - `sgd`: torch.optim.SGD: d = g + wd·p; buf = d on the first step, then buf = momentum·buf + (1 − dampening)·d;
 *   d = buf (or d + momentum·buf with Nesterov); p −= lr·d.
 * - `sgdc`: the reference's ConstantWD_SGD: as `sgd` but d = g + wd (the scalar wd added to every entry).
 * - `adam`: torch.optim.Adam (coupled L2: g + wd·p). `adamw`: torch.optim.AdamW (p *= 1 − lr·wd first).
 * Parameters without a gradient in a step are skipped (no decay, no momentum update), as torch does for
 * `p.grad is None` (frozen SwAV prototypes). Owns its state variables: call {@link Optimizer.dispose}.
 */
export class Optimizer {
  readonly optimizer: OptimizerName;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly betas: readonly [number, number];
  readonly eps: number;
  private readonly groupList: GroupInfo[];
  private readonly params = new Map<string, ParamEntry>();
  private steps = 0;

  constructor(options: OptimizerOptions) {
    const { optimizer } = options;
    if (!OPTIMIZERS.includes(optimizer)) {
      throw new SmnError(TrainErrorCode.OptimUnknown, `unknown optimizer '${String(optimizer)}'; expected one of ${OPTIMIZERS.join(', ')} (dl.optimizer)`, {
        kind: 'usage',
      });
    }
    this.optimizer = optimizer;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    if (this.momentum < 0) throw new SmnError(TrainErrorCode.OptimOption, `momentum must be >= 0, got ${this.momentum} (dl.momentum)`, { kind: 'usage' });
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new SmnError(TrainErrorCode.OptimOption, 'Nesterov momentum needs momentum > 0 and dampening 0', { kind: 'usage' });
    }
    this.groupList = [];
    const seenGroups = new Set<string>();
    for (const g of options.groups) {
      if (seenGroups.has(g.name)) throw new SmnError(TrainErrorCode.OptimGroup, `parameter group '${g.name}' is given twice`);
      seenGroups.add(g.name);
      if (!Number.isFinite(g.lr) || g.lr < 0) throw new SmnError(TrainErrorCode.OptimOption, `group '${g.name}': lr must be a finite number >= 0, got ${g.lr}`, { kind: 'usage' });
      if (!Number.isFinite(g.weightDecay)) throw new SmnError(TrainErrorCode.OptimOption, `group '${g.name}': weight decay must be finite, got ${g.weightDecay}`, { kind: 'usage' });
      const info: GroupInfo = { name: g.name, lr: g.lr, initialLr: g.lr, weightDecay: g.weightDecay, params: [] };
      for (const [name, variable] of entriesOf(g.params)) {
        const prev = this.params.get(name);
        if (prev) {
          throw new SmnError(TrainErrorCode.OptimGroup, `parameter '${name}' is in two groups ('${prev.group.name}' and '${g.name}'); torch refuses this too`);
        }
        if (variable.dtype !== 'float32') {
          throw new SmnError(TrainErrorCode.OptimDtype, `parameter '${name}' has dtype ${variable.dtype}; the optimizer expects float32`);
        }
        info.params.push(name);
        this.params.set(name, { name, variable, group: info, step: 0, slots: new Map() });
      }
      this.groupList.push(info);
    }
  }

  /** The groups (live view: `lr` changes with {@link setLr}). */
  get groups(): readonly Readonly<GroupInfo>[] {
    return this.groupList;
  }

  /** Number of completed `step()` calls. */
  get stepCount(): number {
    return this.steps;
  }

  /** Sets the current lr of a group (by name or index), e.g. from {@link lrAt} at an epoch start. */
  setLr(group: string | number, lr: number): void {
    const g = typeof group === 'number' ? this.groupList[group] : this.groupList.find((x) => x.name === group);
    if (!g) {
      throw new SmnError(TrainErrorCode.OptimGroup, `no parameter group ${JSON.stringify(group)}; groups: ${this.groupList.map((x) => x.name).join(', ')}`);
    }
    if (!Number.isFinite(lr) || lr < 0) throw new SmnError(TrainErrorCode.OptimOption, `group '${g.name}': lr must be a finite number >= 0, got ${lr}`);
    g.lr = lr;
  }

  /**
   * One update of every parameter that has a gradient in `grads` (name → tensor of the parameter's shape).
   * Missing names are skipped; unknown names are an error. Does not dispose `grads` (the caller owns them).
   */
  step(grads: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>): void {
    const list = grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
    for (const [name, g] of list) {
      const p = this.params.get(name);
      if (!p) {
        throw new SmnError(TrainErrorCode.OptimUnknownParam, `gradient for '${name}', which is in no parameter group; known: ${[...this.params.keys()].slice(0, 8).join(', ')}${this.params.size > 8 ? ', …' : ''}`);
      }
      if (!tf.util.arraysEqual(g.shape, p.variable.shape)) {
        throw new SmnError(TrainErrorCode.OptimGradShape, `gradient for '${name}' has shape ${fmtShape(g.shape)} but the parameter has ${fmtShape(p.variable.shape)}`);
      }
    }
    for (const [name, g] of list) {
      const p = this.params.get(name)!;
      p.step += 1;
      if (this.optimizer === 'sgd' || this.optimizer === 'sgdc') this.sgdStep(p, g);
      else this.adamStep(p, g);
    }
    this.steps += 1;
  }

  private slot(p: ParamEntry, key: string, init: () => tf.Tensor): tf.Variable {
    let v = p.slots.get(key);
    if (!v) {
      const t = init();
      v = tf.variable(t, false);
      t.dispose();
      p.slots.set(key, v);
    }
    return v;
  }

  private sgdStep(p: ParamEntry, grad: tf.Tensor): void {
    const { lr, weightDecay: wd } = p.group;
    const m = this.momentum;
    const constantWd = this.optimizer === 'sgdc';
    if (p.variable.dtype === 'float32' && grad.dtype === 'float32' && tf.getKernel(FusedKernel.sgdStep, tf.getBackend())) {
      // The backend's one-pass step (same arithmetic in float32).
      const existing = p.slots.get('momentum_buffer');
      const attrs = { lr, momentum: m, dampening: this.dampening, nesterov: this.nesterov, weightDecay: wd, constantWd };
      const out = tf.engine().runKernel(FusedKernel.sgdStep, { p: p.variable, g: grad, ...(existing ? { buf: existing } : {}) }, attrs) as tf.Tensor[];
      p.variable.assign(out[0]!);
      out[0]!.dispose();
      if (m !== 0) {
        if (existing) existing.assign(out[1]!);
        else p.slots.set('momentum_buffer', tf.variable(out[1]!, false));
        out[1]!.dispose();
      }
      return;
    }
    tf.tidy(() => {
      let d: tf.Tensor = grad;
      if (wd !== 0) d = constantWd ? tf.add(grad, tf.scalar(wd)) : tf.add(grad, tf.mul(p.variable, tf.scalar(wd)));
      if (m !== 0) {
        const existing = p.slots.get('momentum_buffer');
        let buf: tf.Tensor;
        if (!existing) {
          const v = tf.variable(d, false);
          p.slots.set('momentum_buffer', tf.keep(v));
          buf = v;
        } else {
          existing.assign(tf.add(tf.mul(existing, tf.scalar(m)), tf.mul(d, tf.scalar(1 - this.dampening))));
          buf = existing;
        }
        d = this.nesterov ? tf.add(d, tf.mul(buf, tf.scalar(m))) : buf;
      }
      p.variable.assign(tf.sub(p.variable, tf.mul(d, tf.scalar(lr))));
    });
  }

  private adamStep(p: ParamEntry, grad: tf.Tensor): void {
    const { lr, weightDecay: wd } = p.group;
    const [b1, b2] = this.betas;
    const expAvg = this.slot(p, 'exp_avg', () => tf.zerosLike(p.variable));
    const expAvgSq = this.slot(p, 'exp_avg_sq', () => tf.zerosLike(p.variable));
    const step = p.step;
    tf.tidy(() => {
      let g: tf.Tensor = grad;
      if (this.optimizer === 'adamw') {
        p.variable.assign(tf.mul(p.variable, tf.scalar(1 - lr * wd)));
      } else if (wd !== 0) {
        g = tf.add(grad, tf.mul(p.variable, tf.scalar(wd)));
      }
      expAvg.assign(tf.add(tf.mul(expAvg, tf.scalar(b1)), tf.mul(g, tf.scalar(1 - b1))));
      expAvgSq.assign(tf.add(tf.mul(expAvgSq, tf.scalar(b2)), tf.mul(tf.mul(g, g), tf.scalar(1 - b2))));
      const bc1 = 1 - b1 ** step;
      const bc2Sqrt = Math.sqrt(1 - b2 ** step);
      const denom = tf.add(tf.div(tf.sqrt(expAvgSq), tf.scalar(bc2Sqrt)), tf.scalar(this.eps));
      p.variable.assign(tf.sub(p.variable, tf.mul(tf.div(expAvg, denom), tf.scalar(lr / bc1))));
    });
  }

  /** A copy of the state as plain arrays (reads the state tensors back from the backend). */
  getState(): OptimizerState {
    const params: OptimizerState['params'] = {};
    for (const [name, p] of this.params) {
      const slots: Record<string, SavedSlot> = {};
      for (const [k, v] of p.slots) slots[k] = { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
      params[name] = { step: p.step, slots };
    }
    return {
      optimizer: this.optimizer,
      steps: this.steps,
      groups: this.groupList.map((g) => ({ name: g.name, lr: g.lr, initialLr: g.initialLr, weightDecay: g.weightDecay })),
      params,
    };
  }

  /**
   * Restores a state from {@link getState} (e.g. read from a checkpoint). The optimizer name, groups and parameter
   * names/shapes must match; every mismatch is reported at once. Replaces the current state.
   */
  setState(state: OptimizerState): void {
    const problems: string[] = [];
    if (state.optimizer !== this.optimizer) problems.push(`optimizer is '${state.optimizer}' in the state but '${this.optimizer}' here`);
    const groupNames = this.groupList.map((g) => g.name).join(',');
    const stateGroups = (state.groups ?? []).map((g) => g.name).join(',');
    if (groupNames !== stateGroups) problems.push(`groups are [${stateGroups}] in the state but [${groupNames}] here`);
    const names = Object.keys(state.params ?? {});
    for (const n of names) {
      const p = this.params.get(n);
      if (!p) {
        problems.push(`state has parameter '${n}' that is not being optimised`);
        continue;
      }
      for (const [k, s] of Object.entries(state.params[n]!.slots)) {
        if (!tf.util.arraysEqual(s.shape, p.variable.shape)) {
          problems.push(`state slot '${k}' of '${n}' has shape ${fmtShape(s.shape)} but the parameter has ${fmtShape(p.variable.shape)}`);
        } else if (s.data.length !== tf.util.sizeFromShape(s.shape)) {
          problems.push(`state slot '${k}' of '${n}' has ${s.data.length} values for shape ${fmtShape(s.shape)}`);
        }
      }
    }
    for (const n of this.params.keys()) if (!(n in (state.params ?? {}))) problems.push(`state lacks parameter '${n}'`);
    if (problems.length) {
      throw new SmnError(TrainErrorCode.OptimStateMismatch, `optimizer state does not fit this optimizer:\n  - ${problems.join('\n  - ')}`, {
        details: { problems },
      });
    }
    this.disposeSlots();
    this.steps = state.steps;
    state.groups.forEach((g, i) => {
      const mine = this.groupList[i]!;
      mine.lr = g.lr;
      mine.initialLr = g.initialLr;
      mine.weightDecay = g.weightDecay;
    });
    for (const n of names) {
      const p = this.params.get(n)!;
      const saved = state.params[n]!;
      p.step = saved.step;
      for (const [k, s] of Object.entries(saved.slots)) {
        const t = tf.tensor(s.data, s.shape, 'float32');
        p.slots.set(k, tf.variable(t, false));
        t.dispose();
      }
    }
  }

  private disposeSlots(): void {
    for (const p of this.params.values()) {
      for (const v of p.slots.values()) v.dispose();
      p.slots.clear();
      p.step = 0;
    }
  }

  /** Frees the state tensors (not the parameters). */
  dispose(): void {
    this.disposeSlots();
  }
}

/** Creates an {@link Optimizer}. */
export function createOptimizer(options: OptimizerOptions): Optimizer {
  return new Optimizer(options);
}
