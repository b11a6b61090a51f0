import { afterAll, describe, expect, it } from 'vitest';
import { useBackend, tf, WASM_TRAINING_KERNELS } from '../src/index.js';
import { setWasmStridedBackpropInputMethod } from '../src/wasm-kernels.js';
import { evalArrays, randn, relMaxDiff, size } from './helpers.js';

// The wasm training kernels (conv gradients through wasm's forward conv, cpu fallbacks) against the tfjs cpu
// backend, which computes the same gradients with direct loops. fp32 sums in a different order: 1e-4 relative.
const TOL = 1e-4;

interface ConvCase {
  x: [number, number, number, number];
  k: number;
  cout: number;
  stride: number | [number, number];
  pad: 'same' | 'valid';
}

// Odd sizes with stride 2 give tfjs's asymmetric 'same' padding and 'valid' rows that the conv never reads.
const CASES: ConvCase[] = [
  { x: [2, 8, 8, 3], k: 3, cout: 4, stride: 1, pad: 'same' },
  { x: [2, 8, 8, 3], k: 3, cout: 4, stride: 1, pad: 'valid' },
  { x: [2, 9, 7, 4], k: 3, cout: 5, stride: 2, pad: 'same' },
  { x: [2, 8, 8, 4], k: 3, cout: 5, stride: 2, pad: 'same' },
  { x: [3, 9, 9, 2], k: 3, cout: 3, stride: 2, pad: 'valid' },
  { x: [2, 6, 6, 3], k: 3, cout: 2, stride: 2, pad: 'valid' },
  { x: [2, 5, 6, 6], k: 1, cout: 3, stride: 1, pad: 'same' },
  { x: [2, 7, 7, 6], k: 1, cout: 8, stride: 2, pad: 'valid' },
  { x: [2, 8, 8, 6], k: 1, cout: 8, stride: 2, pad: 'same' },
  { x: [1, 16, 16, 3], k: 7, cout: 4, stride: 2, pad: 'same' },
  { x: [2, 15, 13, 3], k: 7, cout: 4, stride: 2, pad: 'same' },
  { x: [2, 11, 11, 2], k: 7, cout: 3, stride: 2, pad: 'valid' },
  { x: [2, 10, 11, 3], k: 3, cout: 4, stride: [2, 3], pad: 'same' },
  { x: [2, 10, 11, 3], k: 5, cout: 2, stride: [3, 1], pad: 'valid' },
];

/** [y, dL/dx, dL/dW] of L = Σ y ⊙ g for a random g, on the active backend. */
function convGrads(c: ConvCase, seed: number): Float32Array[] {
  const wShape: [number, number, number, number] = [c.k, c.k, c.x[3], c.cout];
  const xv = randn(size(c.x), seed);
  const wv = randn(size(wShape), seed + 1);
  return evalArrays(() => {
    const x = tf.tensor4d(xv, c.x);
    const w = tf.tensor4d(wv, wShape);
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const g = tf.tensor(randn(y.size, seed + 2), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), g)))([x, w]);
    return [y, dx!, dw!];
  });
}

describe('wasm training kernels vs cpu', () => {
  afterAll(async () => {
    await useBackend('cpu');
  });

  it('registers every training kernel on wasm', async () => {
    await useBackend('wasm');
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
  });

  // Strided dX has two implementations: by phases (default) and by zero insertion; both are checked.
  type Method = 'phases' | 'zeros';
  const labelled: [string, ConvCase, number, Method][] = CASES.flatMap((c, i): [string, ConvCase, number, Method][] => {
    const label = `${c.k}x${c.k} s${String(c.stride)} ${c.pad} x=${c.x.join('x')}`;
    return c.stride !== 1
      ? [
          [`${label} (phases)`, c, i, 'phases'],
          [`${label} (zeros)`, c, i, 'zeros'],
        ]
      : [[label, c, i, 'phases']];
  });
  it.each(labelled)(
    'conv2d forward, dX and dW agree: %s',
    async (_label, c, i, method) => {
      await useBackend('cpu');
      const ref = convGrads(c, 100 + i);
      await useBackend('wasm');
      setWasmStridedBackpropInputMethod(method);
      const before = tf.memory().numTensors;
      const got = convGrads(c, 100 + i);
      setWasmStridedBackpropInputMethod('phases');
      expect(tf.memory().numTensors).toBe(before);
      const names = ['y', 'dx', 'dw'];
      for (let j = 0; j < 3; j++) {
        expect(got[j]!.length, names[j]).toBe(ref[j]!.length);
        expect(relMaxDiff(got[j]!, ref[j]!), names[j]).toBeLessThan(TOL);
      }
    },
  );

  it.each(['phases', 'zeros'] as const)('the conv gradients free their intermediates in wasm memory (%s)', async (method) => {
    await useBackend('wasm');
    setWasmStridedBackpropInputMethod(method);
    const c = CASES[2]!;
    convGrads(c, 7); // warm up (XNNPACK caches operators)
    const bytes = tf.memory().numBytes;
    const tensors = tf.memory().numTensors;
    const wasmIds = (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
    for (let i = 0; i < 3; i++) convGrads(c, 7);
    setWasmStridedBackpropInputMethod('phases');
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
    expect((tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds()).toBe(wasmIds);
  });

  it('max-pool gradient matches a direct argmax computation (wasm 4.22 built-in is wrong for C > 1)', async () => {
    const shape: [number, number, number, number] = [2, 8, 6, 3];
    const [n, h, w, c] = shape;
    const xv = randn(size(shape), 5);
    // d/dx Σ maxpool2x2(x)² = 2·max at each window's argmax, 0 elsewhere.
    const want = new Float32Array(xv.length);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h / 2; i++)
        for (let j = 0; j < w / 2; j++)
          for (let ch = 0; ch < c; ch++) {
            let best = -Infinity;
            let at = -1;
            for (let p = 0; p < 2; p++)
              for (let q = 0; q < 2; q++) {
                const k = ((b * h + 2 * i + p) * w + 2 * j + q) * c + ch;
                if (xv[k]! > best) [best, at] = [xv[k]!, k];
              }
            want[at] = 2 * best;
          }
    await useBackend('wasm');
    const [got] = evalArrays(() => [
      tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'))))(tf.tensor4d(xv, shape)),
    ]);
    expect(relMaxDiff(got!, want)).toBeLessThan(1e-6);
  });

  it.each([
    ['max', 3, 2, 'same'],
    ['max', 3, 1, 'same'],
    ['max', 2, 2, 'valid'],
    ['avg', 2, 2, 'valid'],
    ['avg', 3, 2, 'same'],
  ] as const)('%s-pool %i/%i %s: forward and gradient agree with cpu', async (kind, k, s, p) => {
    const shape: [number, number, number, number] = [2, 9, 8, 3];
    const xv = randn(size(shape), 6);
    const pool = (a: tf.Tensor): tf.Tensor =>
      kind === 'max' ? tf.maxPool(a as tf.Tensor4D, k, s, p) : tf.avgPool(a as tf.Tensor4D, k, s, p);
    const run = (): Float32Array[] =>
      evalArrays(() => {
        const x = tf.tensor4d(xv, shape);
        return [pool(x), tf.grad((a: tf.Tensor) => tf.sum(tf.square(pool(a))))(x)];
      });
    await useBackend('cpu');
    const ref = run();
    await useBackend('wasm');
    const got = run();
    expect(relMaxDiff(got[0]!, ref[0]!), 'forward').toBeLessThan(TOL);
    expect(relMaxDiff(got[1]!, ref[1]!), 'gradient').toBeLessThan(TOL);
  });

  it('depthwise conv gradients and unsortedSegmentSum (cpu fallbacks) agree with cpu', async () => {
    const xs: [number, number, number, number] = [2, 7, 7, 3];
    const fs: [number, number, number, number] = [3, 3, 3, 2];
    const xv = randn(size(xs), 11);
    const fv = randn(size(fs), 12);
    const run = (): Float32Array[] =>
      evalArrays(() => {
        const x = tf.tensor4d(xv, xs);
        const f = tf.tensor4d(fv, fs);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
        )([x, f]);
        const table = tf.tensor2d(randn(5 * 4, 13), [5, 4]);
        const idx = tf.tensor1d([4, 0, 4, 2, 1, 4], 'int32');
        const dTable = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, idx))))(table);
        return [dx!, df!, dTable];
      });
    await useBackend('cpu');
    const ref = run();
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const got = run();
    expect(tf.memory().numTensors).toBe(before);
    for (let j = 0; j < 3; j++) expect(relMaxDiff(got[j]!, ref[j]!), `output ${j}`).toBeLessThan(TOL);
  });
});
