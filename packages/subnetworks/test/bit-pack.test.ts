import { describe, expect, it } from 'vitest';
import { packBits, unpackBits } from '../src/index.js';

describe('packBits / unpackBits', () => {
  it('packs LSB first at any bit offset; the Uint8Array fast path equals the generic path', () => {
    for (const off of [0, 3, 8, 13]) {
      for (const enc of ['binary', 'sign'] as const) {
        const v =
          enc === 'binary'
            ? Uint8Array.from({ length: 37 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0))
            : Int8Array.from({ length: 37 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : -1));
        const fast = new Uint8Array(10);
        const slow = new Uint8Array(10);
        expect(packBits(v, fast, off, enc)).toBe(-1);
        expect(packBits(Array.from(v), slow, off, enc)).toBe(-1);
        expect(Array.from(fast)).toEqual(Array.from(slow));
        for (let i = 0; i < 37; i++) expect((fast[(off + i) >> 3]! >> ((off + i) & 7)) & 1).toBe(v[i] === 1 ? 1 : 0);
        expect(Array.from(unpackBits(fast, off, 37, enc))).toEqual(Array.from(v));
      }
    }
  });

  it('known bytes: [1,0,0,0,0,0,0,0, 1,1] → 0x01 0x03', () => {
    const out = new Uint8Array(2);
    packBits(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 1, 1]), out, 0, 'binary');
    expect(Array.from(out)).toEqual([0x01, 0x03]);
  });

  it('returns the index of the first invalid value (also inside the fast path)', () => {
    const v = new Uint8Array(40).fill(1);
    v[21] = 2;
    expect(packBits(v, new Uint8Array(5), 0, 'binary')).toBe(21);
    expect(packBits([1, -1, 0], new Uint8Array(1), 0, 'sign')).toBe(2);
    expect(packBits([1, 0.5], new Uint8Array(1), 0, 'binary')).toBe(1);
  });
});
