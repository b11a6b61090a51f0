import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng, encodeNpy } from '@smn/core';
import { clusterSubset, labelSubset, subsetIndices, subsetSize } from '../src/index.js';
import { tempDir } from './helpers.js';

const ds = (n: number, C: number) => ({
  length: n,
  labels: Int32Array.from({ length: n }, (_, i) => (i * 7) % C),
  classes: Array.from({ length: C }, (_, c) => `c${c}`),
});

describe('dataset_subset', () => {
  it('sizes: Np → int(len·N/100), N → N; invalid specs are usage errors', () => {
    expect(subsetSize('10p', 50000)).toBe(5000);
    expect(subsetSize('1p', 50000)).toBe(500);
    expect(subsetSize('0.25p', 50000)).toBe(125);
    expect(subsetSize('500', 50000)).toBe(500);
    expect(subsetSize('b10p', 1234)).toBe(123);
    expect(() => subsetSize('10%', 100)).toThrow(/not valid/);
    expect(() => subsetSize('200', 100)).toThrow(/asks for 200 samples but the train split has 100/);
    expect(() => subsetSize('0.1p', 100)).toThrow(/keeps 0 of 100/);
  });

  it('= the first n of the seeded permutation (seed 42 by default), distinct, reproducible', () => {
    const d = ds(1000, 10);
    const a = subsetIndices(d, '10p');
    expect(a.length).toBe(100);
    expect(Array.from(a)).toEqual(Array.from(createRng(42).permutation(1000).slice(0, 100)));
    expect(Array.from(subsetIndices(d, '10p'))).toEqual(Array.from(a));
    expect(new Set(a).size).toBe(100);
    expect(Array.from(subsetIndices(d, '10p', 7))).not.toEqual(Array.from(a));
    // A smaller subset is a prefix of a bigger one (same permutation).
    expect(Array.from(subsetIndices(d, '1p'))).toEqual(Array.from(a.slice(0, 10)));
  });

  it('class-balanced b-specs give n/C per class (remainder to the lowest labels)', () => {
    const d = ds(1000, 10);
    const b = subsetIndices(d, 'b10p');
    const counts = new Array(10).fill(0);
    for (const i of b) counts[d.labels[i]!]++;
    expect(counts).toEqual(new Array(10).fill(10));
    const r = subsetIndices(d, 'b23');
    const rc = new Array(10).fill(0);
    for (const i of r) rc[d.labels[i]!]++;
    expect(rc).toEqual([3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
    expect(new Set(r).size).toBe(23);
  });
});

describe('label and cluster subsets', () => {
  it("label subset 'a:b:c' keeps exactly those labels", () => {
    const d = ds(100, 10);
    const s = labelSubset(d, '1:4:9');
    expect(s.length).toBe(30);
    expect(Array.from(s).every((i) => [1, 4, 9].includes(d.labels[i]!))).toBe(true);
    expect(() => labelSubset(d, '1:x')).toThrow(/'x' is not a label/);
    expect(() => labelSubset(d, '10')).toThrow(/\[0, 10\)/);
    // A valid label no image has: named now, not an empty train set failing epochs later.
    const only = { labels: Int32Array.from([0, 1, 0]), classes: ['a', 'b', 'c'] };
    expect(() => labelSubset(only, '2')).toThrow(/dataset_subset_labels '2' keeps no sample/);
  });

  it('cluster subset from an array, a .npy file and a JSON file; length checked', () => {
    const ids = [0, 2, 1, 2, 2, 0];
    expect(Array.from(clusterSubset(ids, 2))).toEqual([1, 3, 4]);
    const dir = tempDir();
    const npy = join(dir, 'clusters.npy');
    writeFileSync(npy, encodeNpy({ shape: [6], dtype: 'int64', data: BigInt64Array.from(ids.map(BigInt)) }));
    expect(Array.from(clusterSubset(npy, 0, 6))).toEqual([0, 5]);
    const json = join(dir, 'clusters.json');
    writeFileSync(json, JSON.stringify(ids));
    expect(Array.from(clusterSubset(json, 1))).toEqual([2]);
    // torch.save of a numpy array (zip + pickle), from tools/fixtures/datasets/make_clusters_pt.py: ids = i·7 mod 5.
    const pt = new URL('./fixtures/clusters.pt', import.meta.url).pathname;
    const want = Array.from({ length: 40 }, (_, i) => i).filter((i) => (i * 7) % 5 === 3);
    expect(Array.from(clusterSubset(pt, 3, 40))).toEqual(want);
    expect(() => clusterSubset(npy, 0, 7)).toThrow(/6 cluster ids but the train split has 7/);
    expect(() => clusterSubset(ids, 5)).toThrow(/no sample has cluster id 5 \(ids found: 0, 1, 2\)/);
    writeFileSync(join(dir, 'bad.bin'), 'garbage');
    expect(() => clusterSubset(join(dir, 'bad.bin'), 0)).toThrow(/not a \.npy, torch\.save zip or JSON array/);
    expect(() => clusterSubset(join(dir, 'nope.npy'), 0)).toThrow(/cannot read a clusters file/);
  });
});
