import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { SmnError } from '@smn/core';
import type { SwavQueue } from '@smn/swav';
import type { SmnConfig } from '../config/index.js';
import type { CheckpointData } from '../checkpoint.js';
import type { LoopPosition } from '../loop.js';
import type { Optimizer, OptimizerState } from '../optim/index.js';
import { TrainErrorCode } from '../errors.js';

/** Where a run stands between batches: what a checkpoint keeps besides the tensors. */
export interface RunState {
  /** Where training continues: epoch, batches done in it, optimizer steps in total. */
  position: LoopPosition;
  /** Sum and count of the losses of the current epoch so far (its mean is `training/train/loss`). */
  epochLoss: { sum: number; n: number };
  /** Samples skipped because they could not be decoded. */
  badSamples: number;
}

/** A fresh run's state. */
export function initialRunState(): RunState {
  return { position: { epoch: 0, batch: 0, step: 0 }, epochLoss: { sum: 0, n: 0 }, badSamples: 0 };
}

/** What the checkpoint of a run holds, by checkpoint tensor prefix: `var/`, `buf/`, `opt/<param>/<slot>`, `queue/<i>`. */
export interface RunStateParts {
  /** Learnable state (scores, trained weights, heads) by name. */
  vars: ReadonlyMap<string, tf.Variable>;
  /** BatchNorm running statistics by name. */
  buffers: ReadonlyMap<string, tf.Variable>;
  optimizer: Pick<Optimizer, 'getState' | 'setState'>;
  queue: SwavQueue | null;
}

const int = z.number().int().nonnegative();
const metaSchema = z.object({
  format: z.literal('smn-run'),
  version: z.literal(1),
  epoch: int,
  batch: int,
  step: int,
  finished: z.boolean(),
  epochLoss: z.object({ sum: z.number(), n: int }),
  badSamples: int.default(0),
  optimizer: z.object({
    optimizer: z.enum(['sgd', 'sgdc', 'adam', 'adamw']),
    steps: int,
    groups: z.array(z.object({ name: z.string(), lr: z.number(), initialLr: z.number(), weightDecay: z.number() })),
    // Slot data lives in the tensors `opt/<param>/<slot>`; the metadata keeps their shapes.
    params: z.record(z.string(), z.object({ step: int, slots: z.record(z.string(), z.object({ shape: z.array(int) })) })),
  }),
  queue: z.object({ length: int, featDim: int, use: z.boolean(), filling: z.boolean(), n: int }).optional(),
});

/** The metadata of a run checkpoint (`meta` of last.ckpt), as saved by {@link encodeRunState}. */
export type RunCheckpointMeta = z.infer<typeof metaSchema>;

/** Reads and checks a run checkpoint's metadata; anything else is `SMN_CKPT_CORRUPT` naming what is wrong. */
export function parseRunMeta(meta: Record<string, unknown>, source: string): RunCheckpointMeta {
  const r = metaSchema.safeParse(meta);
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.join('.') || 'meta'}: ${i.message}`).join('; ');
    throw new SmnError(TrainErrorCode.CkptCorrupt, `checkpoint ${source} is not a run checkpoint smn can resume (${what}); start a new run`, { details: { file: source } });
  }
  return r.data;
}

async function putVars(prefix: string, vars: ReadonlyMap<string, tf.Variable>, into: CheckpointData['tensors']): Promise<void> {
  for (const [name, v] of vars) into.set(`${prefix}${name}`, { shape: v.shape.slice(), data: new Float32Array(await v.data()) });
}

/**
 * The checkpoint of a run: every variable, buffer, optimizer slot and queue row as a tensor, the rest as typed
 * metadata (with the config, for people reading the file). `finished`: the last epoch has ended.
 */
export async function encodeRunState(parts: RunStateParts, state: RunState, extra: { finished: boolean; config: SmnConfig }): Promise<CheckpointData> {
  const tensors: CheckpointData['tensors'] = new Map();
  await putVars('var/', parts.vars, tensors);
  await putVars('buf/', parts.buffers, tensors);
  const opt = parts.optimizer.getState();
  const params: RunCheckpointMeta['optimizer']['params'] = {};
  for (const [pname, p] of Object.entries(opt.params)) {
    params[pname] = { step: p.step, slots: {} };
    for (const [slot, s] of Object.entries(p.slots)) {
      tensors.set(`opt/${pname}/${slot}`, { shape: s.shape, data: s.data });
      params[pname].slots[slot] = { shape: s.shape };
    }
  }
  let queue: RunCheckpointMeta['queue'];
  if (parts.queue) {
    const qs = await parts.queue.state();
    qs.data.forEach((d, i) => tensors.set(`queue/${i}`, { shape: [qs.length, qs.featDim], data: d }));
    queue = { length: qs.length, featDim: qs.featDim, use: qs.use, filling: qs.filling, n: qs.data.length };
  }
  const { epoch, batch, step } = state.position;
  const meta: RunCheckpointMeta = { format: 'smn-run', version: 1, epoch, batch, step, finished: extra.finished, epochLoss: { ...state.epochLoss }, badSamples: state.badSamples, optimizer: { ...opt, params }, queue };
  return { tensors, meta: { ...meta, config: extra.config, savedAt: new Date().toISOString() } };
}

function tensorOf(ckpt: CheckpointData, name: string, source: string): { shape: number[]; data: Float32Array } {
  const t = ckpt.tensors.get(name);
  if (!t) throw new SmnError(TrainErrorCode.CkptCorrupt, `checkpoint ${source} lacks tensor "${name}" that its metadata lists`, { details: { file: source } });
  return t;
}

/**
 * Puts a run checkpoint back: variables, buffers, optimizer and queue, all of which must be there and match; returns
 * the run state to continue from.
 */
export function restoreRunState(parts: RunStateParts, ckpt: CheckpointData, source: string): RunState {
  const meta = parseRunMeta(ckpt.meta, source);
  loadWeights(parts, ckpt, { strict: true, source });
  const params: OptimizerState['params'] = {};
  for (const [pname, p] of Object.entries(meta.optimizer.params)) {
    params[pname] = { step: p.step, slots: Object.fromEntries(Object.keys(p.slots).map((slot) => [slot, tensorOf(ckpt, `opt/${pname}/${slot}`, source)])) };
  }
  parts.optimizer.setState({ ...meta.optimizer, params });
  if (parts.queue && meta.queue) {
    const q = meta.queue;
    parts.queue.load({ length: q.length, featDim: q.featDim, use: q.use, filling: q.filling, data: Array.from({ length: q.n }, (_, i) => tensorOf(ckpt, `queue/${i}`, source).data) });
  }
  return { position: { epoch: meta.epoch, batch: meta.batch, step: meta.step }, epochLoss: { ...meta.epochLoss }, badSamples: meta.badSamples };
}

/**
 * Copies the `var/` and `buf/` tensors of a checkpoint into the matching variables (main.load_checkpoint: weights and
 * scores only). Strict: every variable must be there with its shape; otherwise those that do not match are left as
 * they are and listed in the result (`"name (missing)"`, `"name (shape)"`).
 */
export function loadWeights(parts: Pick<RunStateParts, 'vars' | 'buffers'>, ckpt: CheckpointData, opts: { strict: boolean; source: string }): string[] {
  const skipped: string[] = [];
  for (const [prefix, vars] of [['var/', parts.vars], ['buf/', parts.buffers]] as const) {
    for (const [name, v] of vars) {
      const key = `${prefix}${name}`;
      const t = ckpt.tensors.get(key);
      if (!t) {
        if (opts.strict) throw new SmnError(TrainErrorCode.CkptMissing, `checkpoint ${opts.source} has no tensor "${key}" (set main.strict_load_checkpoint=0 to load what matches)`);
        skipped.push(`${key} (missing)`);
        continue;
      }
      if (t.shape.join(',') !== v.shape.join(',')) {
        if (opts.strict) throw new SmnError(TrainErrorCode.CkptShape, `checkpoint ${opts.source}: "${key}" has shape [${t.shape}] but the model has [${v.shape}]`);
        skipped.push(`${key} (shape)`);
        continue;
      }
      tf.tidy(() => v.assign(tf.tensor(v.dtype === 'int32' ? Int32Array.from(t.data) : t.data, t.shape, v.dtype)));
    }
  }
  return skipped;
}
