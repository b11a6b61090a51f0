import { readFileSync } from 'node:fs';
import { tf } from '@smn/backend';
import type { FunctionalModel } from '../src/index.js';

/** A stored array of the PyTorch fixture (made by tools/fixtures/subnetworks/make_fixtures.py). */
export interface Arr {
  shape: number[];
  data: number[];
}

export interface ReferenceCase {
  mode: 'threshold' | 'topk' | 'flip';
  k: number;
  scores: Record<string, Arr>;
  masks: Record<string, Arr>;
  output: Arr;
  loss: number;
  scoreGrads: Record<string, Arr>;
  trainGrads: Record<string, Arr>;
}

export interface Reference {
  input: Arr;
  R: Arr;
  base: Record<string, Arr>;
  masked: string[];
  trained: string[];
  cases: ReferenceCase[];
}

export function loadReference(): Reference {
  return JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as Reference;
}

export const toTensor = (a: Arr): tf.Tensor => tf.tensor(a.data, a.shape, 'float32');

/**
 * The fixture's model in TF.js layouts: conv1 3x3 pad 1 + bias, relu, conv2 3x3 stride 2 pad 1 (no bias), relu,
 * global mean, fc ([in, out]) + bias. Input NHWC [B, 7, 7, 3] → [B, 5].
 */
export function tinyApply(p: Map<string, tf.Tensor>, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
    let h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, p.get('conv1.weight') as tf.Tensor4D, 1, pad), p.get('conv1.bias')!));
    h = tf.relu(tf.conv2d(h as tf.Tensor4D, p.get('conv2.weight') as tf.Tensor4D, 2, pad));
    const pooled = tf.mean(h, [1, 2]);
    return tf.add(tf.matMul(pooled as tf.Tensor2D, p.get('fc.weight') as tf.Tensor2D), p.get('fc.bias')!);
  });
}

/** The fixture's tiny model with its fixed base weights (names in PyTorch order). */
export function tinyModel(ref: Reference): FunctionalModel {
  const params = new Map<string, tf.Tensor>();
  for (const [name, a] of Object.entries(ref.base)) params.set(name, toTensor(a));
  return { params, apply: (p, x) => tinyApply(p, x) };
}

/**
 * Max over entries of |a − b| / (|b| + scale), with scale = 1e-2·max|b|: relative error, except that entries much
 * smaller than the tensor's largest one (where float32 cancellation dominates) are measured against 1% of it.
 */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let big = 0;
  for (let i = 0; i < b.length; i++) big = Math.max(big, Math.abs(b[i]!));
  const scale = 1e-2 * big + 1e-12;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + scale));
  return worst;
}
