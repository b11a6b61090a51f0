/**
 * The registry: assets/registry.json shipped with the package, extended (entry by entry, later files winning) by the
 * JSON files named in SMN_REGISTRY (separated by the platform's path delimiter). Problems are collected over the
 * whole file and reported together with their dot paths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SmnError } from '@smn/core';
import { HubErrorCode } from './errors.js';
import { hfUrl, requestUrl, settingsOf, type Settings } from './settings.js';
import type { HubOptions, ReferenceName, RegistryEntry, RegistryFile, ResolvedEntry, ResolvedFile } from './types.js';

const BUILTIN = new URL('../assets/registry.json', import.meta.url);
const KINDS = new Set(['weights', 'dataset', 'hf-repo']);
const HEX = { sha256: 64, md5: 32 } as const;
/** Names and file paths become cache paths: plain segments only. */
const SAFE_PATH = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._@+-]+(\/[A-Za-z0-9._@+-]+)*$/;

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkFile(f: unknown, at: string, hf: boolean, problems: string[]): void {
  if (!isObj(f)) return void problems.push(`${at}: expected an object with path and urls`);
  if (typeof f.path !== 'string' || !SAFE_PATH.test(f.path)) problems.push(`${at}.path: expected a relative path without '..', got ${JSON.stringify(f.path)}`);
  if (!hf || f.urls !== undefined) {
    const urls = f.urls;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^https?:\/\/[^/]+\//.test(u))) {
      problems.push(`${at}.urls: expected a non-empty array of http(s) URLs, got ${JSON.stringify(urls)}`);
    }
  }
  if (f.alternatives !== undefined && !(Array.isArray(f.alternatives) && f.alternatives.every((p) => typeof p === 'string' && SAFE_PATH.test(p)))) {
    problems.push(`${at}.alternatives: expected an array of relative paths`);
  }
  if (f.size !== undefined && !(Number.isInteger(f.size) && (f.size as number) >= 0)) problems.push(`${at}.size: expected a byte count`);
  if (f.checksum !== undefined) checkChecksum(f.checksum, `${at}.checksum`, problems);
}

function checkChecksum(c: unknown, at: string, problems: string[]): void {
  if (!isObj(c)) return void problems.push(`${at}: expected { algo, value, source }`);
  if (c.algo === 'hf-lfs') return;
  const value = typeof c.value === 'string' ? c.value : '';
  const ok =
    c.algo === 'sha256' || c.algo === 'md5'
      ? new RegExp(`^[0-9a-f]{${HEX[c.algo]}}$`).test(value)
      : c.algo === 'sha256-prefix' && /^[0-9a-f]{6,64}$/.test(value);
  if (!ok) problems.push(`${at}: expected algo sha256 | md5 | sha256-prefix with a lower-case hex value of the right length, or algo hf-lfs; got ${JSON.stringify(c)}`);
  if (c.algo !== 'hf-lfs' && typeof c.source !== 'string') problems.push(`${at}.source: say where the checksum was published`);
}

function checkEntry(name: string, e: unknown, problems: string[]): void {
  const at = `entries.${name}`;
  if (!SAFE_PATH.test(name)) problems.push(`${at}: the name becomes a cache folder; use letters, digits, . _ - / only`);
  if (!isObj(e)) return void problems.push(`${at}: expected an object`);
  if (!KINDS.has(e.kind as string)) problems.push(`${at}.kind: expected weights | dataset | hf-repo, got ${JSON.stringify(e.kind)}`);
  if (typeof e.description !== 'string') problems.push(`${at}.description: expected a string`);
  const hf = e.kind === 'hf-repo';
  if (hf && (typeof e.repo !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(e.repo))) problems.push(`${at}.repo: expected owner/name`);
  if (!Array.isArray(e.files) || e.files.length === 0) problems.push(`${at}.files: expected a non-empty array`);
  else e.files.forEach((f, i) => checkFile(f, `${at}.files.${i}`, hf, problems));
  if (e.kind === 'dataset') checkUnpack(e.unpack, `${at}.unpack`, Array.isArray(e.files) ? e.files.length : 0, problems);
}

function checkUnpack(u: unknown, at: string, nFiles: number, problems: string[]): void {
  if (!isObj(u)) return void problems.push(`${at}: a dataset needs { format, into, produces }`);
  if (u.format !== 'tar.gz' && u.format !== 'files') problems.push(`${at}.format: expected tar.gz | files`);
  if (u.format === 'tar.gz' && nFiles !== 1) problems.push(`${at}.format: tar.gz unpacks exactly one file, the entry has ${nFiles}`);
  if (typeof u.into !== 'string' || (u.into !== '' && !SAFE_PATH.test(u.into))) problems.push(`${at}.into: expected a relative folder ('' for the data root)`);
  if (!Array.isArray(u.produces) || u.produces.length === 0 || !u.produces.every((p) => typeof p === 'string' && SAFE_PATH.test(p))) {
    problems.push(`${at}.produces: expected a non-empty array of relative paths`);
  }
}

function parseRegistry(text: string, source: string): Map<string, RegistryEntry> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SmnError(HubErrorCode.RegistryInvalid, `${source} is not valid JSON: ${(err as Error).message}`, { kind: 'usage', cause: err, details: { file: source } });
  }
  const problems: string[] = [];
  if (!isObj(raw) || !isObj(raw.entries)) problems.push('entries: expected { "version": 1, "entries": { "<name>": { … } } }');
  const entries = isObj(raw) && isObj(raw.entries) ? raw.entries : {};
  for (const [name, e] of Object.entries(entries)) checkEntry(name, e, problems);
  if (problems.length) {
    throw new SmnError(HubErrorCode.RegistryInvalid, `${source} has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, {
      kind: 'usage',
      details: { file: source, problems },
    });
  }
  return new Map(Object.entries(entries).map(([name, e]) => [name, { ...(e as unknown as RegistryEntry), name }]));
}

let builtin: Map<string, RegistryEntry> | undefined;

/** Every entry: the shipped ones, then SMN_REGISTRY's files in order (same name: the later one wins). */
export function loadRegistry(env: Record<string, string | undefined>): Map<string, RegistryEntry> {
  builtin ??= parseRegistry(readFileSync(BUILTIN, 'utf8'), 'the registry shipped with @smn/hub');
  const all = new Map(builtin);
  for (const file of (env.SMN_REGISTRY ?? '').split(delimiter).filter(Boolean)) {
    if (!existsSync(file)) {
      throw new SmnError(HubErrorCode.RegistryInvalid, `SMN_REGISTRY names ${file}, which does not exist; expected a JSON file like the package's assets/registry.json`, {
        kind: 'usage',
        details: { file },
      });
    }
    for (const [name, e] of parseRegistry(readFileSync(file, 'utf8'), file)) all.set(name, e);
  }
  return all;
}

function resolveFile(s: Settings, entry: RegistryEntry, f: RegistryFile, cacheDir: string): ResolvedFile {
  const registryUrls = f.urls ?? [hfUrl(entry.repo!, entry.revision ?? 'main', f.path)];
  return { ...f, registryUrls, urls: registryUrls.map((u) => requestUrl(s, u)), cachePath: join(cacheDir, f.path) };
}

/** An entry with its request URLs (after HF_ENDPOINT / SMN_MIRROR) and cache paths. */
export function resolveWith(s: Settings, entry: RegistryEntry): ResolvedEntry {
  const dir = join(s.cacheDir, entry.name);
  return { ...entry, cacheDir: dir, files: entry.files.map((f) => resolveFile(s, entry, f, dir)) };
}

/** Another path of a file (an `alternatives` item), resolved like the file itself. */
export function alternativeOf(s: Settings, entry: ResolvedEntry, file: ResolvedFile, path: string): ResolvedFile {
  return resolveFile(s, entry, { path, checksum: file.checksum }, entry.cacheDir);
}

function closest(name: string, names: string[]): string | undefined {
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return names.find((n) => n.toLowerCase().replace(/[^a-z0-9]/g, '').includes(key) || key.includes(n.toLowerCase().replace(/[^a-z0-9]/g, '')));
}

/** Looks up `name` (SMN_REGISTRY included). SMN_HUB_UNKNOWN_NAME, listing the known names, when absent. */
export function lookup(s: Settings, name: string): RegistryEntry {
  const all = loadRegistry(s.env);
  const e = all.get(name);
  if (e) return e;
  const names = [...all.keys()];
  const near = closest(name, names);
  throw new SmnError(
    HubErrorCode.UnknownName,
    `no registry entry named '${name}'${near ? ` (did you mean '${near}'?)` : ''}; known: ${names.join(', ')}. ` +
      `Add your own with SMN_REGISTRY=FILE (a JSON file like @smn/hub's assets/registry.json)`,
    { kind: 'usage', details: { name, known: names } },
  );
}

/** The entry `name` with its request URLs (after HF_ENDPOINT / SMN_MIRROR) and paths in the cache. */
export function resolveEntry(name: string, opts: HubOptions = {}): ResolvedEntry {
  const s = settingsOf(opts);
  return resolveWith(s, lookup(s, name));
}

const bareRepo = (r: string | undefined): string => (r ?? '').replace(/:.*$/, '');

/**
 * The registry name the reference's loader would fetch for `model.pret.source/repo/name`, or undefined:
 * `{ source: 'hub', repo: 'facebookresearch/swav:main', name: 'resnet50' }` → `swav-resnet50`.
 */
export function entryForReference(ref: ReferenceName, opts: HubOptions = {}): string | undefined {
  for (const e of loadRegistry(settingsOf(opts).env).values()) {
    const hit = e.reference?.some(
      (r) => r.source === ref.source && r.name === ref.name && (r.repo === undefined || bareRepo(r.repo) === bareRepo(ref.repo)),
    );
    if (hit) return e.name;
  }
  return undefined;
}

/** The dataset entry that provides `loadDataset(datasetName)`'s files (`multicrop_cifar100` → `cifar100`), or undefined. */
export function entryForDataset(datasetName: string, opts: HubOptions = {}): string | undefined {
  for (const e of loadRegistry(settingsOf(opts).env).values()) if (e.kind === 'dataset' && e.datasets?.includes(datasetName)) return e.name;
  return undefined;
}
