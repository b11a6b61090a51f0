/**
 * CIFAR-10/100 "python version" (pickled batches, the layout torchvision downloads: `cifar-10-batches-py/`,
 * `cifar-100-python/`), read with the restricted unpickler of @smn/core (no code runs; only numpy's array
 * reconstruction globals are accepted).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SmnError, numpyGlobals, unpickle, type PickledNdarray } from '@smn/core';
import { CIFAR10_CLASSES, cifarArrayDataset, cifarFiles, type CifarLayout } from './cifar.js';
import type { ImageDataset } from './types.js';
import { DatasetErrorCode } from './errors.js';
import { readRegularFileSync } from './_regular-file.js';

const PIXELS = 3072;

function keyName(k: unknown): string | undefined {
  if (typeof k === 'string') return k;
  if (k instanceof Uint8Array) return Buffer.from(k).toString('latin1');
  return undefined;
}

/** Reads a pickled dict from `file` as a Map with string keys. */
function loadPickleDict(file: string): Map<string, unknown> {
  const b = readRegularFileSync(file, 'a CIFAR python batch');
  const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let obj: unknown;
  try {
    obj = unpickle(bytes, { findClass: numpyGlobals(file), encoding: 'latin1', source: file });
  } catch (err) {
    throw new SmnError(
      DatasetErrorCode.Corrupt,
      `${file}: not a readable CIFAR python batch (a pickled dict with 'data' and labels): ${(err as Error).message}`,
      { cause: err, details: { file } },
    );
  }
  const out = new Map<string, unknown>();
  const entries: Iterable<[unknown, unknown]> | undefined =
    obj instanceof Map ? obj.entries() : typeof obj === 'object' && obj !== null ? Object.entries(obj) : undefined;
  if (!entries || Array.isArray(obj)) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${file}: expected a pickled dict, found ${Array.isArray(obj) ? 'a list' : typeof obj}`, {
      details: { file },
    });
  }
  for (const [k, v] of entries) {
    const name = keyName(k);
    if (name !== undefined) out.set(name, v);
  }
  return out;
}

function asLabels(v: unknown, file: string, key: string): Int32Array {
  if (Array.isArray(v)) return Int32Array.from(v, (x) => Number(x));
  const a = v as PickledNdarray | undefined;
  if (a && Array.isArray(a.shape) && a.data) return Int32Array.from(a.data as ArrayLike<number | bigint>, (x) => Number(x));
  throw new SmnError(DatasetErrorCode.Corrupt, `${file}: key '${key}' should be a list of labels, found ${typeof v}`, {
    details: { file, key },
  });
}

function asNames(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((x) => keyName(x) ?? String(x));
}

/** Reads the python version of CIFAR-10 (`data_batch_1..5`, `test_batch`) or CIFAR-100 (`train`, `test`). */
export function cifarPythonDataset(name: string, layout: CifarLayout, split: 'train' | 'test'): ImageDataset {
  const files = cifarFiles(layout, split);
  const labelKey = layout.variant === 'cifar10' ? 'labels' : 'fine_labels';
  const bufs: Uint8Array[] = [];
  const starts: number[] = [];
  const labelParts: Int32Array[] = [];
  let total = 0;
  for (const f of files) {
    const d = loadPickleDict(f);
    const data = d.get('data') as PickledNdarray | undefined;
    if (!data || !Array.isArray(data.shape) || data.dtype !== 'uint8' || data.shape.length !== 2 || data.shape[1] !== PIXELS) {
      throw new SmnError(
        DatasetErrorCode.Corrupt,
        `${f}: key 'data' should be a uint8 array of shape [N,${PIXELS}], found ${data && Array.isArray(data.shape) ? `${data.dtype} [${data.shape.join(',')}]` : typeof data}`,
        { details: { file: f, key: 'data' } },
      );
    }
    const labels = asLabels(d.get(labelKey), f, labelKey);
    const n = data.shape[0]!;
    if (labels.length !== n) {
      throw new SmnError(DatasetErrorCode.Corrupt, `${f}: ${labels.length} labels in '${labelKey}' but ${n} images in 'data'; expected the same count`, {
        details: { file: f, expected: n, found: labels.length },
      });
    }
    starts.push(total);
    bufs.push(data.data as Uint8Array);
    labelParts.push(labels);
    total += n;
  }
  const labels = new Int32Array(total);
  labelParts.forEach((p, k) => labels.set(p, starts[k]!));
  let classes: string[] | undefined;
  const metaFile = join(layout.dir, layout.variant === 'cifar10' ? 'batches.meta' : 'meta');
  if (existsSync(metaFile)) {
    const meta = loadPickleDict(metaFile);
    classes = asNames(meta.get(layout.variant === 'cifar10' ? 'label_names' : 'fine_label_names'));
  }
  classes ??= layout.variant === 'cifar10' ? CIFAR10_CLASSES : Array.from({ length: 100 }, (_, i) => `class_${i}`);
  return cifarArrayDataset({ name, split, classes, labels, layout, files, bufs, starts, stride: PIXELS, skip: 0 });
}
