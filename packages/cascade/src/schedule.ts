import { SmnError } from '@smn/core';
import { CascadeErrorCode } from './errors.js';

/** Python's round(): halves go to the even neighbour (the reference computed its schedules in Python). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Epochs of a cascade expert trained on a cluster of `clusterSize` rows: E = round(base / size × epochs × scale), so
 * every expert takes about as many steps as the dispatcher (reference README, "Model Cascade" step 3; base is CIFAR's 50,000 even for iNat).
 * The SwAV queue starts at round(E / 5).
 *
 * ```ts
 * expertEpochs(14254); // { epochs: 526, queueStart: 105 }  (CIFAR-100 "B", cluster 0)
 * ```
 */
export function expertEpochs(
  clusterSize: number,
  options: { base?: number; epochs?: number; scale?: number } = {},
): { epochs: number; queueStart: number } {
  const base = options.base ?? 50000;
  const epochs = options.epochs ?? 150;
  const scale = options.scale ?? 1;
  if (!(Number.isInteger(clusterSize) && clusterSize > 0) || !(base > 0) || !(epochs > 0) || !(scale > 0)) {
    throw new SmnError(
      CascadeErrorCode.Option,
      `expertEpochs: expected a positive integer cluster size and positive base/epochs/scale, got size ${clusterSize}, base ${base}, epochs ${epochs}, scale ${scale}`,
      { kind: 'usage' },
    );
  }
  const E = Math.max(1, roundHalfEven((base / clusterSize) * epochs * scale));
  return { epochs: E, queueStart: roundHalfEven(E / 5) };
}
