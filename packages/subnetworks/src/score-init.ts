import * as tf from '@tensorflow/tfjs-core';
import { SmnError, createRng, fmtShape, torchLinearInit, type Rng } from '@smn/core';
import { SubnetErrorCode } from './errors.js';
import type { ScoresInit, ScoresInitFn, WeightLayout } from './types.js';

/** √5: what the reference's `default_scores_init` writes into 1-D score tensors. */
export const SQRT5 = Math.sqrt(5);

/**
 * Fan-in of a weight as PyTorch's `_calculate_fan_in_and_fan_out` would compute it on the PyTorch-layout tensor.
 * `hwio` `[kh,kw,in,out]` → kh·kw·in; `in-out` `[in,out]` → in; `torch` `[out,in,...]` → in·prod(rest);
 * `auto`: rank 4 → hwio, rank 2 → in-out, else torch. Shapes of rank < 2 throw (PyTorch refuses them too).
 */
export function fanIn(shape: readonly number[], layout: WeightLayout = 'auto', name = '<tensor>'): number {
  const resolved: WeightLayout = layout === 'auto' ? (shape.length === 4 ? 'hwio' : shape.length === 2 ? 'in-out' : 'torch') : layout;
  const bad = (why: string): never => {
    throw new SmnError(SubnetErrorCode.BadOption, `fan-in of "${name}" with shape ${fmtShape(shape)} and layout '${resolved}': ${why}`, {
      kind: 'usage',
      details: { name, shape, layout: resolved },
    });
  };
  if (shape.length < 2) bad('needs at least 2 dimensions');
  if (resolved === 'hwio') {
    if (shape.length !== 4) bad('hwio expects [kh, kw, in, out]');
    return shape[0]! * shape[1]! * shape[2]!;
  }
  if (resolved === 'in-out') {
    if (shape.length !== 2) bad('in-out expects [in, out]');
    return shape[0]!;
  }
  if (resolved === 'torch') return shape.slice(1).reduce((a, b) => a * b, 1);
  return bad(`unknown layout '${String(layout)}'; expected auto, hwio, in-out or torch`);
}

/**
 * Makes the float32 values of one score tensor for a built-in initialiser (docs/method.md#score-initialisers), drawing from `rng`.
 * `weight` holds W's values (row-major), needed by `magnitude`.
 */
export function initScoreValues(
  init: ScoresInit,
  name: string,
  shape: readonly number[],
  weight: Float32Array | (() => Float32Array),
  rng: Rng,
): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (init.kind) {
    case 'normal': {
      const mean = init.mean ?? 0;
      const std = init.std ?? 0.01;
      for (let i = 0; i < n; i++) out[i] = std === 0 ? mean : rng.normal(mean, std);
      return out;
    }
    case 'constant':
      out.fill(init.value);
      return out;
    case 'magnitude': {
      const mean = init.mean ?? 0;
      const std = init.std ?? 0.01;
      const w = typeof weight === 'function' ? weight() : weight;
      const perm = init.shuffle ? rng.permutation(n) : null;
      for (let i = 0; i < n; i++) {
        const v = w[perm ? perm[i]! : i]!;
        out[i] = Math.abs(v) + (std === 0 ? mean : rng.normal(mean, std));
      }
      return out;
    }
    case 'kaiming-uniform': {
      if (shape.length === 1) {
        out.fill(SQRT5);
        return out;
      }
      const layout = typeof init.layout === 'function' ? init.layout(name, shape) : (init.layout ?? 'auto');
      // The reference's default_scores_init: scores get nn.Linear's (and Conv's) default weight init.
      return torchLinearInit(rng, n, fanIn(shape, layout, name));
    }
    default: {
      const kind = (init as { kind?: unknown }).kind;
      throw new SmnError(
        SubnetErrorCode.BadOption,
        `unknown scoresInit kind '${String(kind)}'; expected normal, constant, magnitude, kaiming-uniform or a function`,
        { kind: 'usage', details: { kind } },
      );
    }
  }
}

/**
 * Creates the initial scores of every masked parameter, in the given order, from one seeded stream
 * (`createRng(seed)`, one `fork()` per tensor so each tensor's values do not depend on the sizes of earlier ones).
 * Returns new float32 tensors; the caller owns them.
 */
export function initScores(
  init: ScoresInit | ScoresInitFn,
  params: readonly (readonly [string, tf.Tensor])[],
  seed: number,
): Map<string, tf.Tensor> {
  const rng = createRng(seed);
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, w] of params) {
      const local = rng.fork();
      if (typeof init === 'function') {
        const s = init(name, w);
        if (!(s instanceof tf.Tensor) || !tf.util.arraysEqual(s.shape, w.shape) || s.dtype !== 'float32') {
          const found = s instanceof tf.Tensor ? `${s.dtype} ${fmtShape(s.shape)}` : typeof s;
          throw new SmnError(
            SubnetErrorCode.BadScores,
            `scoresInit for "${name}" returned ${found}; expected a float32 tensor of shape ${fmtShape(w.shape)}`,
            { kind: 'usage', details: { name, expected: w.shape, found } },
          );
        }
        // A fresh tensor the caller can own, even if the function returned `w` itself.
        out.set(name, s === w ? tf.clone(s) : s);
        continue;
      }
      const values = initScoreValues(init, name, w.shape, () => w.dataSync() as Float32Array, local);
      out.set(name, tf.tensor(values, w.shape, 'float32'));
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}
