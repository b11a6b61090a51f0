import { tf } from '@smn/backend';
import { expect } from 'vitest';
import type { RawTensor } from '../src/index.js';

/** NCHW raw tensor → NHWC tf tensor. */
export function nchwToNhwc(t: RawTensor): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.data as Float32Array, t.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** max|a−b| / max|ref|. */
export function relErr(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(actual.length).toBe(ref.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(actual[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return d / (m || 1);
}
