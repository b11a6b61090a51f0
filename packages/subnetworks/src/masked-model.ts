import * as tf from '@tensorflow/tfjs-core';
import { SmnError } from '@smn/core';
import { analyzeMasks } from './analyze.js';
import { SubnetErrorCode } from './errors.js';
import { checkModeAndK, computeMask, maskedWeight } from './get-subnet.js';
import { resolveK } from './k-schedule.js';
import { initScores } from './score-init.js';
import type {
  FunctionalModel,
  MaskAnalysis,
  MaskContext,
  MaskedApplyOptions,
  MaskedEntry,
  MaskedModel,
  MaskedModelOptions,
  MaskMode,
  Selection,
  SelectionMode,
} from './types.js';

/** Defaults of {@link createMaskedModel} (the reference's `SubmaskedModel` defaults). */
export const MASKED_MODEL_DEFAULTS = {
  scoresInit: { kind: 'kaiming-uniform' } as const,
  mode: 'threshold' as MaskMode,
  k: 0,
  scale: true,
  seed: 0,
};

const SELECTION_MODES: readonly SelectionMode[] = ['mask', 'train', 'freeze'];

/** Normalises a `select()` result to `{ selection, slot }`; throws naming the parameter when it is not valid. */
export function parseSelection(name: string, sel: Selection): { selection: SelectionMode; slot: string } {
  const [mode, slot] = Array.isArray(sel) ? [sel[0], sel[1]] : [sel as unknown, 'default'];
  if (!SELECTION_MODES.includes(mode as SelectionMode) || typeof slot !== 'string' || (Array.isArray(sel) && sel.length !== 2)) {
    throw new SmnError(
      SubnetErrorCode.BadSelection,
      `select() returned ${JSON.stringify(sel)} for parameter "${name}"; expected 'mask', 'train', 'freeze' or ` +
        `[mode, slot] such as ['mask', 'backbone']`,
      { kind: 'usage', details: { name, found: sel } },
    );
  }
  return { selection: mode as SelectionMode, slot };
}

/**
 * Wraps a functional model so that the selected weights are learned as binary masks (the reference's
 * `SubmaskedModel` in subnetworks/submasking.py; docs/method.md#masked-model): masked weights become `W ⊙ M(S) / √mean(M)` with learnable scores S and a
 * straight-through gradient (see {@link maskedWeight}); 'train' parameters become variables; 'freeze' ones pass
 * through unchanged. The model's own params are never modified.
 *
 * ```ts
 * const masked = createMaskedModel(model, {
 *   select: (name) => (name.endsWith('.weight') ? ['mask', 'backbone'] : 'train'),
 *   scoresInit: { kind: 'normal', mean: 1, std: 0 },
 * });
 * const opt = tf.train.sgd(50);
 * opt.minimize(() => lossFn(masked.apply(x, { training: true }), y), false, masked.variables());
 * ```
 * Call `dispose()` to free the scores and trainable variables.
 */
export function createMaskedModel<M extends FunctionalModel>(model: M, options: MaskedModelOptions): MaskedModel<M> {
  const mode = options.mode ?? MASKED_MODEL_DEFAULTS.mode;
  const kOpt = options.k ?? MASKED_MODEL_DEFAULTS.k;
  const scale = options.scale ?? MASKED_MODEL_DEFAULTS.scale;
  const seed = options.seed ?? MASKED_MODEL_DEFAULTS.seed;
  checkModeAndK(mode, typeof kOpt === 'number' ? kOpt : mode === 'topk' ? 0.5 : 0, 'createMaskedModel');
  if (typeof options.select !== 'function') {
    throw new SmnError(SubnetErrorCode.BadOption, 'createMaskedModel: options.select must be a function (name, param) => selection', {
      kind: 'usage',
    });
  }
  const { entries, toMask } = selectParams(model, options.select);
  const { scores, trainable } = createVariables(model, entries, toMask, options.scoresInit ?? MASKED_MODEL_DEFAULTS.scoresInit, seed);
  const s: MaskedState = { model, mode, kOpt, scale, entries, scores, trainable, disposed: false };

  return {
    model,
    mode,
    scale,
    entries,
    scores,
    trainable,
    variables: () => [...scores.values(), ...trainable.values()],
    k: (ctx?: MaskContext) => kAt(s, ctx),
    effectiveParams: (ctx?: MaskContext) => effectiveParams(s, ctx),
    masks: (ctx?: MaskContext) => masks(s, ctx),
    apply: (x: tf.Tensor, opts: MaskedApplyOptions = {}): tf.Tensor => applyMasked(s, x, opts),
    analyze: (ctx?: MaskContext): MaskAnalysis => analyze(s, ctx),
    dispose(): void {
      if (s.disposed) return;
      s.disposed = true;
      for (const v of scores.values()) v.dispose();
      for (const v of trainable.values()) v.dispose();
    },
  };
}

/** What one {@link createMaskedModel} call holds: the model, its options and its variables. */
interface MaskedState {
  model: FunctionalModel;
  mode: MaskMode;
  kOpt: Parameters<typeof resolveK>[0];
  scale: boolean;
  entries: MaskedEntry[];
  scores: Map<string, tf.Variable>;
  trainable: Map<string, tf.Variable>;
  disposed: boolean;
}

/** Every parameter's selection, in the model's order, and the (float32) ones to mask. */
function selectParams(
  model: FunctionalModel,
  select: MaskedModelOptions['select'],
): { entries: MaskedEntry[]; toMask: [string, tf.Tensor][] } {
  const entries: MaskedEntry[] = [];
  const toMask: [string, tf.Tensor][] = [];
  for (const [name, param] of model.params) {
    const { selection, slot } = parseSelection(name, select(name, param));
    if (selection === 'mask' && param.dtype !== 'float32') {
      throw new SmnError(
        SubnetErrorCode.BadOption,
        `parameter "${name}" is ${param.dtype}; only float32 weights can be masked (select 'freeze' for it)`,
        { kind: 'usage', details: { name, dtype: param.dtype } },
      );
    }
    entries.push({ name, selection, slot, shape: [...param.shape] });
    if (selection === 'mask') toMask.push([name, param]);
  }
  return { entries, toMask };
}

/** The scores of the masked parameters and a variable copy of each 'train' one. */
function createVariables(
  model: FunctionalModel,
  entries: MaskedEntry[],
  toMask: [string, tf.Tensor][],
  scoresInit: NonNullable<MaskedModelOptions['scoresInit']>,
  seed: number,
): { scores: Map<string, tf.Variable>; trainable: Map<string, tf.Variable> } {
  const scores = new Map<string, tf.Variable>();
  const trainable = new Map<string, tf.Variable>();
  const initial = initScores(scoresInit, toMask, seed);
  for (const [name, s] of initial) {
    scores.set(name, tf.variable(s, true));
    s.dispose();
  }
  for (const e of entries) {
    if (e.selection === 'train') trainable.set(e.name, tf.variable(model.params.get(e.name)!, true));
  }
  return { scores, trainable };
}

function live(s: MaskedState): void {
  if (s.disposed) {
    throw new SmnError(SubnetErrorCode.Disposed, 'this masked model was disposed; create a new one with createMaskedModel()');
  }
}

function kAt(s: MaskedState, ctx?: MaskContext): number {
  const k = resolveK(s.kOpt, ctx);
  checkModeAndK(s.mode, k, `k(${JSON.stringify(ctx ?? {})})`);
  return k;
}

function effectiveParams(s: MaskedState, ctx?: MaskContext): Map<string, tf.Tensor> {
  live(s);
  const k = kAt(s, ctx);
  const out = new Map<string, tf.Tensor>();
  for (const e of s.entries) {
    const base = s.model.params.get(e.name)!;
    if (e.selection === 'mask') out.set(e.name, maskedWeight(base, s.scores.get(e.name)!, k, s.mode, s.scale, { weightGrad: false }));
    else if (e.selection === 'train') out.set(e.name, tf.clone(s.trainable.get(e.name)!));
    else out.set(e.name, tf.clone(base));
  }
  return out;
}

function masks(s: MaskedState, ctx?: MaskContext): Map<string, tf.Tensor> {
  live(s);
  const k = kAt(s, ctx);
  const out = new Map<string, tf.Tensor>();
  for (const [name, sc] of s.scores) out.set(name, computeMask(sc, k, s.mode));
  return out;
}

function applyMasked(s: MaskedState, x: tf.Tensor, opts: MaskedApplyOptions): tf.Tensor {
  const { epoch, step, training, ...rest } = opts;
  const eff = effectiveParams(s, { epoch, step });
  let y: tf.Tensor | undefined;
  try {
    y = s.model.apply(eff, x, { ...rest, training: training ?? false });
    return y;
  } finally {
    // Safe under a gradient tape: ops keep their own clones of what backprop needs.
    for (const t of eff.values()) if (t !== y) t.dispose();
  }
}

function analyze(s: MaskedState, ctx?: MaskContext): MaskAnalysis {
  live(s);
  if (s.scores.size === 0) return {};
  const k = kAt(s, ctx);
  const ms = masks(s, ctx);
  try {
    return analyzeMasks(
      s.entries.filter((e) => e.selection === 'mask').map((e) => ({ mask: ms.get(e.name)!, scores: s.scores.get(e.name)!, slot: e.slot })),
      k,
    );
  } finally {
    for (const t of ms.values()) t.dispose();
  }
}
