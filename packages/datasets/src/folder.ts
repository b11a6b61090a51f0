/**
 * Datasets of encoded image files, decoded lazily (bounded memory): image folders `root/<class>/*.jpg|png` and the
 * JSON split files of the reference (`{"train": [[relpath, label, classname], …], "val": …, "test": …}`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SmnError } from '@smn/core';
import { checkIndex, checkLabels } from './array-dataset.js';
import { decodeImage } from './decode.js';
import type { DatasetWarning, ImageDataset, SampleRef } from './types.js';
import { isRegularFile, readRegularFileSync } from './_regular-file.js';
import { warn } from './_warn.js';
import { DatasetErrorCode } from './errors.js';

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

/** Lists at most this many skipped entries in a warning (a folder of pipes would otherwise make a huge message). */
const SKIPPED_SHOWN = 5;

/** Images of one class folder: names with an image extension, sorted; non-regular files go to `skipped`. */
function listImages(dir: string, skipped: { file: string; kind: string }[]): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!IMAGE_EXTENSIONS.some((e) => f.toLowerCase().endsWith(e))) continue;
    const file = join(dir, f);
    // stat never opens the file, so a FIFO named x.png is seen here and never reaches the decoder.
    const r = isRegularFile(file);
    if (r.ok) out.push(file);
    else skipped.push({ file, kind: r.kind });
  }
  return out;
}

function skippedWarning(root: string, skipped: { file: string; kind: string }[]): DatasetWarning {
  const shown = skipped.slice(0, SKIPPED_SHOWN).map((s) => `${s.file} (${s.kind})`);
  const more = skipped.length > SKIPPED_SHOWN ? `, and ${skipped.length - SKIPPED_SHOWN} more` : '';
  return {
    code: DatasetErrorCode.NotRegular,
    message:
      `image folder ${root}: skipped ${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} that ` +
      `${skipped.length === 1 ? 'is' : 'are'} not a regular file: ${shown.join(', ')}${more}; replace ${skipped.length === 1 ? 'it with the image file or remove it' : 'them with the image files or remove them'}`,
    details: { folder: root, skipped },
  };
}

/**
 * `root/<class>/*.<image ext>`; classes sorted by name (torchvision `ImageFolder`), files sorted within a class.
 * Entries that are not regular files (FIFOs, sockets, devices, directories, broken links) are skipped and named in
 * one `SMN_DATA_NOT_REGULAR` warning through `opts.onWarning` (else a process warning): a folder is listed, not
 * named file by file, so a stray entry should not stop the run.
 */
export function imageFolderDataset(name: string, root: string, split: 'train' | 'test', opts: { onWarning?: (w: DatasetWarning) => void } = {}): ImageDataset {
  if (!isDir(root)) {
    throw new SmnError(DatasetErrorCode.NotFound, `image folder ${root} does not exist; expected ${root}/<class>/<image>.jpg|png`, {
      details: { file: root },
    });
  }
  const classes = readdirSync(root)
    .filter((d) => !d.startsWith('.') && isDir(join(root, d)))
    .sort();
  const files: string[] = [];
  const labels: number[] = [];
  const skipped: { file: string; kind: string }[] = [];
  classes.forEach((c, ci) => {
    for (const file of listImages(join(root, c), skipped)) {
      files.push(file);
      labels.push(ci);
    }
  });
  if (skipped.length) warn(skippedWarning(root, skipped), opts.onWarning);
  if (files.length === 0) {
    throw new SmnError(
      DatasetErrorCode.NotFound,
      `image folder ${root} has no images: expected ${root}/<class>/*{${IMAGE_EXTENSIONS.join(',')}}, found ${classes.length} class folders` +
        (skipped.length ? ` (${skipped.length} entries skipped: not regular files)` : ''),
      { details: { file: root } },
    );
  }
  return fileListDataset({ name, split, classes, files, labels: Int32Array.from(labels), source: root });
}

type Entry = [string, number, string];

function parseSplitFile(file: string): Record<string, Entry[]> {
  // A file the user's data root names: a FIFO here is an error, not a skip (the dataset cannot be read without it).
  const text = readRegularFileSync(file, 'a JSON split file').toString('utf8');
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${file} is not valid JSON (${(err as Error).message}); expected {"train": [[relpath, label, classname], …], "val": …, "test": …}`, {
      cause: err,
      details: { file },
    });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${file}: expected a JSON object with keys train/val/test, found ${Array.isArray(obj) ? 'an array' : typeof obj}`, {
      details: { file },
    });
  }
  const out: Record<string, Entry[]> = {};
  for (const [key, list] of Object.entries(obj as Record<string, unknown>)) {
    if (!Array.isArray(list)) {
      throw new SmnError(DatasetErrorCode.Corrupt, `${file}: key '${key}' should be a list of [relpath, label, classname], found ${typeof list}`, {
        details: { file, key },
      });
    }
    out[key] = list.map((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || !Number.isInteger(e[1]) || typeof e[2] !== 'string') {
        throw new SmnError(
          DatasetErrorCode.Corrupt,
          `${file}: entry ${key}[${i}] should be [relpath: string, label: int, classname: string], found ${JSON.stringify(e)}`,
          { details: { file, key, index: i } },
        );
      }
      return [e[0], e[1], e[2]] as Entry;
    });
  }
  if (!out.train || !out.test) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${file}: expected keys 'train' and 'test' (and optionally 'val'), found ${Object.keys(out).join(', ') || 'none'}`, {
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
      throw new SmnError(DatasetErrorCode.Corrupt, `${opts.file}: label ${label} is used for two class names '${prev}' and '${cls}'`, {
        details: { file: opts.file },
      });
    }
    names.set(label, cls);
  }
  const numClasses = names.size === 0 ? 0 : Math.max(...names.keys()) + 1;
  const classes = Array.from({ length: numClasses }, (_, i) => names.get(i) ?? `class_${i}`);
  const entries = opts.split === 'train' ? [...splits.train!, ...(splits.val ?? [])] : splits.test!;
  if (entries.length === 0) {
    throw new SmnError(DatasetErrorCode.Corrupt, `${opts.file}: split '${opts.split}' is empty`, { details: { file: opts.file } });
  }
  const probe = entries[0]![0];
  const dir = opts.imageDirs.find((d) => existsSync(join(d, probe)));
  if (dir === undefined) {
    throw new SmnError(
      DatasetErrorCode.NotFound,
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
