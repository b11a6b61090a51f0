/**
 * The cache manifest (`<cache>/manifest.json`): for each cached file, the URL it came from and its sha256, so that
 * files without a published checksum are trusted on first use and verified on every later one. Updates are
 * read-modify-write under the manifest's lock, written atomically.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, atomicWriteFile } from '@smn/core';

export interface ManifestRecord {
  /** The registry URL(s) of the file, joined by spaces: its identity. */
  url: string;
  sha256: string;
  size: number;
  /** ISO time of the record. */
  recorded: string;
  /** `downloaded` by smn, or `found` in the cache (placed by hand, e.g. for offline use) and trusted then. */
  how: 'downloaded' | 'found';
  /** The published checksum it was verified against, if any. */
  verified?: string;
}

interface Manifest {
  version: 1;
  files: Record<string, ManifestRecord>;
}

const file = (cacheDir: string): string => join(cacheDir, 'manifest.json');

async function read(cacheDir: string): Promise<Manifest> {
  try {
    const m = JSON.parse(await readFile(file(cacheDir), 'utf8')) as Manifest;
    return m && typeof m.files === 'object' ? m : { version: 1, files: {} };
  } catch {
    // Absent, or damaged by hand: records are rebuilt on first use.
    return { version: 1, files: {} };
  }
}

/** The record of `key` (`<entry>/<path>`), if any. */
export async function getRecord(cacheDir: string, key: string): Promise<ManifestRecord | undefined> {
  return (await read(cacheDir)).files[key];
}

export async function putRecord(cacheDir: string, key: string, rec: ManifestRecord): Promise<void> {
  const lock = await acquireLock(file(cacheDir), { wait: true, label: 'cache manifest update' });
  try {
    const m = await read(cacheDir);
    m.files[key] = rec;
    await atomicWriteFile(file(cacheDir), `${JSON.stringify(m, null, 1)}\n`);
  } finally {
    await lock.release();
  }
}
