// Backprop that frees as it goes.
//
// tfjs-core's `engine.gradients` keeps, until the whole backward pass ends, every tensor the forward pass saved for its
// gradients and every intermediate gradient it computes: a training step's peak memory is about twice its activations
// plus one gradient per activation. PyTorch's autograd frees each of these as soon as the last node that needs it has
// run. `enableLeanBackprop` replaces the engine's `gradients` with a walk over the same tape, in the same order, calling
// the same gradient functions, that also frees:
//   - a tensor's gradient, once the node that produced the tensor has used it (each tensor has one producer, and the
//     tape is in execution order, so no later step can read it);
//   - a node's saved tensors, once its gradient has run (they are clones made for that node alone);
//   - each partial gradient, once it is added into the running sum of its tensor's gradient.
// The gradients are the same tensors computed by the same kernels in the same order, so the numbers are identical.
// Higher-order gradients (a gradient computed while another is being recorded) share one tape across levels; those
// calls go to tfjs's own implementation unchanged.

import { SmnError, fmtShape } from '@smn/core';
import { tf } from './tf.js';
import { BackendErrorCode } from './errors.js';

type Tensor = tf.Tensor;
type GradFns = Record<string, () => Tensor>;

/** One recorded kernel call, as tfjs-core's engine stores it on the tape. */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  saved?: Tensor[];
  gradient?: (dys: Array<Tensor | null>) => GradFns;
}

type GradientsFn = (
  f: () => Tensor,
  xs: Tensor[],
  dy?: Tensor | null,
  allowNoGradients?: boolean,
) => { value: Tensor; grads: Tensor[] };

/** The parts of tfjs-core's Engine this module uses (stable since tfjs 1.x, checked at install). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T>(name: string, f: () => T): T;
  gradients: GradientsFn;
}

const ORIGINAL = Symbol.for('smn.leanBackprop.original');
type Patched = EngineInternals & { [ORIGINAL]?: GradientsFn };

function engine(): Patched {
  return tf.engine() as unknown as Patched;
}

/**
 * The nodes of `tape` on a path from one of `xs` to `y`, in tape order, each with only the inputs that depend on `xs`
 * (the others get no gradient).
 */
function pathFromXsToY(tape: readonly TapeNode[], xs: readonly Tensor[], y: Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodeFromX: boolean[] = tape.map((node) => {
    if (!Object.values(node.inputs).some((t) => fromX.has(t.id))) return false;
    for (const o of node.outputs) fromX.add(o.id);
    return true;
  });
  const toY = new Set<number>([y.id]);
  const path: TapeNode[] = [];
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    for (const t of Object.values(node.inputs)) toY.add(t.id);
    if (!nodeFromX[i]) continue;
    const inputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    path.push({ ...node, inputs });
  }
  return path.reverse();
}

/**
 * Walks `path` backwards from `grads` (which holds y's gradient), accumulating each input's gradient in `grads` and
 * freeing what no later step reads. Gradients of `keepIds` (the xs) stay; `protect` (a caller's dy) is never freed.
 */
function backpropFreeing(
  grads: Map<number, Tensor>,
  path: readonly TapeNode[],
  keepIds: ReadonlySet<number>,
  protect: Tensor | null,
  tidy: <T>(f: () => T) => T,
): void {
  // How many entries of `grads` hold each tensor (a gradient function may hand back a tensor it was given).
  const refs = new Map<Tensor, number>();
  const hold = (t: Tensor) => refs.set(t, (refs.get(t) ?? 0) + 1);
  const freeIfUnheld = (t: Tensor) => {
    if (!refs.has(t) && t !== protect) t.dispose();
  };
  const release = (t: Tensor) => {
    const n = (refs.get(t) ?? 1) - 1;
    if (n > 0) refs.set(t, n);
    else {
      refs.delete(t);
      freeIfUnheld(t);
    }
  };
  for (const g of grads.values()) hold(g);

  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i]!;
    const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
    if (node.gradient == null) {
      throw new SmnError(BackendErrorCode.NoGradient, `cannot compute the gradient: kernel ${node.kernelName} has no registered gradient`, {
        details: { kernel: node.kernelName },
      });
    }
    const fns = node.gradient(dys);
    for (const [name, x] of Object.entries(node.inputs)) {
      const fn = fns[name];
      if (fn === undefined) {
        throw new SmnError(
          BackendErrorCode.NoGradient,
          `cannot backprop through input '${name}' of ${node.kernelName}: its gradient gives only ${Object.keys(fns).join(', ') || 'nothing'}`,
          { details: { kernel: node.kernelName, input: name } },
        );
      }
      const dx = tidy(fn);
      if (dx.dtype !== 'float32') {
        throw new SmnError(BackendErrorCode.GradientDtype, `the gradient of ${node.kernelName}'s input '${name}' must be float32; found ${dx.dtype}`, {
          details: { kernel: node.kernelName, input: name, found: dx.dtype },
        });
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new SmnError(
          BackendErrorCode.GradientShape,
          `the gradient of ${node.kernelName}'s input '${name}' has shape ${fmtShape(dx.shape)}; expected the input's ${fmtShape(x.shape)}`,
          { details: { kernel: node.kernelName, input: name, expected: x.shape, found: dx.shape } },
        );
      }
      const cur = grads.get(x.id);
      if (cur === undefined) {
        grads.set(x.id, dx);
        hold(dx);
      } else {
        const sum = tf.add(cur, dx);
        grads.set(x.id, sum);
        hold(sum);
        release(cur);
        freeIfUnheld(dx);
      }
    }
    // Nothing before this node reads its outputs' gradients or its saved tensors.
    for (const o of node.outputs) {
      if (keepIds.has(o.id)) continue;
      const g = grads.get(o.id);
      if (g === undefined) continue;
      grads.delete(o.id);
      release(g);
    }
    for (const t of node.saved ?? []) freeIfUnheld(t);
  }
}

function leanGradients(this: Patched, f: () => Tensor, xs: Tensor[], dy?: Tensor | null, allowNoGradients = false) {
  const original = this[ORIGINAL]!;
  // A gradient inside a gradient shares the outer tape: leave it to tfjs.
  if (this.state.gradientDepth > 0) return original.call(this, f, xs, dy, allowNoGradients);
  if (xs.length === 0) throw new SmnError(BackendErrorCode.NoGradient, 'gradients() received an empty list of xs');
  if (dy != null && dy.dtype !== 'float32') {
    throw new SmnError(BackendErrorCode.GradientDtype, `dy must be float32; found ${dy.dtype}`, { details: { found: dy.dtype } });
  }
  const y = this.scopedRun(
    () => this.startTape(),
    () => this.endTape(),
    () => this.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new SmnError(BackendErrorCode.GradientValue, 'the function passed to gradients() must return a tensor');
  const tape = this.state.activeTape ?? [];
  const path = pathFromXsToY(tape, xs, y);
  if (!allowNoGradients && path.length === 0) {
    throw new SmnError(
      BackendErrorCode.NoGradient,
      'cannot compute the gradient of y = f(x) with respect to x: make sure f encloses all the operations from x to y',
    );
  }
  return this.tidy('backward', () => {
    const grads = new Map<number, Tensor>();
    grads.set(y.id, dy ?? tf.ones(y.shape));
    backpropFreeing(grads, path, new Set(xs.map((x) => x.id)), dy ?? null, (g) => this.tidy('grad', g));
    const out = xs.map((x) => grads.get(x.id)) as Tensor[];
    // First order only (see above): the tape is done with; free what nodes off the x→y path saved.
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    this.state.activeTape = null;
    return { value: y, grads: out };
  });
}

function checkEngine(e: Patched): void {
  const missing = (['scopedRun', 'startTape', 'endTape', 'tidy', 'gradients'] as const).filter((k) => typeof e[k] !== 'function');
  if (missing.length > 0 || typeof e.state?.gradientDepth !== 'number') {
    throw new SmnError(
      BackendErrorCode.LeanBackpropUnsupported,
      `this @tensorflow/tfjs-core (${tf.version_core}) has no ${missing.join(', ') || 'state.gradientDepth'} on its engine; lean backprop needs tfjs-core 4.x`,
      { details: { tfjsCore: tf.version_core, missing } },
    );
  }
}

/**
 * Makes every first-order gradient (`tf.grads`, `tf.variableGrads`, `optimizer.minimize`) free saved tensors and
 * intermediate gradients as soon as the backward walk has passed them. Same numbers, lower peak memory. Idempotent.
 */
export function enableLeanBackprop(): void {
  const e = engine();
  if (e[ORIGINAL] !== undefined) return;
  checkEngine(e);
  e[ORIGINAL] = e.gradients;
  e.gradients = leanGradients as GradientsFn;
}

/** Restores tfjs-core's own `gradients`. */
export function disableLeanBackprop(): void {
  const e = engine();
  const original = e[ORIGINAL];
  if (original === undefined) return;
  e.gradients = original;
  delete e[ORIGINAL];
}

/** Whether `enableLeanBackprop` is in effect. */
export function leanBackpropEnabled(): boolean {
  return engine()[ORIGINAL] !== undefined;
}
