// Safetensors headers that JSON.parse accepts but the format forbids: a tensor named twice (the last would win
// silently) and tensors whose byte ranges overlap (they would alias each other). Both are SMN_WEIGHTS_BAD_HEADER.
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../src/index.js';
import { caught } from '../../core/test/_smn-error.js';

/** A safetensors file from a header text (written as is, so it may repeat keys) and data bytes. */
function file(headerText: string, data: Uint8Array): Uint8Array {
  const h = Buffer.from(headerText);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return new Uint8Array(Buffer.concat([len, h, data]));
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

describe('safetensors headers', () => {
  it('reads a well-formed file (keys with escapes and nested metadata do not confuse the key scan)', () => {
    const text = '{"__metadata__": {"format": "pt", "a": "x"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b\\"q": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}';
    const { tensors } = parseSafetensors(file(text, f32(1, 2, 3)), 'ok.safetensors');
    expect([...tensors.keys()]).toEqual(['a', 'b"q']);
    expect(Array.from(tensors.get('b"q')!.data as Float32Array)).toEqual([3]);
  });

  it('a tensor named twice is refused, naming it', () => {
    const text = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w" : {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}';
    const err = caught(() => parseSafetensors(file(text, f32(1, 2)), 'dup.safetensors'));
    expect(err.code).toBe('SMN_WEIGHTS_BAD_HEADER');
    expect(err.message).toBe("dup.safetensors: the header names tensor 'w' twice; each name must appear once (damaged or hand-made file)");
  });

  it('overlapping data ranges are refused, naming both tensors', () => {
    const text = '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}';
    const err = caught(() => parseSafetensors(file(text, f32(1, 2, 3)), 'overlap.safetensors'));
    expect(err.code).toBe('SMN_WEIGHTS_BAD_HEADER');
    expect(err.message).toBe(
      "overlap.safetensors: tensors 'a' (data bytes 0-8) and 'b' (4-12) overlap; each tensor needs its own bytes (damaged or hand-made file)",
    );
    // Empty tensors take no bytes and overlap nothing.
    const empty = '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}}';
    expect(parseSafetensors(file(empty, f32(1, 2)), 'e.safetensors').tensors.size).toBe(2);
  });
});
