import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng, fmtShape, torchLinearInit, type Rng } from '@smn/core';
import { createMaskedModel, type MaskedModel } from '@smn/subnetworks';
import { SwavErrorCode } from './errors.js';
import { applyLinear, createLinear, type LinearLayer } from './_linear.js';
import type { SavedArray, SwavHeadOptions } from './types.js';

/** Head defaults (volt/modules/ssl.py, SWAVConfig). */
export const SWAV_HEAD_DEFAULTS = {
  featDim: 128,
  nmbPrototypes: 3000,
  fc: 'linear' as 'linear' | 'masked',
  prototypes: 'linear' as 'linear' | 'masked',
  seed: 0,
};

/** A SwAV projection head and prototypes (volt/modules/ssl.py, SWAVModule.__init__). Call `dispose()` when done. */
export interface SwavHead {
  readonly inFeatures: number;
  readonly featDim: number;
  readonly nmbPrototypes: number;
  readonly fcKind: 'linear' | 'masked';
  readonly prototypesKind: 'linear' | 'masked';
  /** `z = fc(h)`: `[B, inFeatures] → [B, featDim]`. Caller disposes. */
  project(features: tf.Tensor2D): tf.Tensor2D;
  /** `p = prototypes(e)`: `[n, featDim] → [n, K]`. Caller disposes. */
  prototypeScores(embeddings: tf.Tensor2D): tf.Tensor2D;
  /** `e = normalize(fc(h))` `[B, featDim]` and `p = prototypes(e)` `[B, K]`. Caller disposes both. */
  apply(features: tf.Tensor2D): { embeddings: tf.Tensor2D; scores: tf.Tensor2D };
  /** L2-normalises each prototype row in place (linear prototypes; a no-op for masked ones). Call every train step. */
  normalizePrototypes(): void;
  /** All learnable variables (fc, then prototypes). */
  variables(): tf.Variable[];
  /** The prototypes' learnable variables (weight, or the mask scores when masked). */
  prototypeVariables(): tf.Variable[];
  /**
   * The variables to hand the optimizer at this global step: the prototypes are left out while
   * `step < freezePrototypesNiters` (the reference sets their grads to None, so they get no update or decay).
   */
  trainableVariables(step: number, freezePrototypesNiters: number): tf.Variable[];
  /** Copies of every learnable array, keyed with PyTorch-like names (`fc.weight`, `prototypes.weight`, …). */
  state(): Promise<Record<string, SavedArray>>;
  /** Restores {@link SwavHead.state}; every key and shape must match. */
  load(state: Record<string, SavedArray>): void;
  dispose(): void;
}

/** The reference's `on_after_backward` test: prototypes get no gradient while `step < freezePrototypesNiters`. */
export function prototypesFrozen(step: number, freezePrototypesNiters: number): boolean {
  return step < freezePrototypesNiters;
}

/** A masked `[in → out]` linear map built on @smn/subnetworks (frozen W `[in, out]`, scores 1.0, threshold 0). */
function createMaskedMap(
  w: tf.Tensor2D,
  b: tf.Tensor1D | null,
): { masked: MaskedModel; frozen: tf.Tensor[] } {
  const params = new Map<string, tf.Tensor>([['weight', w]]);
  if (b) params.set('bias', b);
  const masked = createMaskedModel(
    {
      params,
      apply: (p, x) => {
        const y = tf.matMul(x as tf.Tensor2D, p.get('weight') as tf.Tensor2D);
        return b ? tf.add(y, p.get('bias')!) : y;
      },
    },
    { select: () => ['mask', 'head'], scoresInit: { kind: 'constant', value: 1.0 }, mode: 'threshold', k: 0, scale: true },
  );
  return { masked, frozen: b ? [w, b] : [w] };
}

/**
 * Creates the SwAV head of the reference (docs/method.md#swav): a projection `fc` Linear(inFeatures → featDim) with
 * bias and `prototypes` Linear(featDim → K) without bias, PyTorch default init U(±1/√in), seeded.
 *
 * - `fc: 'masked'`: the same random Linear (weight and bias) frozen, with a learned mask over both (scores 1.0,
 *   threshold 0, scaled; @smn/subnetworks). The reference wraps the Linear in its `SubmaskedModel` without saying
 *   which of its parameters are masked; we mask both.
 * - `prototypes: 'masked'`: the reference's MaskedLinear(featDim, K) with its K rows L2-normalised once at
 *   construction; `normalizePrototypes()` is then a no-op (the reference normalises only linear prototypes).
 *
 * ```ts
 * const head = createSwavHead({ inFeatures: 2048, nmbPrototypes: 500, seed: 1 });
 * head.normalizePrototypes();
 * const { embeddings, scores } = head.apply(features); // [B, 128], [B, 500]
 * ```
 */
export function createSwavHead(options: SwavHeadOptions): SwavHead {
  const o = { ...SWAV_HEAD_DEFAULTS, ...options };
  checkSwavHeadOptions(o);
  const { inFeatures, featDim, nmbPrototypes: K } = o;
  const rng = createRng(o.seed);
  const fcRng = rng.fork();
  const protoRng = rng.fork();
  const s: HeadState = {
    fcKind: o.fc,
    prototypesKind: o.prototypes,
    ...buildFc(o.fc, inFeatures, featDim, fcRng),
    ...buildPrototypes(o.prototypes, featDim, K, protoRng),
    disposed: false,
  };

  const head: SwavHead = {
    inFeatures,
    featDim,
    nmbPrototypes: K,
    fcKind: o.fc,
    prototypesKind: o.prototypes,
    project(features) {
      live(s);
      checkInput(features, inFeatures, 'project');
      return s.fcLinear ? applyLinear(s.fcLinear, features) : (s.fcMasked!.masked.apply(features) as tf.Tensor2D);
    },
    prototypeScores(embeddings) {
      live(s);
      checkInput(embeddings, featDim, 'prototypeScores');
      return s.protoLinear ? applyLinear(s.protoLinear, embeddings) : (s.protoMasked!.masked.apply(embeddings) as tf.Tensor2D);
    },
    apply(features) {
      const embeddings = tf.tidy(() => {
        const z = head.project(features);
        return tf.div(z, tf.maximum(tf.norm(z, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
      });
      return { embeddings, scores: head.prototypeScores(embeddings) };
    },
    normalizePrototypes() {
      live(s);
      if (!s.protoLinear) return;
      const w = s.protoLinear.weight;
      tf.tidy(() => w.assign(tf.div(w, tf.maximum(tf.norm(w, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D));
    },
    variables() {
      live(s);
      return [...fcVars(s), ...protoVars(s)];
    },
    prototypeVariables() {
      live(s);
      return protoVars(s);
    },
    trainableVariables(step, freezePrototypesNiters) {
      live(s);
      return prototypesFrozen(step, freezePrototypesNiters) ? fcVars(s) : [...fcVars(s), ...protoVars(s)];
    },
    state: () => saveHeadState(s),
    load: (state) => loadHeadState(s, state),
    dispose: () => disposeHead(s),
  };
  return head;
}

/** The layers of one {@link SwavHead}: exactly one of each linear / masked pair is set. */
interface HeadState {
  fcKind: 'linear' | 'masked';
  prototypesKind: 'linear' | 'masked';
  fcLinear: LinearLayer | null;
  fcMasked: ReturnType<typeof createMaskedMap> | null;
  protoLinear: LinearLayer | null;
  protoMasked: ReturnType<typeof createMaskedMap> | null;
  disposed: boolean;
}

function checkSwavHeadOptions(o: { inFeatures: number; featDim: number; nmbPrototypes: number; fc: string; prototypes: string }): void {
  for (const [name, v] of [
    ['inFeatures', o.inFeatures],
    ['featDim', o.featDim],
    ['nmbPrototypes', o.nmbPrototypes],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new SmnError(SwavErrorCode.Option, `createSwavHead ${name} must be a positive integer; found ${v}.`, {
        kind: 'usage',
      });
    }
  }
  for (const [name, v] of [
    ['fc', o.fc],
    ['prototypes', o.prototypes],
  ] as const) {
    if (v !== 'linear' && v !== 'masked') {
      throw new SmnError(SwavErrorCode.Option, `swav.${name} must be 'linear' or 'masked'; found '${String(v)}'.`, {
        kind: 'usage',
      });
    }
  }
}

/** The projection `fc` Linear(inFeatures → featDim) with bias, plain or masked. */
function buildFc(
  kind: 'linear' | 'masked',
  inFeatures: number,
  featDim: number,
  fcRng: Rng,
): Pick<HeadState, 'fcLinear' | 'fcMasked'> {
  let fcLinear: LinearLayer | null = null;
  let fcMasked: ReturnType<typeof createMaskedMap> | null = null;
  if (kind === 'linear') {
    fcLinear = createLinear(inFeatures, featDim, true, fcRng);
  } else {
    // PyTorch [out, in] values, transposed to the [in, out] layout of @smn/subnetworks.
    const wTorch = tf.tensor2d(torchLinearInit(fcRng, featDim * inFeatures, inFeatures), [featDim, inFeatures]);
    const w = tf.transpose(wTorch) as tf.Tensor2D;
    wTorch.dispose();
    fcMasked = createMaskedMap(w, tf.tensor1d(torchLinearInit(fcRng, featDim, inFeatures)));
  }
  return { fcLinear, fcMasked };
}

/** The `prototypes` Linear(featDim → K) without bias, plain or masked (rows L2-normalised once). */
function buildPrototypes(
  kind: 'linear' | 'masked',
  featDim: number,
  K: number,
  protoRng: Rng,
): Pick<HeadState, 'protoLinear' | 'protoMasked'> {
  let protoLinear: LinearLayer | null = null;
  let protoMasked: ReturnType<typeof createMaskedMap> | null = null;
  if (kind === 'linear') {
    protoLinear = createLinear(featDim, K, false, protoRng);
  } else {
    const w = tf.tidy(() => {
      const wTorch = tf.tensor2d(torchLinearInit(protoRng, K * featDim, featDim), [K, featDim]);
      const rows = tf.div(wTorch, tf.maximum(tf.norm(wTorch, 'euclidean', 1, true), 1e-12));
      return tf.transpose(rows) as tf.Tensor2D; // [featDim, K]
    });
    protoMasked = createMaskedMap(w, null);
  }
  return { protoLinear, protoMasked };
}

function live(s: HeadState): void {
  if (s.disposed) throw new SmnError(SwavErrorCode.Disposed, 'SwavHead was used after dispose().');
}

function checkInput(x: tf.Tensor, cols: number, what: string): void {
  if (x.rank !== 2 || x.shape[1] !== cols) {
    throw new SmnError(
      SwavErrorCode.Shape,
      `SwavHead.${what} expects [n, ${cols}]; found ${fmtShape(x.shape)}.`,
      { kind: 'usage' },
    );
  }
}

function fcVars(s: HeadState): tf.Variable[] {
  return s.fcLinear ? [s.fcLinear.weight, ...(s.fcLinear.bias ? [s.fcLinear.bias] : [])] : s.fcMasked!.masked.variables();
}

function protoVars(s: HeadState): tf.Variable[] {
  return s.protoLinear ? [s.protoLinear.weight] : s.protoMasked!.masked.variables();
}

/** {@link SwavHead.state}. */
async function saveHeadState(s: HeadState): Promise<Record<string, SavedArray>> {
  live(s);
  const out: Record<string, SavedArray> = {};
  const add = async (key: string, t: tf.Tensor): Promise<void> => {
    out[key] = { data: Float32Array.from(await t.data()), shape: [...t.shape] };
  };
  if (s.fcLinear) {
    await add('fc.weight', s.fcLinear.weight);
    if (s.fcLinear.bias) await add('fc.bias', s.fcLinear.bias);
  } else {
    for (const [name, sc] of s.fcMasked!.masked.scores) await add(`fc.scores.${name}`, sc);
  }
  if (s.protoLinear) await add('prototypes.weight', s.protoLinear.weight);
  else for (const [name, sc] of s.protoMasked!.masked.scores) await add(`prototypes.scores.${name}`, sc);
  return out;
}

/** {@link SwavHead.load}: checks every key and shape before assigning any. */
function loadHeadState(s: HeadState, state: Record<string, SavedArray>): void {
  live(s);
  const targets = new Map<string, tf.Variable>();
  if (s.fcLinear) {
    targets.set('fc.weight', s.fcLinear.weight);
    if (s.fcLinear.bias) targets.set('fc.bias', s.fcLinear.bias);
  } else for (const [name, sc] of s.fcMasked!.masked.scores) targets.set(`fc.scores.${name}`, sc);
  if (s.protoLinear) targets.set('prototypes.weight', s.protoLinear.weight);
  else for (const [name, sc] of s.protoMasked!.masked.scores) targets.set(`prototypes.scores.${name}`, sc);
  const want = [...targets.keys()].sort();
  const found = Object.keys(state).sort();
  if (want.join(',') !== found.join(',')) {
    throw new SmnError(
      SwavErrorCode.State,
      `saved SwAV head has keys [${found.join(', ')}] but this head (fc '${s.fcKind}', prototypes '${s.prototypesKind}') ` +
        `needs [${want.join(', ')}]; was it saved with other swav.fc / swav.prototypes settings?`,
      { details: { expected: want, found } },
    );
  }
  for (const [key, v] of targets) {
    const saved = state[key]!;
    if (saved.shape.join(',') !== v.shape.join(',') || saved.data.length !== v.size) {
      throw new SmnError(
        SwavErrorCode.State,
        `saved SwAV head "${key}" has shape ${fmtShape(saved.shape)} but this head expects ${fmtShape(v.shape)}; ` +
          'check swav.feat_dim, swav.nmb_prototypes and the backbone width.',
        { details: { key, expected: v.shape, found: saved.shape } },
      );
    }
  }
  for (const [key, v] of targets) tf.tidy(() => v.assign(tf.tensor(state[key]!.data, v.shape)));
}

function disposeHead(s: HeadState): void {
  if (s.disposed) return;
  s.disposed = true;
  if (s.fcLinear) tf.dispose([s.fcLinear.weight, ...(s.fcLinear.bias ? [s.fcLinear.bias] : [])]);
  if (s.fcMasked) (s.fcMasked.masked.dispose(), tf.dispose(s.fcMasked.frozen));
  if (s.protoLinear) s.protoLinear.weight.dispose();
  if (s.protoMasked) (s.protoMasked.masked.dispose(), tf.dispose(s.protoMasked.frozen));
}
