import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients; tfjs-layers registers all of them on import.
import '@tensorflow/tfjs-layers';
import { createRng } from '@smn/core';
import { expect } from 'vitest';
import { isTorchAvailable, registerTorchBackend, resetTorchProfile, torchProfile, torchUnavailableReason } from '../src/index.js';

tf.env().set('PROD', true);

export { tf };

/** True when the addon is built; otherwise prints why the suite is skipped. */
export const available = isTorchAvailable();
if (!available) console.warn(`[@smn/backend-torch tests] skipped: ${torchUnavailableReason()}`);

export async function setup(): Promise<void> {
  await registerTorchBackend({ device: 'cpu', threads: 2 });
  await tf.setBackend('torch');
}

export interface In {
  shape: number[];
  dtype?: 'float32' | 'int32' | 'bool';
  /** Explicit values (else random: normal floats, ints in [lo, hi), bools). */
  values?: ArrayLike<number>;
  lo?: number;
  hi?: number;
}

let seed = 1;
export function makeValues(spec: In): number[] {
  if (spec.values) return Array.from(spec.values);
  const rng = createRng(seed++);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (spec.dtype === 'int32') out.push((spec.lo ?? -5) + rng.int((spec.hi ?? 5) - (spec.lo ?? -5)));
    else if (spec.dtype === 'bool') out.push(rng.next() < 0.5 ? 1 : 0);
    else out.push(spec.lo !== undefined ? rng.uniform(spec.lo, spec.hi ?? 1) : rng.normal());
  }
  return out;
}

interface Result {
  shape: number[];
  dtype: string;
  values: number[];
}

async function runOn(backend: string, fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], ins: In[], vals: number[][]): Promise<Result[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => {
    const xs = ins.map((s, i) => tf.tensor(vals[i]!, s.shape, s.dtype ?? 'float32'));
    const r = fn(...xs);
    return Array.isArray(r) ? r : [r];
  });
  const res = outs.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync() as ArrayLike<number>) }));
  tf.dispose(outs);
  return res;
}

/**
 * Runs `fn` on 'torch' and on 'cpu' with the same inputs and expects equal shapes, dtypes and values within
 * |a − b| ≤ tol·(1 + |b|). With `natives`, expects those kernels to have run natively and nothing to have fallen back.
 */
export async function both(
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  ins: In[],
  opts: { tol?: number; natives?: string[]; allowFallback?: boolean } = {},
): Promise<{ torch: Result[]; cpu: Result[] }> {
  const vals = ins.map(makeValues);
  resetTorchProfile();
  const t = await runOn('torch', fn, ins, vals);
  const prof = torchProfile();
  const c = await runOn('cpu', fn, ins, vals);
  await tf.setBackend('torch');
  const tol = opts.tol ?? 1e-5;
  expect(t.length).toBe(c.length);
  for (let k = 0; k < t.length; k++) {
    expect(t[k]!.shape, `output ${k} shape`).toEqual(c[k]!.shape);
    expect(t[k]!.dtype, `output ${k} dtype`).toBe(c[k]!.dtype);
    const a = t[k]!.values;
    const b = c[k]!.values;
    expect(a.length).toBe(b.length);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      const err = Math.abs(x - y) / (1 + Math.abs(y));
      if (!(err <= worst)) {
        worst = Number.isNaN(err) ? Infinity : err;
        at = i;
      }
    }
    expect(worst, `output ${k}: worst relative error at index ${at} (torch ${a[at]}, cpu ${b[at]})`).toBeLessThanOrEqual(tol);
  }
  for (const name of opts.natives ?? []) expect(prof.native[name], `kernel ${name} ran natively`).toBeGreaterThan(0);
  if (!opts.allowFallback) expect(prof.fallback, 'no fallback kernels').toEqual({});
  return { torch: t, cpu: c };
}
