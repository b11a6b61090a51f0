/** `fetchDataset`: a dataset entry fetched into the cache, then unpacked into a data root in the readers' layout. */
import { constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { acquireLock, SmnError } from '@smn/core';
import { x as extractTar } from 'tar';
import { HubErrorCode } from './errors.js';
import { fetchFiles } from './fetch-file.js';
import { lookup } from './registry.js';
import { settingsOf } from './settings.js';
import type { DatasetResult, FetchOptions, RegistryEntry, UnpackSpec } from './types.js';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function allExist(paths: string[]): Promise<boolean> {
  return (await Promise.all(paths.map(exists))).every(Boolean);
}

/**
 * Fetches dataset `name` (its archive or files, through the cache) and unpacks it under `dataRoot` where
 * `loadDataset` of @smn/datasets looks (`cifar100` → `<dataRoot>/cifar100/cifar-100-python/`). Nothing is fetched
 * when the layout is already there; what exists is never overwritten. Unpacking goes through a temporary folder and
 * renames, so a killed unpack leaves no half-written layout; concurrent callers unpack once (a lock in the folder).
 */
export async function fetchDataset(name: string, dataRoot: string, opts: FetchOptions = {}): Promise<DatasetResult> {
  const entry = lookup(settingsOf(opts), name);
  const unpack = entry.unpack;
  if (entry.kind !== 'dataset' || !unpack) {
    throw new SmnError(HubErrorCode.Usage, `'${name}' is a ${entry.kind} entry, not a dataset; fetch it with fetchFile('${name}')`, {
      kind: 'usage',
      details: { name, kind: entry.kind },
    });
  }
  const dir = join(resolve(dataRoot), unpack.into);
  const paths = unpack.produces.map((p) => join(dir, p));
  if (await allExist(paths)) return { name, dir, paths, unpacked: false };
  await mkdir(dir, { recursive: true });
  const lockPath = join(dir, `.smn-fetch-${name.replace(/\//g, '_')}`);
  const lock = await acquireLock(lockPath, { wait: true, signal: opts.signal, label: `unpacking ${name}` });
  try {
    if (await allExist(paths)) return { name, dir, paths, unpacked: false };
    const files = await fetchFiles(entry, opts);
    if (unpack.format === 'tar.gz') await untar(entry, files[0]!, dir, unpack);
    else await placeFiles(entry, files, dir);
    const missing = [];
    for (const p of paths) if (!(await exists(p))) missing.push(p);
    if (missing.length) throw layoutError(entry, files[0]!, missing, []);
    return { name, dir, paths, unpacked: true };
  } finally {
    await lock.release();
  }
}

async function untar(entry: RegistryEntry, archive: string, dir: string, unpack: UnpackSpec): Promise<void> {
  const tmp = await mkdtemp(join(dir, '.smn-unpack-'));
  try {
    try {
      // tar strips absolute paths and refuses entries that climb out of cwd ('..').
      await extractTar({ file: archive, cwd: tmp, strict: true });
    } catch (err) {
      throw new SmnError(HubErrorCode.Archive, `cannot extract ${archive} ('${entry.name}'): ${(err as Error).message}; delete it and fetch again`, {
        cause: err,
        details: { name: entry.name, file: archive },
      });
    }
    const todo = [];
    for (const p of unpack.produces) {
      if (await exists(join(dir, p))) continue;
      if (!(await exists(join(tmp, p)))) throw layoutError(entry, archive, [p], await readdir(tmp));
      todo.push(p);
    }
    for (const p of todo) {
      await mkdir(dirname(join(dir, p)), { recursive: true });
      await rename(join(tmp, p), join(dir, p));
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Copies the cached files into `dir` (copy-on-write clones where the filesystem can), each through a rename. */
async function placeFiles(entry: RegistryEntry, files: string[], dir: string): Promise<void> {
  for (const [i, f] of entry.files.entries()) {
    const to = join(dir, f.path);
    if (await exists(to)) continue;
    await mkdir(dirname(to), { recursive: true });
    const tmp = `${to}.smn-${process.pid}.tmp`;
    await copyFile(files[i]!, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, to);
  }
}

function layoutError(entry: RegistryEntry, archive: string, missing: string[], top: string[]): SmnError {
  return new SmnError(
    HubErrorCode.Archive,
    `${archive} ('${entry.name}') does not hold ${missing.join(', ')}` +
      (top.length ? `; its top level has ${top.slice(0, 10).join(', ')}` : '') +
      `. The registry entry's unpack.produces does not fit this archive: fix the entry (SMN_REGISTRY) or the archive`,
    { details: { name: entry.name, file: archive, expected: missing, found: top } },
  );
}
