/** `listEntries`: every registry name with its files, sizes and whether they are cached (existence, not re-verified). */
import { stat } from 'node:fs/promises';
import { describe, isFixed } from './checksum.js';
import { alternativeOf, loadRegistry, resolveWith } from './registry.js';
import { settingsOf, type Settings } from './settings.js';
import type { EntryListing, HubOptions, ResolvedEntry, ResolvedFile } from './types.js';

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

function checksumOf(f: ResolvedFile): string {
  if (isFixed(f.checksum)) return describe(f.checksum);
  if (f.checksum?.algo === 'hf-lfs') return 'sha256 sent by the Hugging Face server (X-Linked-Etag)';
  return 'none published: sha256 recorded on first download';
}

/** The file's cache path, or that of the first alternative found in the cache. */
async function whereCached(s: Settings, e: ResolvedEntry, f: ResolvedFile): Promise<{ cachePath: string; cached: boolean }> {
  for (const v of [f, ...(f.alternatives ?? []).map((p) => alternativeOf(s, e, f, p))]) {
    if (await isFile(v.cachePath)) return { cachePath: v.cachePath, cached: true };
  }
  return { cachePath: f.cachePath, cached: false };
}

/** Every entry of the registry (SMN_REGISTRY included), in registry order. */
export async function listEntries(opts: HubOptions = {}): Promise<EntryListing[]> {
  const s = settingsOf(opts);
  const out: EntryListing[] = [];
  for (const raw of loadRegistry(s.env).values()) {
    const e = resolveWith(s, raw);
    const files = await Promise.all(
      e.files.map(async (f) => ({
        path: f.path,
        url: f.urls[0]!,
        ...(await whereCached(s, e, f)),
        ...(f.size === undefined ? {} : { size: f.size }),
        checksum: checksumOf(f),
      })),
    );
    const size = files.every((f) => f.size !== undefined) ? files.reduce((a, f) => a + f.size!, 0) : undefined;
    out.push({ name: e.name, kind: e.kind, description: e.description, size, cached: files.every((f) => f.cached), files });
  }
  return out;
}
