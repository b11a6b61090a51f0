import { createRng } from '@smn/core';
import { tf } from '../src/tf.js';

/** Seeded N(0,1) values. */
export function randn(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** max |a−b| / max(max |b|, 1e-6): one relative number per tensor, robust to near-zero elements. */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

/** Runs `fn` on the active backend and returns every output as a Float32Array, disposing all tensors. */
export function evalArrays(fn: () => tf.Tensor[]): Float32Array[] {
  const outs = tf.tidy(fn);
  const arrays = outs.map((t) => t.dataSync() as Float32Array).map((a) => Float32Array.from(a));
  tf.dispose(outs);
  return arrays;
}
