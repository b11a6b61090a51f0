import { describe, expect, it } from 'vitest';
import { createRng } from '@smn/core';
import { encodeSafetensors, parseSafetensors } from '../src/index.js';

/** Every finite float16 value, ascending (from the format's definition: sign, 5-bit exponent, 10-bit fraction). */
function allHalves(): number[] {
  const out: number[] = [];
  for (let e = 0; e < 31; e++) for (let f = 0; f < 1024; f++) out.push(e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15));
  return [...out.map((v) => -v).reverse(), ...out];
}

/** The float16 nearest to x (ties to the one with an even fraction), by search over every half. */
function nearestHalf(x: number, halves: number[], bits: Map<number, number>): number {
  let lo = 0;
  let hi = halves.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (halves[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const [a, b] = [halves[lo]!, halves[hi]!];
  if (x - a < b - x) return a;
  if (b - x < x - a) return b;
  return (bits.get(a)! & 1) === 0 ? a : b;
}

describe('encodeSafetensors with floatDtype F16', () => {
  it('stores every float as the nearest float16 (ties to even), read back as float32 by parseSafetensors', () => {
    const halves = allHalves();
    const bits = new Map<number, number>();
    for (let e = 0; e < 31; e++) for (let f = 0; f < 1024; f++) bits.set(e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15), f);
    for (const [v, f] of [...bits]) bits.set(-v, f);
    const rng = createRng(3);
    const xs = new Float32Array(4000);
    for (let i = 0; i < xs.length; i++) xs[i] = (rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 40 - 26);
    // Exact halves, midpoints between neighbours (ties), and the ends of the range.
    xs.set([0, 1, -2, 65504, -65504, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -14, 0.1], 0);
    const bytes = encodeSafetensors(new Map([['x', { shape: [xs.length], data: xs }]]), {}, { floatDtype: 'F16' });
    const back = parseSafetensors(bytes).tensors.get('x')!;
    expect(back.sourceDtype).toBe('F16');
    expect(bytes.length).toBeLessThan(2 * xs.length + 200);
    const got = back.data as Float32Array;
    for (let i = 0; i < xs.length; i++) expect(got[i], `x[${i}] = ${xs[i]}`).toBe(nearestHalf(xs[i]!, halves, bits));
  });

  it('leaves integer tensors and F32 (the default) exact', () => {
    const w = Float32Array.from([0.1, -3.3e-7, 1e30]);
    const n = new BigInt64Array([5n, -1n]);
    const sd = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>([['w', { shape: [3], data: w }], ['n', { shape: [2], data: n }]]);
    const f32 = parseSafetensors(encodeSafetensors(sd)).tensors;
    expect(Array.from(f32.get('w')!.data as Float32Array)).toEqual(Array.from(w));
    const f16 = parseSafetensors(encodeSafetensors(sd, {}, { floatDtype: 'F16' })).tensors;
    expect(f16.get('n')!.data).toEqual(n);
    expect((f16.get('w')!.data as Float32Array)[2]).toBe(Infinity);
  });
});
