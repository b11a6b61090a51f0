// Inputs of the computations in compute.mjs, shared with the test (test/expected.ts computes what the outputs must be
// from these same inputs with its own formulas). No imports: the test loads this file directly.
export const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));

/** Fresh copies of every input (typed arrays are not shared between calls). */
export function inputs() {
  return {
    masks: new Map([
      ['conv1.weight', { shape: [3, 3, 1, 4], values: Uint8Array.from(range(36, (i) => ((i * 37 + 11) % 5 < 3 ? 1 : 0))) }],
      ['fc.weight', { shape: [4, 3], values: Uint8Array.from(range(12, (i) => ((i * i + 1) % 3 === 0 ? 1 : 0))) }],
    ]),
    signMasks: new Map([['head.weight', { shape: [5, 3], values: Int8Array.from(range(15, (i) => (i % 4 === 1 ? -1 : 1))) }]]),
    tensors: new Map([
      ['layer.weight', { shape: [2, 3], data: Float32Array.from([0.5, -1.25, 3, 0.001, 7.75, -0]) }],
      ['layer.bias', { shape: [3], data: Int32Array.from([1, -2, 2147483647]) }],
      ['step', { shape: [1], data: BigInt64Array.from([2n ** 40n + 3n]) }],
    ]),
    metadata: { format: 'pt', producer: 'smn packaging test' },
    // kNN: three classes around the three axes, two bank rows each; queries lean towards one axis each.
    bank: { data: Float32Array.from([1, 0.1, 0, 0.9, 0, 0.2, 0, 1, 0.1, 0.2, 0.8, 0, 0, 0.1, 1, 0.1, 0, 0.9]), shape: [6, 3] },
    bankLabels: Int32Array.from([0, 0, 1, 1, 2, 2]),
    queries: { data: Float32Array.from([2, 0.3, 0.1, 0.1, 3, 0.4, 0.2, 0.1, 5, 1, 1.05, 0]), shape: [4, 3] },
    knn: { k: 3, temperature: 0.1, numClasses: 3 },
    // Sinkhorn: [B=4, K=3] prototype scores, |o| ≤ 0.1 so that 200 iterations reach the equal partition.
    scores: { data: range(12, (i) => Math.round(Math.sin(i * 1.7 + 0.3) * 100) / 1000), shape: [4, 3] },
    rngSeed: 42,
    // Pixels: a 20×14 RGB gradient with a checker, and a flat gray image (resampling and blurring keep it flat).
    image: { width: 20, height: 14, data: Uint8Array.from(range(20 * 14 * 3, (i) => (Math.floor(i / 3) % 20) * 11 + Math.floor(i / 60) * 7 + (i % 3) * 40 + (((Math.floor(i / 3) % 20) + Math.floor(i / 60)) % 2) * 30)) },
    flat: { width: 20, height: 14, data: new Uint8Array(20 * 14 * 3).fill(77) },
  };
}
