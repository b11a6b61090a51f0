/**
 * Packs `values` (one mask entry each) into bits, LSB first: entry i sets bit ((bitOffset + i) mod 8) of byte
 * ⌊(bitOffset + i)/8⌋ of `out`. `binary`: 1 → bit 1, 0 → bit 0. `sign`: +1 → bit 1, −1 → bit 0. `out` must be
 * zero-filled and large enough. Returns the index (into `values`) of the first invalid entry, or −1.
 */
export function packBits(values: ArrayLike<number>, out: Uint8Array, bitOffset: number, encoding: 'binary' | 'sign'): number {
  const n = values.length;
  let i = 0;
  // Fast path: 0/1 bytes, 8 entries per output byte once the stream is byte-aligned.
  if (encoding === 'binary' && values instanceof Uint8Array) {
    for (; i < n && ((bitOffset + i) & 7) !== 0; i++) {
      const v = values[i]!;
      if (v > 1) return i;
      out[(bitOffset + i) >>> 3]! |= v << ((bitOffset + i) & 7);
    }
    let byte = (bitOffset + i) >>> 3;
    for (; i + 8 <= n; i += 8, byte++) {
      const v0 = values[i]!, v1 = values[i + 1]!, v2 = values[i + 2]!, v3 = values[i + 3]!;
      const v4 = values[i + 4]!, v5 = values[i + 5]!, v6 = values[i + 6]!, v7 = values[i + 7]!;
      if ((v0 | v1 | v2 | v3 | v4 | v5 | v6 | v7) > 1) break; // the slow loop below finds the bad index
      out[byte] = v0 | (v1 << 1) | (v2 << 2) | (v3 << 3) | (v4 << 4) | (v5 << 5) | (v6 << 6) | (v7 << 7);
    }
  }
  for (; i < n; i++) {
    const v = values[i]!;
    let bit: number;
    if (encoding === 'binary') {
      if (v === 1) bit = 1;
      else if (v === 0) bit = 0;
      else return i;
    } else if (v === 1) bit = 1;
    else if (v === -1) bit = 0;
    else return i;
    if (bit) {
      const b = bitOffset + i;
      out[b >>> 3]! |= 1 << (b & 7);
    }
  }
  return -1;
}

/** Unpacks `count` bits starting at bit `bitOffset` (LSB first) to 0/1 (`binary`) or −1/+1 (`sign`). */
export function unpackBits(bytes: Uint8Array, bitOffset: number, count: number, encoding: 'binary' | 'sign'): Uint8Array | Int8Array {
  const out = encoding === 'binary' ? new Uint8Array(count) : new Int8Array(count);
  let i = 0;
  for (; i < count && ((bitOffset + i) & 7) !== 0; i++) {
    const b = bitOffset + i;
    out[i] = (bytes[b >>> 3]! >>> (b & 7)) & 1;
  }
  for (let byte = (bitOffset + i) >>> 3; i + 8 <= count; i += 8, byte++) {
    const v = bytes[byte]!;
    out[i] = v & 1;
    out[i + 1] = (v >>> 1) & 1;
    out[i + 2] = (v >>> 2) & 1;
    out[i + 3] = (v >>> 3) & 1;
    out[i + 4] = (v >>> 4) & 1;
    out[i + 5] = (v >>> 5) & 1;
    out[i + 6] = (v >>> 6) & 1;
    out[i + 7] = (v >>> 7) & 1;
  }
  for (; i < count; i++) {
    const b = bitOffset + i;
    out[i] = (bytes[b >>> 3]! >>> (b & 7)) & 1;
  }
  if (encoding === 'sign') for (let j = 0; j < count; j++) out[j] = out[j]! * 2 - 1;
  return out;
}
