/**
 * Dataset names of the reference (volt/dataset.py, get_dataset; docs/method.md#datasets) → readers and paths under a data root. `loadDataset(name, opts)` is the
 * entry point; `datasetNames()` lists what it accepts.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmnError } from '@smn/core';
import { cifarBinaryDataset, detectCifar, type CifarLayout } from './cifar.js';
import { cifarPythonDataset } from './cifar-python.js';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES, idxDataset } from './idx-dataset.js';
import { imageFolderDataset, jsonSplitDataset } from './folder.js';
import type { ImageDataset, LoadOptions } from './types.js';
import { DatasetErrorCode } from './errors.js';

/** Where Debian's `dataset-fashion-mnist` installs the files. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
/** The embedded Fashion-MNIST subset shipped with this package (2,000 train + 1,000 test; see assets/…/LICENSE.md). */
export const EMBEDDED_DIR = fileURLToPath(new URL('../assets/fashion-mnist-embedded/', import.meta.url));

/** JSON-split datasets of the reference (the CoOp split files): folder under the data root, split file, image folder candidates. */
const JSON_DATASETS: Record<string, { dir: string; file: string; images: string[] }> = {
  flowers: { dir: 'flowers102', file: 'split_zhou_OxfordFlowers.json', images: ['images', 'jpg'] },
  sun397: { dir: 'sun397', file: 'split_zhou_SUN397.json', images: ['images', 'SUN397'] },
  dtd: { dir: 'dtd', file: 'split_zhou_DescribableTextures.json', images: ['images', 'dtd/images'] },
  eurosat: { dir: 'eurosat', file: 'split_zhou_EuroSAT.json', images: ['images', '2750'] },
  food101: { dir: 'food101', file: 'split_zhou_Food101.json', images: ['images', 'food-101/images'] },
  oxfordpets: { dir: 'oxford_pets', file: 'split_zhou_OxfordPets.json', images: ['images'] },
  ucf101: { dir: 'ucf101', file: 'split_zhou_UCF101.json', images: ['images', 'UCF-101-midframes'] },
  resisc45: { dir: 'resisc45', file: 'resisc45_json.json', images: ['images', 'NWPU-RESISC45'] },
};

const CIFAR_NAMES = ['cifar10pgn', 'cifar10', 'cifar100', 'multicrop_cifar10', 'multicrop_cifar100'];
const IDX_NAMES = ['fashion_mnist', 'mnist', 'embedded'];
const UNSUPPORTED: Record<string, string> = {
  svhn: 'the reference crashes on it (no class_to_idx in volt/dataset.py, get_dataset)',
  clevr_count: 'the reference crashes on it (no class_to_idx in volt/dataset.py, get_dataset)',
  inat: 'iNatLoc500 metadata files are not supported by this reader yet',
  multicrop_inat: 'iNatLoc500 metadata files are not supported by this reader yet',
};

/** Every name `loadDataset` accepts (plus `folder:<path>`). */
export function datasetNames(): string[] {
  const json = Object.keys(JSON_DATASETS);
  return [...CIFAR_NAMES, ...IDX_NAMES, ...json, ...json.filter((n) => n !== 'food101' && n !== 'resisc45').map((n) => `multicrop_${n}`)];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function notFound(name: string, tried: string[], hint: string): SmnError {
  return new SmnError(
    DatasetErrorCode.NotFound,
    `dataset '${name}' not found; tried:\n  ${tried.join('\n  ')}\n${hint}`,
    { details: { dataset: name, tried } },
  );
}

function loadCifar(name: string, root: string, split: 'train' | 'test'): ImageDataset {
  const variant = name.endsWith('100') ? 'cifar100' : 'cifar10';
  const sub = variant === 'cifar10' ? ['cifar-10-batches-bin', 'cifar-10-batches-py'] : ['cifar-100-binary', 'cifar-100-python'];
  const folder = join(root, variant);
  const pgn = [...sub.map((s) => join(folder, s)), folder];
  const torchvisionRoot = [...sub.map((s) => join(root, s)), root];
  // cifar10pgn/cifar100 live in data/<variant>/, multicrop_* at the torchvision root data/ (docs/method.md#datasets).
  const dirs = name.startsWith('multicrop_') ? [...torchvisionRoot, ...pgn] : [...pgn, ...torchvisionRoot];
  let layout: CifarLayout | undefined;
  for (const d of dirs) {
    layout = detectCifar(d, variant);
    if (layout) break;
  }
  if (!layout) {
    const files = variant === 'cifar10' ? 'test_batch.bin (binary) or test_batch (python)' : 'test.bin (binary) or test (python)';
    throw notFound(
      name,
      dirs,
      `expected the official ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} binary or python version (${files}) in one of these folders; ` +
        `download it from https://www.cs.toronto.edu/~kriz/cifar.html and extract it under --data-root (now '${root}')`,
    );
  }
  return layout.format === 'binary' ? cifarBinaryDataset(name, layout, split) : cifarPythonDataset(name, layout, split);
}

function findIdxPair(dirs: string[], split: 'train' | 'test'): { images: string; labels: string } | undefined {
  const prefix = split === 'train' ? 'train' : 't10k';
  for (const d of dirs) {
    for (const ext of ['.gz', '']) {
      const images = join(d, `${prefix}-images-idx3-ubyte${ext}`);
      const labels = join(d, `${prefix}-labels-idx1-ubyte${ext}`);
      if (existsSync(images) && existsSync(labels)) return { images, labels };
    }
  }
  return undefined;
}

function loadIdxNamed(name: string, root: string, split: 'train' | 'test'): ImageDataset {
  let dirs: string[];
  let classes: string[];
  if (name === 'embedded') {
    dirs = [EMBEDDED_DIR];
    classes = FASHION_MNIST_CLASSES;
  } else if (name === 'fashion_mnist') {
    dirs = [join(root, 'fashion_mnist'), join(root, 'fashion-mnist'), join(root, 'FashionMNIST', 'raw'), DEBIAN_FASHION_MNIST];
    classes = FASHION_MNIST_CLASSES;
  } else {
    dirs = [join(root, 'mnist'), join(root, 'MNIST', 'raw')];
    classes = MNIST_CLASSES;
  }
  const pair = findIdxPair(dirs, split);
  if (!pair) {
    const prefix = split === 'train' ? 'train' : 't10k';
    throw notFound(
      name,
      dirs,
      `expected ${prefix}-images-idx3-ubyte[.gz] and ${prefix}-labels-idx1-ubyte[.gz] in one of these folders` +
        (name === 'fashion_mnist' ? ' (on Debian: apt-get install dataset-fashion-mnist)' : ''),
    );
  }
  return idxDataset({ name, split, imagesFile: pair.images, labelsFile: pair.labels, classes });
}

function loadFolder(name: string, path: string, split: 'train' | 'test', onWarning: LoadOptions['onWarning']): ImageDataset {
  const candidates = split === 'train' ? ['train'] : ['test', 'val'];
  const tried = candidates.map((c) => join(path, c));
  const dir = tried.find(isDir);
  if (!dir) throw notFound(name, tried, `expected ${path}/{train,test}/<class>/<image>.jpg|png`);
  return imageFolderDataset(name, dir, split, { onWarning });
}

/**
 * Loads one split of a dataset by the reference's name (docs/method.md#datasets): `cifar10pgn`, `cifar100`, `multicrop_cifar100`,
 * `flowers`, `dtd`, …, `fashion_mnist`, `mnist`, `embedded` (the shipped Fashion-MNIST subset, no data root
 * needed), or `folder:<path>` for `<path>/{train,test}/<class>/*.jpg|png`. `multicrop_*` names read the same sources
 * (the multicrop part is the transform preset). Errors list every path tried.
 */
export async function loadDataset(name: string, opts: LoadOptions): Promise<ImageDataset> {
  const split = opts.split;
  if (split !== 'train' && split !== 'test') {
    throw new SmnError(DatasetErrorCode.Usage, `split must be 'train' or 'test', got '${String(split)}'`, { kind: 'usage' });
  }
  const root = resolve(opts.dataRoot ?? 'data');
  if (name.startsWith('folder:')) return loadFolder(name, resolve(name.slice('folder:'.length)), split, opts.onWarning);
  if (CIFAR_NAMES.includes(name)) return loadCifar(name, root, split);
  if (IDX_NAMES.includes(name)) return loadIdxNamed(name, root, split);
  const base = name.startsWith('multicrop_') ? name.slice('multicrop_'.length) : name;
  const json = JSON_DATASETS[base];
  if (json) {
    const dir = join(root, json.dir);
    const file = join(dir, json.file);
    if (!existsSync(file)) {
      throw notFound(name, [file], `expected the split file ${json.file} and the images under ${dir}/ (the reference's CoOp split layout)`);
    }
    return jsonSplitDataset({ name, file, split, imageDirs: [...json.images.map((d) => join(dir, d)), dir] });
  }
  const why = UNSUPPORTED[name];
  throw new SmnError(
    DatasetErrorCode.Usage,
    why
      ? `dataset '${name}' is not supported: ${why}`
      : `unknown dataset '${name}'; expected one of ${datasetNames().join(', ')}, or folder:<path>`,
    { kind: 'usage', details: { dataset: name } },
  );
}
