/**
 * `fetchFile`: an entry's files in the cache, downloaded once (one process downloads, the others wait on its lock),
 * verified (published checksum, or the sha256 recorded on first use), and under their final names only once
 * verified.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { acquireLock, isSmnError, SmnError } from '@smn/core';
import { describe, found, hashFile, isFixed, matches, type Digests, type FixedChecksum } from './checksum.js';
import { download, type Downloaded } from './download.js';
import { HubErrorCode } from './errors.js';
import { getRecord, putRecord } from './manifest.js';
import { alternativeOf, lookup, resolveWith } from './registry.js';
import { settingsOf, type Settings } from './settings.js';
import type { FetchOptions, RegistryEntry, ResolvedEntry, ResolvedFile } from './types.js';

interface Ctx {
  s: Settings;
  entry: ResolvedEntry;
  opts: FetchOptions;
}

const keyOf = (c: Ctx, f: ResolvedFile): string => relative(c.s.cacheDir, f.cachePath).split('\\').join('/');
const identityOf = (f: ResolvedFile): string => f.registryUrls.join(' ');

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

/**
 * Fetches every file of a registry entry into the cache (SMN_CACHE) and returns its path: the file itself for a
 * one-file entry, else the entry's cache folder (a Hugging Face repo's files side by side, as loaders expect).
 * Cached files are verified on every call; offline (SMN_OFFLINE=1 / HF_HUB_OFFLINE=1) the network is never touched.
 *
 * ```ts
 * const file = await fetchFile('swav-resnet50', { onProgress: (p) => console.log(p.bytes, p.total) });
 * ```
 */
export async function fetchFile(nameOrEntry: string | RegistryEntry, opts: FetchOptions = {}): Promise<string> {
  const s = settingsOf(opts);
  const entry = resolveWith(s, typeof nameOrEntry === 'string' ? lookup(s, nameOrEntry) : nameOrEntry);
  const ctx: Ctx = { s, entry, opts };
  const paths: string[] = [];
  for (const f of entry.files) paths.push(await ensureFile(ctx, f));
  return entry.files.length === 1 ? paths[0]! : entry.cacheDir;
}

/** Fetches the entry's files and returns each one's cache path (in the entry's order). */
export async function fetchFiles(nameOrEntry: string | RegistryEntry, opts: FetchOptions = {}): Promise<string[]> {
  const s = settingsOf(opts);
  const entry = resolveWith(s, typeof nameOrEntry === 'string' ? lookup(s, nameOrEntry) : nameOrEntry);
  const out: string[] = [];
  for (const f of entry.files) out.push(await ensureFile({ s, entry, opts }, f));
  return out;
}

/** One file (or the first of its alternatives that exists) in the cache, verified; returns its path. */
async function ensureFile(c: Ctx, file: ResolvedFile): Promise<string> {
  const variants = [file, ...(file.alternatives ?? []).map((p) => alternativeOf(c.s, c.entry, file, p))];
  for (const v of variants) if (await cachedAndValid(c, v)) return v.cachePath;
  if (c.s.offline) throw offlineError(c, file);
  await mkdir(dirname(file.cachePath), { recursive: true });
  const lock = await acquireLock(file.cachePath, { wait: true, signal: c.opts.signal, label: `download of ${file.urls[0]}` });
  try {
    // Another process may have finished while this one waited for the lock.
    for (const v of variants) if (await cachedAndValid(c, v)) return v.cachePath;
    for (const [i, v] of variants.entries()) {
      try {
        await downloadVerified(c, v);
        return v.cachePath;
      } catch (err) {
        const notFound = isSmnError(err) && err.details.status === 404;
        if (!notFound || i === variants.length - 1) throw err;
      }
    }
    throw new Error('unreachable');
  } finally {
    await lock.release();
  }
}

/**
 * Whether `f` is in the cache and still what it was: its published checksum holds, or its sha256 equals the one
 * recorded on first use. A mismatch throws. A file without a record (placed by hand) is recorded now. A record of
 * another URL means the registry now names another file: not cached (offline, the file is used as it is).
 */
async function cachedAndValid(c: Ctx, f: ResolvedFile): Promise<boolean> {
  if (!(await isFile(f.cachePath))) return false;
  const fixed = isFixed(f.checksum) ? f.checksum : undefined;
  const [rec, d] = await Promise.all([getRecord(c.s.cacheDir, keyOf(c, f)), hashFile(f.cachePath, fixed?.algo === 'md5')]);
  const sameUrl = rec?.url === identityOf(f);
  if (fixed && !matches(fixed, d)) throw mismatchError(c, f, describe(fixed), found(fixed, d));
  if (!fixed && rec && sameUrl && rec.sha256 !== d.sha256) {
    throw mismatchError(c, f, `sha256 ${rec.sha256} (recorded ${rec.recorded}, file ${rec.how})`, d.sha256);
  }
  if (!fixed && rec && !sameUrl) return c.s.offline;
  if (!rec || !sameUrl) await record(c, f, d, 'found', fixed);
  return true;
}

async function record(c: Ctx, f: ResolvedFile, d: Digests, how: 'downloaded' | 'found', verified?: FixedChecksum | string): Promise<void> {
  const v = typeof verified === 'string' ? verified : verified ? describe(verified) : undefined;
  const recorded = new Date().toISOString();
  await putRecord(c.s.cacheDir, keyOf(c, f), { url: identityOf(f), sha256: d.sha256, size: d.size, recorded, how, verified: v });
}

/** Downloads `f` (its URLs in order) to `<path>.partial`, verifies it, then renames it to its final name. */
async function downloadVerified(c: Ctx, f: ResolvedFile): Promise<void> {
  const partial = `${f.cachePath}.partial`;
  const got = await downloadAny(c, f, partial);
  const fixed = isFixed(f.checksum) ? f.checksum : undefined;
  const d = await hashFile(partial, fixed?.algo === 'md5');
  const expected: FixedChecksum | undefined =
    fixed ??
    (f.checksum?.algo === 'hf-lfs' && got.linkedSha256
      ? { algo: 'sha256', value: got.linkedSha256, source: `X-Linked-Etag of ${got.url}, the Hugging Face LFS oid` }
      : undefined);
  if (expected && !matches(expected, d)) {
    await rm(partial, { force: true });
    await rm(`${partial}.json`, { force: true });
    throw new SmnError(
      HubErrorCode.Checksum,
      `${f.path} of '${c.entry.name}' downloaded from ${got.url} does not match its checksum: expected ${describe(expected)}, ` +
        `found ${found(expected, d)} (${d.size} bytes). The download was deleted; fetch again, and if it fails the same way ` +
        `the server (or SMN_MIRROR) serves another file`,
      { details: { name: c.entry.name, file: f.path, url: got.url, expected: expected.value, found: found(expected, d), size: d.size } },
    );
  }
  await record(c, f, d, 'downloaded', expected);
  await rename(partial, f.cachePath);
  await rm(`${partial}.json`, { force: true });
}

/** Tries the file's URLs in order; a 404 or an unreachable server moves on to the next one. */
async function downloadAny(c: Ctx, f: ResolvedFile, partial: string): Promise<Downloaded & { url: string }> {
  for (const [i, url] of f.urls.entries()) {
    try {
      const got = await download({
        url,
        partial,
        identity: identityOf(f),
        env: c.s.env,
        sizeHint: f.size,
        signal: c.opts.signal,
        retries: c.opts.retries ?? 3,
        stallMs: c.opts.stallMs ?? 60_000,
        hint: `Check the network (HTTPS_PROXY, SMN_MIRROR), or download it yourself and place it at ${f.cachePath}`,
        onProgress: c.opts.onProgress
          ? (bytes, total, rate, resumedFrom) => c.opts.onProgress!({ name: c.entry.name, file: f.path, url, bytes, total, rate, resumedFrom })
          : undefined,
      });
      return { ...got, url };
    } catch (err) {
      const moveOn = isSmnError(err) && (err.code === HubErrorCode.Network || err.details.status === 404);
      if (!moveOn || i === f.urls.length - 1) throw err;
    }
  }
  throw new Error('unreachable');
}

function offlineError(c: Ctx, f: ResolvedFile): SmnError {
  return new SmnError(
    HubErrorCode.OfflineMissing,
    `${f.path} of '${c.entry.name}' is not in the cache, and ${c.s.offlineBy} forbids downloading it. ` +
      `Download ${f.urls[0]} elsewhere and place it at ${f.cachePath}, or unset ${c.s.offlineBy}`,
    { details: { name: c.entry.name, file: f.path, url: f.urls[0], path: f.cachePath } },
  );
}

function mismatchError(c: Ctx, f: ResolvedFile, expected: string, foundValue: string): SmnError {
  return new SmnError(
    HubErrorCode.CacheMismatch,
    `the cached ${f.cachePath} ('${c.entry.name}') has changed since it was fetched: expected ${expected}, found ${foundValue}. ` +
      `Delete it and fetch again (from ${f.urls[0]})`,
    { details: { name: c.entry.name, file: f.cachePath, url: f.urls[0], expected, found: foundValue } },
  );
}
