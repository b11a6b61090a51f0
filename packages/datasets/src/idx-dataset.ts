/** IDX image/label file pairs (MNIST, Fashion-MNIST) as ImageDatasets (grayscale replicated to RGB). */
import { SmnError } from '@smn/core';
import { readIdx } from './idx.js';
import { arrayDataset, checkLabels } from './array-dataset.js';
import type { ImageDataset } from './types.js';
import { DatasetErrorCode } from './errors.js';

/** Fashion-MNIST class names (label order). */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
/** MNIST class names. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Reads an IDX images file `[N,H,W]` and labels file `[N]` into a dataset. */
export function idxDataset(opts: {
  name: string;
  split: 'train' | 'test';
  imagesFile: string;
  labelsFile: string;
  classes: string[];
}): ImageDataset {
  const img = readIdx(opts.imagesFile);
  const lab = readIdx(opts.labelsFile);
  if (img.dims.length !== 3) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${opts.imagesFile}: expected an IDX image file with 3 dims [N,H,W], found [${img.dims.join(',')}]`, {
      details: { file: opts.imagesFile },
    });
  }
  if (lab.dims.length !== 1) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${opts.labelsFile}: expected an IDX label file with 1 dim [N], found [${lab.dims.join(',')}]`, {
      details: { file: opts.labelsFile },
    });
  }
  const [n, h, w] = img.dims as [number, number, number];
  if (lab.dims[0] !== n) {
    throw new SmnError(
      DatasetErrorCode.Corrupt,
      `${opts.labelsFile} has ${lab.dims[0]} labels but ${opts.imagesFile} has ${n} images; expected the same count`,
      { details: { file: opts.labelsFile, expected: n, found: lab.dims[0] } },
    );
  }
  const labels = Int32Array.from(lab.data);
  checkLabels(labels, opts.classes.length, opts.labelsFile);
  return arrayDataset({
    name: opts.name,
    split: opts.split,
    classes: opts.classes,
    labels,
    source: opts.imagesFile,
    height: h,
    width: w,
    channels: 1,
    layout: 'hwc',
    locate: (i) => ({ buf: img.data, offset: i * h * w }),
  });
}
