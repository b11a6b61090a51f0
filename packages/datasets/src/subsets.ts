/**
 * Train-set subsets of the reference (main.py, train(); docs/method.md#subsets): `dataset_subset` (`10p`, `1p`, `0.25p`, a count; `b10p`/`b500` class-balanced),
 * cluster subsets (cascade experts) and label subsets (`a:b:c`). All return dataset indices (Int32Array); apply the
 * same indices to the augmented and unaugmented views.
 */
import { SmnError, createRng, numpyGlobals, parseNpy, readZip, unpickle } from '@smn/core';
import type { ImageDataset } from './types.js';
import { DatasetErrorCode } from './errors.js';
import { readRegularFileSync } from './_regular-file.js';

/**
 * A `dataset_subset` spec without a dataset: `Np` (percent, 0 < N ≤ 100), `N` (a count ≥ 1), `b…` for class-balanced.
 * Throws `SMN_DATA_USAGE` (kind 'usage') for anything else, so configs can be checked before any data is read.
 */
export function parseSubsetSpec(spec: string): { value: number; percent: boolean; balanced: boolean } {
  const m = /^(b?)(\d+(?:\.\d+)?)(p?)$/.exec(spec.trim());
  if (!m) {
    throw new SmnError(DatasetErrorCode.Usage, `dataset_subset '${spec}' is not valid; expected '10p', '1p', '0.25p' (percent), a count like '500', or 'b10p'/'b500' (class-balanced)`, {
      kind: 'usage',
    });
  }
  const value = Number(m[2]);
  const percent = m[3] === 'p';
  if (percent && value > 100) {
    throw new SmnError(DatasetErrorCode.Usage, `dataset_subset '${spec}': a percentage must be ≤ 100`, { kind: 'usage' });
  }
  if (value <= 0 || (!percent && Math.trunc(value) < 1)) {
    throw new SmnError(DatasetErrorCode.Usage, `dataset_subset '${spec}' keeps no sample; use a percentage above 0 or a count of at least 1`, { kind: 'usage' });
  }
  return { value, percent, balanced: m[1] === 'b' };
}

/** Number of samples a subset spec keeps out of `length`: `Np` → int(length·N/100), `N` → N. */
export function subsetSize(spec: string, length: number): number {
  const { value: v, percent } = parseSubsetSpec(spec);
  const n = percent ? Math.trunc((length * v) / 100) : Math.trunc(v);
  if (n > length) {
    throw new SmnError(DatasetErrorCode.Usage, `dataset_subset '${spec}' asks for ${n} samples but the train split has ${length}`, {
      kind: 'usage',
    });
  }
  if (n < 1) {
    throw new SmnError(DatasetErrorCode.Usage, `dataset_subset '${spec}' keeps 0 of ${length} samples; use a larger percentage or count`, {
      kind: 'usage',
    });
  }
  return n;
}

/**
 * `dataset_subset` indices. Plain specs: the first n of a seeded permutation of `0..length-1` (the reference's
 * protocol; its stream is `torch.randperm` with seed 42, which is not reproduced bit-for-bit here: same protocol,
 * own RNG from `createRng(seed)`). `b…` specs: class-balanced, walking the same permutation and keeping a sample while
 * its class has fewer than its quota (n/C each, the remainder going to the lowest labels; a class with fewer samples
 * than its quota gives all it has). Indices come in permutation order.
 */
export function subsetIndices(ds: Pick<ImageDataset, 'length' | 'labels' | 'classes'>, spec: string, seed = 42): Int32Array {
  const n = subsetSize(spec, ds.length);
  const perm = createRng(seed).permutation(ds.length);
  if (!spec.trim().startsWith('b')) return perm.slice(0, n);
  const C = ds.classes.length;
  const quota = new Int32Array(C).fill(Math.floor(n / C));
  for (let c = 0; c < n - Math.floor(n / C) * C; c++) quota[c]!++;
  const out: number[] = [];
  for (let k = 0; k < perm.length && out.length < n; k++) {
    const i = perm[k]!;
    const l = ds.labels[i]!;
    if (quota[l]! > 0) {
      quota[l]!--;
      out.push(i);
    }
  }
  return Int32Array.from(out);
}

/** Label subset `a:b:c`: indices (ascending) whose label is one of the listed labels. */
export function labelSubset(ds: Pick<ImageDataset, 'labels' | 'classes'>, spec: string): Int32Array {
  const parts = spec.split(':').map((s) => s.trim());
  const keep = new Set<number>();
  for (const p of parts) {
    const v = Number(p);
    if (p === '' || !Number.isInteger(v) || v < 0 || v >= ds.classes.length) {
      throw new SmnError(
        DatasetErrorCode.Usage,
        `dataset_subset_labels '${spec}': '${p}' is not a label in [0, ${ds.classes.length}); expected labels separated by ':' like '0:3:7'`,
        { kind: 'usage' },
      );
    }
    keep.add(v);
  }
  const out: number[] = [];
  for (let i = 0; i < ds.labels.length; i++) if (keep.has(ds.labels[i]!)) out.push(i);
  if (out.length === 0) {
    // An empty train set would only fail epochs later (NaN losses, then a kNN shape error): say it now.
    throw new SmnError(DatasetErrorCode.Usage, `dataset_subset_labels '${spec}' keeps no sample: no train image has these labels; pick labels present in the split`, {
      kind: 'usage',
    });
  }
  return Int32Array.from(out);
}

function toNumbers(v: unknown, file: string): number[] {
  if (Array.isArray(v)) return v.map(Number);
  const a = v as { data?: ArrayLike<number | bigint>; shape?: number[] } | undefined;
  if (a && a.data && typeof a.data.length === 'number') return Array.from(a.data, (x) => Number(x));
  throw new SmnError(DatasetErrorCode.Corrupt, `${file}: expected a 1-D array of cluster ids, found ${typeof v}`, { details: { file } });
}

/**
 * Reads per-train-index cluster ids from a file: `.npy`, a `torch.save`d numpy array (`.pt`/`.pth`, zip format), or
 * a JSON array.
 */
export function readClusterIds(file: string): Int32Array {
  const b = readRegularFileSync(file, 'a clusters file');
  const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let values: number[];
  if (bytes[0] === 0x93 && bytes[1] === 0x4e) {
    const a = parseNpy(bytes, file);
    values = Array.from(a.data as ArrayLike<number | bigint>, (x) => Number(x));
  } else if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    const entries = readZip(bytes, file);
    const pkl = [...entries.values()].find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
    if (!pkl) {
      throw new SmnError(DatasetErrorCode.Corrupt, `${file}: zip archive without data.pkl; expected a torch.save'd numpy array`, { details: { file } });
    }
    values = toNumbers(unpickle(pkl.read(), { findClass: numpyGlobals(file), source: file }), file);
  } else {
    try {
      values = toNumbers(JSON.parse(Buffer.from(bytes).toString('utf8')), file);
    } catch (err) {
      throw new SmnError(DatasetErrorCode.Corrupt, `${file}: not a .npy, torch.save zip or JSON array of cluster ids (${(err as Error).message})`, {
        cause: err,
        details: { file },
      });
    }
  }
  return Int32Array.from(values);
}

/**
 * Cluster subset: indices (ascending) whose entry in the clusters array (a file for `readClusterIds`, or the
 * array) equals `clusterId`. `expectedLength` (the train split's size) is checked when given.
 */
export function clusterSubset(clusters: string | ArrayLike<number>, clusterId: number, expectedLength?: number): Int32Array {
  const ids = typeof clusters === 'string' ? readClusterIds(clusters) : Int32Array.from(clusters);
  const src = typeof clusters === 'string' ? clusters : 'clusters array';
  if (expectedLength !== undefined && ids.length !== expectedLength) {
    throw new SmnError(
      DatasetErrorCode.Usage,
      `${src} has ${ids.length} cluster ids but the train split has ${expectedLength} samples; expected one id per train index`,
      { kind: 'usage', details: { file: src, expected: expectedLength, found: ids.length } },
    );
  }
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] === clusterId) out.push(i);
  if (out.length === 0) {
    throw new SmnError(DatasetErrorCode.Usage, `${src}: no sample has cluster id ${clusterId} (ids found: ${[...new Set(ids)].sort((a, b) => a - b).join(', ')})`, {
      kind: 'usage',
      details: { file: src },
    });
  }
  return Int32Array.from(out);
}
