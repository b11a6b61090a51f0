/**
 * Small seeded PRNG (sfc32, 128-bit state) with a serialisable state, so that a run's random stream can be saved
 * in a checkpoint and resumed exactly. Not cryptographic.
 *
 * ```ts
 * const rng = createRng(42);
 * rng.next();            // float in [0, 1)
 * const s = rng.state(); // save
 * createRng(0).setState(s);
 * ```
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform float in [a, b). */
  uniform(a: number, b: number): number;
  /** Standard normal (Box-Muller). */
  normal(mean?: number, std?: number): number;
  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(arr: T[] | Int32Array | Uint32Array): void;
  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array;
  /** A new independent stream derived from this one (advances this one). */
  fork(): Rng;
  state(): number[];
  setState(state: readonly number[]): Rng;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRng(seed: number): Rng {
  const init = splitmix32(Math.floor(seed) >>> 0);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  const rng: Rng = {
    next: () => u32() / 4294967296,
    int: (n) => Math.floor((u32() / 4294967296) * n),
    uniform: (lo, hi) => lo + (u32() / 4294967296) * (hi - lo),
    normal: (mean = 0, std = 1) => {
      let u = 0;
      while (u === 0) u = u32() / 4294967296;
      const v = u32() / 4294967296;
      return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    shuffle: (arr) => {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor((u32() / 4294967296) * (i + 1));
        const t = arr[i]!;
        arr[i] = arr[j]!;
        arr[j] = t;
      }
    },
    permutation: (n) => {
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      rng.shuffle(p);
      return p;
    },
    fork: () => createRng(u32()),
    state: () => [a, b, c, d],
    setState: (s) => {
      if (s.length !== 4) throw new Error(`RNG state must have 4 words, got ${s.length}`);
      [a, b, c, d] = s.map((x) => x >>> 0) as [number, number, number, number];
      return rng;
    },
  };
  return rng;
}
