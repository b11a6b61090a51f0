import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmnError } from '@smn/core';
import { parseYamlFile } from './yaml.js';
import { TrainErrorCode } from '../errors.js';

/** The folder of the shipped configs (`default`, `baseline`, `submask`, …). */
export const BUILTIN_CONFIG_DIR: string = fileURLToPath(new URL('../../configs/', import.meta.url));

export type Tree = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Refuses `configDirs` (`--config-dir`) that do not exist or are not folders: a mistyped folder would otherwise be
 * skipped silently and the shipped config of the same name used instead.
 */
function checkConfigDirs(configDirs: readonly string[]): void {
  for (const d of configDirs) {
    let why: string | undefined;
    try {
      if (!statSync(d).isDirectory()) why = 'is not a folder';
    } catch (err) {
      why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    }
    if (why) {
      throw new SmnError(TrainErrorCode.ConfigDirNotFound, `config folder ${d} (--config-dir) ${why}; expected a folder of NAME.yaml files`, {
        kind: 'usage',
        details: { dir: d },
      });
    }
  }
}

/**
 * Names of the configs found in the search path (`*.yaml`, `*.yml`), sorted: `configDirs`, then `builtinDirs`
 * (default: the shipped training configs). A `configDirs` entry that is not a folder is `SMN_CONFIG_DIR_NOT_FOUND`.
 */
export function listConfigNames(configDirs: readonly string[] = [], builtinDirs: readonly string[] = [BUILTIN_CONFIG_DIR]): string[] {
  checkConfigDirs(configDirs);
  const names = new Set<string>();
  for (const d of [...configDirs, ...builtinDirs]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      const m = /^(.*)\.ya?ml$/.exec(f);
      if (m) names.add(m[1]!);
    }
  }
  return [...names].sort();
}

function displayPath(file: string): string {
  const r = relative(process.cwd(), file);
  return r.startsWith('..') ? file : r;
}

function findConfig(name: string, dirs: readonly string[]): string | undefined {
  for (const d of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const f = join(d, name + ext);
      if (existsSync(f)) return f;
    }
  }
  return undefined;
}

// Parsed files by path, reused while size and mtime are unchanged (a --multirun resolves the same files many times).
const fileCache = new Map<string, { stamp: string; body: Tree }>();

function readYamlFile(file: string): Tree {
  const st = statSync(file);
  if (!st.isFile()) {
    // A FIFO named x.yaml would block the read forever; a folder would fail with EISDIR.
    throw new SmnError(TrainErrorCode.ConfigNotFound, `config ${displayPath(file)} is not a regular file; expected a YAML file`, { kind: 'usage', details: { file } });
  }
  const stamp = `${st.size}:${st.mtimeMs}`;
  const hit = fileCache.get(file);
  if (hit && hit.stamp === stamp) return structuredClone(hit.body);
  const body: unknown = parseYamlFile(readFileSync(file, 'utf8'), displayPath(file), file) ?? {};
  if (!isPlainObject(body)) {
    throw new SmnError(TrainErrorCode.ConfigParse, `${displayPath(file)}: expected a mapping of keys (key: value, section: {…}) at the top`, { kind: 'usage' });
  }
  fileCache.set(file, { stamp, body });
  return structuredClone(body);
}

/** The merged YAML of a config and its parents, with the file each leaf value came from. */
export interface ComposedConfig {
  tree: Tree;
  /** Dot path of a leaf → the file that set it last. */
  sources: Map<string, string>;
  /** The files read, parents first. */
  files: string[];
}

function recordSources(value: unknown, path: string, file: string, sources: Map<string, string>): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) recordSources(v, `${path}.${k}`, file, sources);
  } else {
    sources.set(path, file);
  }
}

/** Deep merge: objects merge key by key, everything else (lists included) replaces, as OmegaConf.merge. */
export function mergeInto(target: Tree, src: Tree, file: string, sources: Map<string, string>, prefix = ''): void {
  for (const [k, v] of Object.entries(src)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && isPlainObject(target[k])) {
      mergeInto(target[k] as Tree, v, file, sources, path);
    } else {
      for (const s of [...sources.keys()]) if (s === path || s.startsWith(`${path}.`)) sources.delete(s);
      target[k] = structuredClone(v);
      recordSources(v, path, file, sources);
    }
  }
}

function parents(doc: Tree, file: string): { list: string[]; selfIndex: number } {
  const list: string[] = [];
  let selfIndex = -1;
  const d = doc.defaults;
  const e = doc.extends;
  if (d !== undefined && e !== undefined) {
    throw new SmnError(TrainErrorCode.ConfigParse, `${displayPath(file)}: use either 'defaults:' or 'extends:', not both`, { kind: 'usage' });
  }
  const items = d ?? e;
  if (items === undefined) return { list, selfIndex };
  const arr = Array.isArray(items) ? items : [items];
  for (const it of arr) {
    if (it === '_self_') {
      selfIndex = list.length;
      continue;
    }
    if (typeof it !== 'string') {
      throw new SmnError(
        TrainErrorCode.ConfigParse,
        `${displayPath(file)}: '${d !== undefined ? 'defaults' : 'extends'}' lists config names (e.g. [baseline]); config groups and overrides inside it (${JSON.stringify(it)}) are not supported`,
        { kind: 'usage' },
      );
    }
    list.push(it.replace(/\.ya?ml$/, ''));
  }
  return { list, selfIndex };
}

/** A config to compose: by name (looked up in the search path) or a file given by its path. */
export type ConfigRef = { name: string } | { file: string };

/**
 * Reads config `name` from the search path (`configDirs` first, then `builtinDirs`, by default the shipped training
 * configs) and merges it over its parents (`defaults: [parent, …]` with an optional `_self_`, or `extends: parent`)
 * as Hydra composes them: parents in order, the file's own keys last (or where `_self_` stands).
 */
export function composeConfig(name: string, configDirs: readonly string[] = [], builtinDirs: readonly string[] = [BUILTIN_CONFIG_DIR]): ComposedConfig {
  return composeConfigs([{ name }], configDirs, builtinDirs);
}

/**
 * Composes several configs into one tree, each as {@link composeConfig} does, later ones merged over earlier ones
 * (a command's defaults under the config it was given). Parents of a file given by path are looked up by name.
 */
export function composeConfigs(refs: readonly ConfigRef[], configDirs: readonly string[] = [], builtinDirs: readonly string[] = [BUILTIN_CONFIG_DIR]): ComposedConfig {
  checkConfigDirs(configDirs);
  const dirs = [...configDirs, ...builtinDirs];
  const out: ComposedConfig = { tree: {}, sources: new Map(), files: [] };
  const notFound = (n: string, chain: string[]): SmnError => {
    const available = listConfigNames(configDirs, builtinDirs);
    const parent = chain.length ? ` (parent of '${chain[chain.length - 1]}')` : '';
    return new SmnError(
      TrainErrorCode.ConfigNotFound,
      `no config named '${n}'${parent} in ${dirs.map(displayPath).join(', ')}; available: ${available.join(', ')}`,
      { kind: 'usage', details: { name: n, available } },
    );
  };
  const visit = (file: string, n: string, chain: string[]): void => {
    if (chain.includes(n)) {
      throw new SmnError(TrainErrorCode.ConfigCycle, `config inheritance loops: ${[...chain, n].join(' → ')}`, { kind: 'usage' });
    }
    const body = readYamlFile(file);
    const { list, selfIndex } = parents(body, file);
    const own: Tree = { ...body };
    delete own.defaults;
    delete own.extends;
    const at = selfIndex < 0 ? list.length : selfIndex;
    list.forEach((p, i) => {
      if (i === at) mergeInto(out.tree, own, displayPath(file), out.sources);
      const parentFile = findConfig(p, dirs);
      if (!parentFile) throw notFound(p, [...chain, n]);
      visit(parentFile, p, [...chain, n]);
    });
    if (at >= list.length) mergeInto(out.tree, own, displayPath(file), out.sources);
    if (!out.files.includes(file)) out.files.push(file);
  };
  for (const ref of refs) {
    if ('file' in ref) {
      if (!existsSync(ref.file)) throw new SmnError(TrainErrorCode.ConfigNotFound, `no config file ${ref.file}`, { kind: 'usage', details: { file: ref.file } });
      visit(ref.file, displayPath(ref.file), []);
      continue;
    }
    const n = ref.name.replace(/\.ya?ml$/, '');
    const file = findConfig(n, dirs);
    if (!file) throw notFound(n, []);
    visit(file, n, []);
  }
  return out;
}

/** The keys a config file sets itself (without its parents), as dot path → value. For docs. */
export function ownKeys(name: string, configDirs: readonly string[] = []): { parents: string[]; keys: Map<string, unknown> } {
  const file = findConfig(name, [...configDirs, BUILTIN_CONFIG_DIR]);
  if (!file) throw new SmnError(TrainErrorCode.ConfigNotFound, `no config named '${name}'`, { kind: 'usage' });
  const body = readYamlFile(file);
  const { list } = parents(body, file);
  const keys = new Map<string, unknown>();
  const walk = (v: unknown, p: string) => {
    if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else keys.set(p, v);
  };
  const own = { ...body };
  delete own.defaults;
  delete own.extends;
  walk(own, '');
  return { parents: list, keys };
}
