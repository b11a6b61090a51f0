import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../src/native.js';
import { BINARY, DT, OP_NAMES, REDUCE, UNARY } from '../src/ops.js';
import { OPS_HEADER_PATH, opsHeader } from '../scripts/ops-header.js';

describe('op codes: one table for TypeScript and the addon', () => {
  it('native/ops.h is generated from src/ops.ts (else: pnpm tsx packages/backend-torch/scripts/ops-header.ts)', () => {
    expect(readFileSync(OPS_HEADER_PATH, 'utf8')).toBe(opsHeader());
  });

  const loaded = loadNative();
  it.skipIf(!('native' in loaded))('the built addon knows the last code of every group and no code past it', () => {
    const n = (loaded as Exclude<typeof loaded, { error: string }>).native;
    const x = n.fill([2, 3], 0.5, DT.float32);
    const b = n.fill([2, 3], 1, DT.bool);
    const made = [
      n.unary(UNARY.Atanh, x, 0, 0),
      n.binary(BINARY.ReluGrad, x, x),
      n.reduce(REDUCE.Any, b, [0], false),
      n.fill([1], 0, OP_NAMES.dtype.length - 1),
    ];
    expect(n.download(made[0]!)[0]).toBeCloseTo(Math.atanh(0.5), 6);
    expect(Array.from(n.download(made[2]!))).toEqual([1, 1, 1]);
    expect(() => n.unary(OP_NAMES.unary.length, x, 0, 0)).toThrow(/unknown unary op code/);
    expect(() => n.binary(OP_NAMES.binary.length, x, x)).toThrow(/unknown binary op code/);
    expect(() => n.reduce(OP_NAMES.reduce.length, x, [0], false)).toThrow(/unknown reduce op code/);
    expect(() => n.fill([1], 0, OP_NAMES.dtype.length)).toThrow(/unknown dtype code/);
    for (const id of [x, b, ...made]) n.free(id);
  });
});
