/**
 * CIFAR-10 / CIFAR-100 readers: the official binary version (`data_batch_N.bin`, `test_batch.bin`; `train.bin`,
 * `test.bin` with coarse+fine labels, fine used) and the python version (pickled batches, what torchvision leaves
 * on disk), read with the restricted unpickler of @smn/core.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SmnError } from '@smn/core';
import { arrayDataset } from './array-dataset.js';
import type { ImageDataset } from './types.js';
import { DatasetErrorCode } from './errors.js';
import { readRegularFileSync } from './_regular-file.js';

const PIXELS = 3072;

/** CIFAR-10 class names (used when `batches.meta.txt` is absent). */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Layout of a CIFAR folder on disk. */
export interface CifarLayout {
  variant: 'cifar10' | 'cifar100';
  format: 'binary' | 'python';
  dir: string;
}

/** The split files of a layout (in order). */
export function cifarFiles(layout: CifarLayout, split: 'train' | 'test'): string[] {
  const { variant, format, dir } = layout;
  if (variant === 'cifar10') {
    const ext = format === 'binary' ? '.bin' : '';
    return split === 'train'
      ? [1, 2, 3, 4, 5].map((k) => join(dir, `data_batch_${k}${ext}`))
      : [join(dir, `test_batch${ext}`)];
  }
  return [join(dir, format === 'binary' ? `${split}.bin` : split)];
}

/** Detects which CIFAR layout a folder holds (checks the test file), or undefined. */
export function detectCifar(dir: string, variant: 'cifar10' | 'cifar100'): CifarLayout | undefined {
  for (const format of ['binary', 'python'] as const) {
    const layout = { variant, format, dir };
    if (existsSync(cifarFiles(layout, 'test')[0]!)) return layout;
  }
  return undefined;
}

function readLines(file: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readRegularFileSync(file, 'a class-names file')
    .toString('utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.length ? lines : undefined;
}

function readAll(file: string): Uint8Array {
  const b = readRegularFileSync(file, 'a CIFAR batch file');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Reads the binary version. CIFAR-10 records are `<label><3072 CHW bytes>`, CIFAR-100 records are
 * `<coarse><fine><3072 bytes>` (fine label used). Errors name the file when its size is not a whole number of records.
 */
export function cifarBinaryDataset(name: string, layout: CifarLayout, split: 'train' | 'test'): ImageDataset {
  const files = cifarFiles(layout, split);
  const labelBytes = layout.variant === 'cifar10' ? 1 : 2;
  const rec = labelBytes + PIXELS;
  const bufs: Uint8Array[] = [];
  const starts: number[] = [];
  let total = 0;
  for (const f of files) {
    const buf = readAll(f);
    if (buf.length === 0 || buf.length % rec !== 0) {
      throw new SmnError(
        DatasetErrorCode.Truncated,
        `${f}: size ${buf.length} bytes is not a whole number of ${layout.variant} records of ${rec} bytes ` +
          `(${Math.floor(buf.length / rec)} full records + ${buf.length % rec} bytes); the file is truncated or not a ${layout.variant} binary batch`,
        { details: { file: f, expected: `multiple of ${rec}`, found: buf.length } },
      );
    }
    starts.push(total);
    bufs.push(buf);
    total += buf.length / rec;
  }
  const labels = new Int32Array(total);
  let k = 0;
  for (const buf of bufs) for (let o = labelBytes - 1; o < buf.length; o += rec) labels[k++] = buf[o]!;
  const classes =
    layout.variant === 'cifar10'
      ? readLines(join(layout.dir, 'batches.meta.txt')) ?? CIFAR10_CLASSES
      : readLines(join(layout.dir, 'fine_label_names.txt')) ?? Array.from({ length: 100 }, (_, i) => `class_${i}`);
  return cifarArrayDataset({ name, split, classes, labels, layout, files, bufs, starts, stride: rec, skip: labelBytes });
}

/**
 * A CIFAR split held as the raw batch files: images are 3×32×32 CHW records, image `i` lives in batch `b` (the last
 * batch whose first index `starts[b]` is ≤ i) at byte `(i − starts[b])·stride + skip`. Shared by the binary and the
 * python readers, which differ only in record layout.
 */
export function cifarArrayDataset(o: {
  name: string;
  split: 'train' | 'test';
  classes: string[];
  labels: Int32Array;
  layout: CifarLayout;
  files: string[];
  bufs: Uint8Array[];
  starts: number[];
  stride: number;
  skip: number;
}): ImageDataset {
  const { layout, files, bufs, starts } = o;
  return arrayDataset({
    name: o.name,
    split: o.split,
    classes: o.classes,
    labels: o.labels,
    source: files.length === 1 ? files[0]! : `${layout.dir} (${files.map((f) => f.slice(layout.dir.length + 1)).join(', ')})`,
    height: 32,
    width: 32,
    channels: 3,
    layout: 'chw',
    locate: (i) => {
      let b = starts.length - 1;
      while (starts[b]! > i) b--;
      return { buf: bufs[b]!, offset: (i - starts[b]!) * o.stride + o.skip };
    },
  });
}

/** Size of a file or -1. */
export function fileSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return -1;
  }
}
