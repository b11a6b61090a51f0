/** In-memory uint8 datasets (CIFAR, IDX): images stay as the file's bytes; `read(i)` converts one to RGB HWC. */
import { SmnError } from '@smn/core';
import type { ImageDataset, RawImage, SampleRef } from './types.js';
import { DatasetErrorCode } from './errors.js';

/** Describes where image `i` lives inside one byte buffer. */
export interface ArrayDatasetInit {
  name: string;
  split: 'train' | 'test';
  classes: string[];
  labels: Int32Array;
  /** Source file(s), for errors. */
  source: string;
  height: number;
  width: number;
  /** 1 (grayscale, replicated to RGB) or 3. */
  channels: 1 | 3;
  /** 'chw' (CIFAR: planes R, G, B) or 'hwc'. */
  layout: 'chw' | 'hwc';
  /** Per image: the buffer and the byte offset of its first pixel. */
  locate(i: number): { buf: Uint8Array; offset: number };
}

/** Throws SMN_DATA_LABEL_RANGE naming the file and index of the first label outside [0, numClasses). */
export function checkLabels(labels: Int32Array, numClasses: number, source: string): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0 || l >= numClasses) {
      throw new SmnError(
        DatasetErrorCode.LabelRange,
        `${source}: label ${l} at index ${i} is out of range: expected 0 ≤ label < ${numClasses} classes`,
        { details: { file: source, index: i, found: l, expected: `[0, ${numClasses})` } },
      );
    }
  }
}

export function checkIndex(i: number, length: number, source: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) {
    throw new SmnError(DatasetErrorCode.Index, `${source}: sample index ${i} is out of range [0, ${length})`, {
      kind: 'usage',
      details: { file: source, index: i },
    });
  }
}

/** Builds an ImageDataset over in-memory uint8 images. */
export function arrayDataset(init: ArrayDatasetInit): ImageDataset {
  const { height: H, width: W, channels: C, layout } = init;
  checkLabels(init.labels, init.classes.length, init.source);
  const length = init.labels.length;
  const plane = H * W;
  const readSync = (i: number): RawImage => {
    checkIndex(i, length, init.source);
    const { buf, offset } = init.locate(i);
    const out = new Uint8Array(plane * 3);
    if (C === 1) {
      for (let p = 0; p < plane; p++) out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = buf[offset + p]!;
    } else if (layout === 'chw') {
      for (let p = 0; p < plane; p++) {
        out[p * 3] = buf[offset + p]!;
        out[p * 3 + 1] = buf[offset + plane + p]!;
        out[p * 3 + 2] = buf[offset + 2 * plane + p]!;
      }
    } else {
      out.set(buf.subarray(offset, offset + plane * 3));
    }
    return { data: out, height: H, width: W };
  };
  return {
    name: init.name,
    split: init.split,
    classes: init.classes,
    length,
    labels: init.labels,
    imageShape: [H, W, 3],
    source: init.source,
    read: async (i) => readSync(i),
    ref: (i): SampleRef => ({ kind: 'raw', image: readSync(i) }),
  };
}
