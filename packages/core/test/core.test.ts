import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atomicWriteFile, createRng, encodeNpy, parseNpy, readNpy, writeNpy, SmnError, isSmnError } from '../src/index.js';

describe('rng', () => {
  it('is reproducible and resumable from its state', () => {
    const a = createRng(42);
    const first = [a.next(), a.next(), a.next()];
    expect([createRng(42).next()]).toEqual([first[0]]);
    const s = a.state();
    const cont = [a.next(), a.next()];
    expect([createRng(7).setState(s).next(), createRng(7).setState(s).int(1 << 30) >= 0]).toEqual([cont[0], true]);
  });
  it('draws uniform numbers with the right mean and a valid permutation', () => {
    const r = createRng(1);
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += r.next();
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
    const p = Array.from(r.permutation(100)).sort((x, y) => x - y);
    expect(p).toEqual(Array.from({ length: 100 }, (_, i) => i));
    let m = 0;
    let v = 0;
    for (let i = 0; i < 20000; i++) {
      const x = r.normal();
      m += x;
      v += x * x;
    }
    expect(Math.abs(m / 20000)).toBeLessThan(0.03);
    expect(Math.abs(v / 20000 - 1)).toBeLessThan(0.05);
  });
});

describe('npy', () => {
  it('round-trips float32 and reports truncation with the file name', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const buf = encodeNpy({ shape: [2, 3], dtype: 'float32', data });
    const back = parseNpy(buf);
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => parseNpy(buf.subarray(0, buf.length - 4), 'x.npy')).toThrow(/x\.npy.*needs 24 data bytes but the file has 20/);
  });
});

describe('readNpy', () => {
  it('reads back what writeNpy wrote, from a Node Buffer of a small file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smn-npy-'));
    const p = join(dir, 'w.npy');
    const data = new Float32Array([-0.155, -0.179, 3.5, 1e-3]);
    await writeNpy(p, { shape: [2, 2], dtype: 'float32', data });
    const back = await readNpy(p);
    expect(Array.from(back.data as Float32Array)).toEqual(Array.from(data));
  });
});

describe('atomicWriteFile', () => {
  it('replaces the file and leaves no temporary behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smn-core-'));
    const p = join(dir, 'a.txt');
    await atomicWriteFile(p, 'one');
    await atomicWriteFile(p, 'two');
    expect(await readFile(p, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['a.txt']);
  });
});

describe('SmnError', () => {
  it('carries a stable code and is recognised by brand', () => {
    const e = new SmnError('SMN_X', 'boom', { kind: 'usage' });
    expect(isSmnError(e)).toBe(true);
    expect(isSmnError(new Error('x'))).toBe(false);
    expect(e.kind).toBe('usage');
  });
});
