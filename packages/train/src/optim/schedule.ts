import { SmnError } from '@smn/core';
import { TrainErrorCode } from '../errors.js';

/** The reference's `dl.scheduler` values (docs/method.md#schedulers). */
export type SchedulerName = 'none' | 'cosine' | 'cosine_warmup' | 'cosine_cooldown' | 'step';

/** Options of {@link lrAt}; names follow `dl.*` (`warmup_epochs`, `eta_min`, `scheduler_step`, `scheduler_gamma`, `cooldown`). */
export interface ScheduleOptions {
  scheduler: SchedulerName;
  /** Base learning rate of the group (torch's `initial_lr`). */
  lr: number;
  /** `dl.epochs`: total epochs E. */
  epochs: number;
  /** `dl.warmup_epochs` (cosine_warmup). Default 10. */
  warmupEpochs?: number;
  /** `dl.eta_min` (cosine, cosine_cooldown). Default 0. */
  etaMin?: number;
  /** `dl.scheduler_step` (step). Default 50. */
  step?: number;
  /** `dl.scheduler_gamma` (step). Default 0.1. */
  gamma?: number;
  /** `dl.cooldown` (cosine_cooldown). Default 50. */
  cooldown?: number;
}

/** The `dl.*` keys a schedule reads, as in the config. */
export interface ScheduleConfigKeys {
  scheduler: SchedulerName;
  lr: number;
  epochs: number;
  warmup_epochs: number;
  eta_min: number;
  scheduler_step: number;
  scheduler_gamma: number;
  cooldown: number;
}

/** Maps a resolved `dl` section to {@link ScheduleOptions} (with `lr` = dl.lr; pass another `lr` for the head group). */
export function scheduleOptionsFromConfig(dl: ScheduleConfigKeys, lr: number = dl.lr): ScheduleOptions {
  return {
    scheduler: dl.scheduler,
    lr,
    epochs: dl.epochs,
    warmupEpochs: dl.warmup_epochs,
    etaMin: dl.eta_min,
    step: dl.scheduler_step,
    gamma: dl.scheduler_gamma,
    cooldown: dl.cooldown,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A faithful emulation of torch 1.13's chainable schedulers on one parameter group. The recursive (chainable) forms
// are used where torch uses them, so the numbers agree with torch to the last bit or two, not just mathematically.

interface Group {
  lr: number;
  initialLr: number;
}

abstract class Sched {
  lastEpoch = -1;
  stepCount = 0;
  readonly baseLr: number;
  constructor(readonly g: Group) {
    this.baseLr = g.initialLr;
  }
  abstract getLr(): number;
  closedForm(): number | undefined {
    return undefined;
  }
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }
  step(epoch?: number): void {
    this.stepCount += 1;
    if (epoch === undefined) {
      this.lastEpoch += 1;
      this.g.lr = this.getLr();
    } else {
      this.lastEpoch = epoch;
      this.g.lr = this.closedForm() ?? this.getLr();
    }
  }
}

class LambdaLR extends Sched {
  constructor(g: Group, readonly fn: (e: number) => number) {
    super(g);
    this.initialStep();
  }
  getLr(): number {
    return this.baseLr * this.fn(this.lastEpoch);
  }
}

class CosineAnnealingLR extends Sched {
  constructor(g: Group, readonly tMax: number, readonly etaMin: number) {
    super(g);
    this.initialStep();
  }
  getLr(): number {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return this.g.lr;
    if (this.stepCount === 1 && e > 0) return etaMin + ((this.baseLr - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2;
    if ((e - 1 - T) % (2 * T) === 0) return this.g.lr + ((this.baseLr - etaMin) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (this.g.lr - etaMin) + etaMin;
  }
  override closedForm(): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2;
  }
}

class StepLR extends Sched {
  constructor(g: Group, readonly stepSize: number, readonly gamma: number) {
    super(g);
    this.initialStep();
  }
  getLr(): number {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.g.lr;
    return this.g.lr * this.gamma;
  }
  override closedForm(): number {
    return this.baseLr * this.gamma ** Math.floor(this.lastEpoch / this.stepSize);
  }
}

class ConstantLR extends Sched {
  constructor(g: Group, readonly factor: number, readonly totalIters: number) {
    super(g);
    this.initialStep();
  }
  getLr(): number {
    if (this.lastEpoch === 0) return this.g.lr * this.factor;
    if (this.lastEpoch > this.totalIters || this.lastEpoch !== this.totalIters) return this.g.lr;
    // torch raises ZeroDivisionError here when factor is 0; it happens at epoch E, one step after the last epoch.
    if (this.factor === 0) {
      throw new SmnError(TrainErrorCode.ScheduleEpoch, 'cosine_cooldown with dl.eta_min=0 has no lr past the last epoch (torch divides by zero there)');
    }
    return this.g.lr * (1 / this.factor);
  }
  override closedForm(): number {
    return this.baseLr * (this.factor + (this.lastEpoch >= this.totalIters ? 1 : 0) * (1 - this.factor));
  }
}

class SequentialLR {
  lastEpoch: number;
  constructor(readonly g: Group, readonly scheds: Sched[], readonly milestones: number[]) {
    this.lastEpoch = 0;
    g.lr = g.initialLr;
    for (const s of scheds) s.lastEpoch -= 1;
    scheds[0]!.initialStep();
  }
  step(): void {
    this.lastEpoch += 1;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx]! <= this.lastEpoch) idx++;
    const s = this.scheds[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
  }
}

function usage(message: string, details: Record<string, unknown>): SmnError {
  return new SmnError(TrainErrorCode.ScheduleInvalid, message, { kind: 'usage', details });
}

function intAtLeast(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw usage(`${name} must be an integer >= ${min}, got ${v}`, { key: name, found: v });
}

/**
 * Builds the reference's scheduler for one group and returns a stepper: `lrs[e]` is the lr in effect during epoch e.
 * Validates the options (throws SmnError 'usage' naming the `dl.*` key).
 */
function simulate(opts: ScheduleOptions, upTo: number): number[] {
  const { scheduler, lr, epochs } = opts;
  const warmup = opts.warmupEpochs ?? 10;
  const etaMin = opts.etaMin ?? 0;
  const stepSize = opts.step ?? 50;
  const gamma = opts.gamma ?? 0.1;
  const cooldown = opts.cooldown ?? 50;
  if (!Number.isFinite(lr)) throw usage(`learning rate must be a finite number, got ${lr}`, { key: 'dl.lr', found: lr });
  intAtLeast('dl.epochs', epochs, 1);
  const g: Group = { lr, initialLr: lr };
  let stepper: () => void;
  switch (scheduler) {
    case 'none':
      stepper = () => {};
      break;
    case 'cosine': {
      const s = new CosineAnnealingLR(g, epochs, etaMin);
      stepper = () => s.step();
      break;
    }
    case 'cosine_warmup': {
      intAtLeast('dl.warmup_epochs', warmup, 1);
      if (warmup >= epochs) {
        throw usage(`dl.warmup_epochs (${warmup}) must be smaller than dl.epochs (${epochs}) for dl.scheduler=cosine_warmup`, {
          key: 'dl.warmup_epochs',
        });
      }
      // Reference: LambdaLR(e / warmup_epochs) then CosineAnnealingLR(T_max = epochs - warmup, eta_min = 0).
      const lin = new LambdaLR(g, (e) => e / warmup);
      const cos = new CosineAnnealingLR(g, epochs - warmup, 0);
      const seq = new SequentialLR(g, [lin, cos], [warmup]);
      stepper = () => seq.step();
      break;
    }
    case 'cosine_cooldown': {
      intAtLeast('dl.cooldown', cooldown, 0);
      if (cooldown >= epochs) {
        throw usage(`dl.cooldown (${cooldown}) must be smaller than dl.epochs (${epochs}) for dl.scheduler=cosine_cooldown`, {
          key: 'dl.cooldown',
        });
      }
      if (etaMin < 0 || etaMin > 1) {
        throw usage(`dl.eta_min is the ConstantLR factor of cosine_cooldown and must be in [0, 1], got ${etaMin}`, { key: 'dl.eta_min' });
      }
      // Reference: CosineAnnealingLR(E - cooldown, eta_min) then ConstantLR(factor = eta_min, total_iters = cooldown).
      const cos = new CosineAnnealingLR(g, epochs - cooldown, etaMin);
      const cst = new ConstantLR(g, etaMin, cooldown);
      const seq = new SequentialLR(g, [cos, cst], [epochs - cooldown]);
      stepper = () => seq.step();
      break;
    }
    case 'step': {
      intAtLeast('dl.scheduler_step', stepSize, 1);
      const s = new StepLR(g, stepSize, gamma);
      stepper = () => s.step();
      break;
    }
    default:
      throw usage(`unknown dl.scheduler '${String(scheduler)}'; expected none, cosine, cosine_warmup, cosine_cooldown or step`, {
        key: 'dl.scheduler',
        found: scheduler,
      });
  }
  const out = [g.lr];
  for (let e = 1; e <= upTo; e++) {
    stepper();
    out.push(g.lr);
  }
  return out;
}

/**
 * Learning rate in effect during `epoch` (0-based), as torch 1.13 schedulers stepped once per epoch give it
 * (Lightning's default), built the way the reference builds them (volt/modules/classifier.py, ClassifierModule.configure_optimizers):
 * - `cosine`: CosineAnnealingLR(T_max = epochs, eta_min).
 * - `cosine_warmup`: SequentialLR[LambdaLR(e / W), CosineAnnealingLR(epochs − W, eta_min = 0)], milestone W:
 *   lr 0 in epoch 0, lr·e/W up to W, then cosine.
 * - `cosine_cooldown`: SequentialLR[CosineAnnealingLR(epochs − cooldown, eta_min), ConstantLR(factor = eta_min)].
 * - `step`: StepLR(step, gamma). `none`: constant.
 * Pure: the same inputs give the same number. Epochs past `epochs − 1` follow torch's formulas too (except
 * cosine_cooldown with eta_min 0, where torch divides by zero: an error).
 */
export function lrAt(epoch: number, opts: ScheduleOptions): number {
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new SmnError(TrainErrorCode.ScheduleEpoch, `epoch must be an integer >= 0, got ${epoch}`, { kind: 'usage' });
  }
  return simulate(opts, epoch)[epoch]!;
}

/** Learning rates of epochs 0..epochs−1 (one simulation; cheaper than calling {@link lrAt} per epoch). */
export function lrSchedule(opts: ScheduleOptions): number[] {
  return simulate(opts, opts.epochs - 1).slice(0, opts.epochs);
}

/** What {@link applySchedule} needs of an optimizer (an {@link Optimizer} fits). */
export interface SchedulableOptimizer {
  readonly groups: readonly { readonly initialLr: number }[];
  setLr(group: number, lr: number): void;
}

/**
 * Sets every group's lr for `epoch` from its own initial lr (torch schedulers scale each group's `initial_lr`), and
 * returns the lrs. Call at the start of each epoch.
 */
export function applySchedule(optimizer: SchedulableOptimizer, epoch: number, opts: Omit<ScheduleOptions, 'lr'>): number[] {
  return optimizer.groups.map((g, i) => {
    const lr = lrAt(epoch, { ...opts, lr: g.initialLr });
    optimizer.setLr(i, lr);
    return lr;
  });
}
