/**
 * Datasets of encoded image files, decoded lazily (bounded memory): image folders `root/<class>/*.jpg|png` and the
 * JSON split files of the reference (`{"train": [[relpath, label, classname], …], "val": …, "test": …}`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SmnError } from '@smn/core';
import { checkIndex, checkLabels } from './array-dataset.js';
import { decodeImage } from './decode.js';
import type { ImageDataset, SampleRef } from './types.js';
import { DATASET_ERRORS } from './errors.js';

/** File extensions an image folder lists. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif'];

/** An ImageDataset over a list of image files; nothing is decoded until `read`. */
export function fileListDataset(opts: {
  name: string;
  split: 'train' | 'test';
  classes: string[];
  files: string[];
  labels: Int32Array;
  source: string;
}): ImageDataset {
  checkLabels(opts.labels, opts.classes.length, opts.source);
  const { files } = opts;
  return {
    name: opts.name,
    split: opts.split,
    classes: opts.classes,
    length: files.length,
    labels: opts.labels,
    source: opts.source,
    read: async (i) => {
      checkIndex(i, files.length, opts.source);
      return decodeImage(files[i]!, `${files[i]} (index ${i} of ${opts.source})`);
    },
    ref: (i): SampleRef => {
      checkIndex(i, files.length, opts.source);
      return { kind: 'file', path: files[i]! };
    },
  };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `root/<class>/*.<image ext>`; classes sorted by name (torchvision `ImageFolder`), files sorted within a class. */
export function imageFolderDataset(name: string, root: string, split: 'train' | 'test'): ImageDataset {
  if (!isDir(root)) {
    throw new SmnError(DATASET_ERRORS.NOT_FOUND, `image folder ${root} does not exist; expected ${root}/<class>/<image>.jpg|png`, {
      details: { file: root },
    });
  }
  const classes = readdirSync(root)
    .filter((d) => !d.startsWith('.') && isDir(join(root, d)))
    .sort();
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((c, ci) => {
    const list = readdirSync(join(root, c))
      .filter((f) => IMAGE_EXTENSIONS.some((e) => f.toLowerCase().endsWith(e)))
      .sort();
    for (const f of list) {
      files.push(join(root, c, f));
      labels.push(ci);
    }
  });
  if (files.length === 0) {
    throw new SmnError(
      DATASET_ERRORS.NOT_FOUND,
      `image folder ${root} has no images: expected ${root}/<class>/*{${IMAGE_EXTENSIONS.join(',')}}, found ${classes.length} class folders`,
      { details: { file: root } },
    );
  }
  return fileListDataset({ name, split, classes, files, labels: Int32Array.from(labels), source: root });
}

type Entry = [string, number, string];

function parseSplitFile(file: string): Record<string, Entry[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SmnError(DATASET_ERRORS.NOT_FOUND, `cannot read split file ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
    });
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new SmnError(DATASET_ERRORS.CORRUPT, `${file} is not valid JSON (${(err as Error).message}); expected {"train": [[relpath, label, classname], …], "val": …, "test": …}`, {
      cause: err,
      details: { file },
    });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new SmnError(DATASET_ERRORS.CORRUPT, `${file}: expected a JSON object with keys train/val/test, found ${Array.isArray(obj) ? 'an array' : typeof obj}`, {
      details: { file },
    });
  }
  const out: Record<string, Entry[]> = {};
  for (const [key, list] of Object.entries(obj as Record<string, unknown>)) {
    if (!Array.isArray(list)) {
      throw new SmnError(DATASET_ERRORS.CORRUPT, `${file}: key '${key}' should be a list of [relpath, label, classname], found ${typeof list}`, {
        details: { file, key },
      });
    }
    out[key] = list.map((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Number.isInteger(e[1]) || typeof e[2] !== 'string') {
        throw new SmnError(
          DATASET_ERRORS.CORRUPT,
          `${file}: entry ${key}[${i}] should be [relpath: string, label: int, classname: string], found ${JSON.stringify(e)}`,
          { details: { file, key, index: i } },
        );
      }
      return [e[0], e[1], e[2]] as Entry;
    });
  }
  if (!out.train || !out.test) {
    throw new SmnError(DATASET_ERRORS.CORRUPT, `${file}: expected keys 'train' and 'test' (and optionally 'val'), found ${Object.keys(out).join(', ') || 'none'}`, {
      details: { file },
    });
  }
  return out;
}

/**
 * A JSON split dataset: `train` = train + val, `test` = test (as the reference). Class names come from all splits
 * (label → classname). `imageDirs` are tried in order for the first entry; the first one where it exists is used.
 */
export function jsonSplitDataset(opts: {
  name: string;
  file: string;
  split: 'train' | 'test';
  imageDirs: string[];
}): ImageDataset {
  const splits = parseSplitFile(opts.file);
  const all = [...(splits.train ?? []), ...(splits.val ?? []), ...(splits.test ?? [])];
  const names = new Map<number, string>();
  for (const [, label, cls] of all) {
    const prev = names.get(label);
    if (prev !== undefined && prev !== cls) {
      throw new SmnError(DATASET_ERRORS.CORRUPT, `${opts.file}: label ${label} is used for two class names '${prev}' and '${cls}'`, {
        details: { file: opts.file },
      });
    }
    names.set(label, cls);
  }
  const numClasses = names.size === 0 ? 0 : Math.max(...names.keys()) + 1;
  const classes = Array.from({ length: numClasses }, (_, i) => names.get(i) ?? `class_${i}`);
  const entries = opts.split === 'train' ? [...splits.train!, ...(splits.val ?? [])] : splits.test!;
  if (entries.length === 0) {
    throw new SmnError(DATASET_ERRORS.CORRUPT, `${opts.file}: split '${opts.split}' is empty`, { details: { file: opts.file } });
  }
  const probe = entries[0]![0];
  const dir = opts.imageDirs.find((d) => existsSync(join(d, probe)));
  if (dir === undefined) {
    throw new SmnError(
      DATASET_ERRORS.NOT_FOUND,
      `${opts.file}: image '${probe}' not found; tried ${opts.imageDirs.map((d) => join(d, probe)).join(', ')}`,
      { details: { file: opts.file, tried: opts.imageDirs } },
    );
  }
  return fileListDataset({
    name: opts.name,
    split: opts.split,
    classes,
    files: entries.map((e) => join(dir, e[0])),
    labels: Int32Array.from(entries, (e) => e[1]),
    source: opts.file,
  });
}
