// knnPredict on the other tfjs backends present (wasm always; torch when its addon is built), against the same
// brute-force oracle: guards backend-specific kernels (tfjs-backend-wasm's GatherV2 is wrong for 2-D indices).
import { afterAll, describe, expect, it } from 'vitest';
import { useBackend, tf } from '@smn/backend';
import { knnPredict } from '../src/index.js';
import { bruteKnn, expectScoresClose, randLabels, randn } from './_brute.js';

const candidates = ['wasm', 'torch'] as const;

afterAll(async () => {
  await useBackend('cpu');
});

describe.each(candidates)('knnPredict on %s', (name) => {
  it('matches brute force, ties included, with and without bank merges', async (ctx) => {
    try {
      await useBackend(name);
    } catch (e) {
      ctx.skip(`${name} backend unavailable: ${(e as Error).message.split('\n')[0]}`);
    }
    const D = 8, Q = 29, N = 150, C = 6;
    const q = randn(Q * D, 51), b = randn(N * D, 52), l = randLabels(N, C, 53);
    const want = bruteKnn(q, b, l, D, 15, 0.1, C);
    const before = tf.memory().numTensors;
    for (const [qc, bc] of [[1024, 8192], [7, 40]] as const) {
      const got = await knnPredict({ data: q, shape: [Q, D] }, { data: b, shape: [N, D] }, l, {
        k: 15, numClasses: C, queryChunk: qc, bankChunk: bc,
      });
      expect(Array.from(got.predictions)).toEqual(want.predictions);
      expectScoresClose(got.scores, want.scores);
    }
    // Class-vote tie → lowest class.
    const tie = await knnPredict(
      { data: Float32Array.from([1, 0.5]), shape: [1, 2] },
      { data: Float32Array.from([1, 1, 1, 1, -1, 0]), shape: [3, 2] },
      [2, 1, 0],
      { k: 2, numClasses: 3 },
    );
    expect(tie.predictions[0]).toBe(1);
    // Neighbour tie at the k-th place → lower bank index, across bank chunks too.
    for (const bankChunk of [1, 4]) {
      const nt = await knnPredict(
        { data: Float32Array.from([1, 0]), shape: [1, 2] },
        { data: Float32Array.from([0, 1, 1, 0.2, -1, 0, 1, 0.2]), shape: [4, 2] },
        [1, 2, 1, 0],
        { k: 1, numClasses: 3, bankChunk },
      );
      expect(nt.predictions[0]).toBe(2);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
