import type { z } from 'zod';
import { SmnError } from '@smn/core';
import { composeConfigs, isPlainObject, type ConfigRef, type Tree } from './compose.js';
import { ignoredReason } from './ignored.js';
import { configKeys, configSections, describeType, nearestKeys, type KeyInfo } from './keys.js';
import { expandSweeps, parseOverride, type ParsedOverride } from './overrides.js';
import type { SmnConfig } from './schema.js';
import { TRAIN_CONFIG, type ConfigSpec } from './spec.js';
import { parseYamlFile } from './yaml.js';
import { TrainErrorCode } from '../errors.js';

/** Options of {@link resolveConfig} and {@link resolveConfigWith}: exactly one of `configName` and `configFile`. */
export interface ResolveOptions {
  /** `--config-name`: default, baseline, submask, submask_lin, submask_clip, submask_clip_p, baseline_clip, or a file name in `configDirs`. */
  configName?: string;
  /** A config file given by its path instead of a name; its parents are looked up by name in the search path. */
  configFile?: string;
  /** Hydra overrides, applied in order (`dl.lr=0.1`, `+a.b=1`, `++a.b=1`, `~a.b`). Sweeps must be expanded first ({@link expandSweeps}). */
  overrides?: readonly string[];
  /** Extra folders searched before the shipped configs (`--config-dir`). */
  configDirs?: readonly string[];
}

/** A resolved config and what happened on the way. */
export interface ResolvedConfig<T = SmnConfig> {
  config: T;
  /** The overrides as applied (trimmed), for the run's overrides.yaml. */
  overrides: string[];
  /** Keys of the reference that smn accepts and ignores (the spec's `ignoredKeys`, `hydra.*`), in order of appearance. */
  ignored: string[];
  /** Non-fatal notes (aliases used). */
  warnings: string[];
  /** The config files read, parents first. */
  files: string[];
}

/** One problem of a config, reported together with all the others. */
export interface ConfigProblem {
  /** Dot path of the key. */
  path: string;
  message: string;
  /** The file or override that set the value. */
  source?: string;
  /** Nearest valid keys (unknown keys). */
  suggestions?: string[];
}

function hasPath(tree: Tree, path: string): boolean {
  let cur: unknown = tree;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur) || !(part in cur)) return false;
    cur = cur[part];
  }
  return true;
}

export function getPath(tree: Tree, path: string): unknown {
  let cur: unknown = tree;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** Sets a value; returns an error text when a parent on the way is not a section. */
function setPath(tree: Tree, path: string, value: unknown): string | undefined {
  const parts = path.split('.');
  let cur: Tree = tree;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (cur[p] === undefined) cur[p] = {};
    const next = cur[p];
    if (!isPlainObject(next)) return `${parts.slice(0, i + 1).join('.')} is a value (${fmtValue(next)}), not a section`;
    cur = next;
  }
  cur[parts[parts.length - 1]!] = value;
  return undefined;
}

function fmtValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'nothing';
  return JSON.stringify(v) ?? String(v);
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', 'y', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', 'n', '0']);

/**
 * Converts a value to the key's type where OmegaConf would: 0/1 and yes/no → booleans (users write main.train=0),
 * numbers → strings for string keys (keeping the text as written: dataset_subset=10 → '10'), numeric strings →
 * numbers. Anything else is returned unchanged for the schema to judge.
 */
export function coerceValue(info: KeyInfo, value: unknown, raw?: string): unknown {
  if (value === null || value === undefined) return value;
  const scalar = (kind: 'string' | 'int' | 'float' | 'bool' | 'enum', v: unknown, r?: string): unknown => {
    if (kind === 'bool') {
      if (v === 0 || v === 1) return v === 1;
      if (typeof v === 'string') {
        const w = v.trim().toLowerCase();
        if (TRUE_WORDS.has(w)) return true;
        if (FALSE_WORDS.has(w)) return false;
      }
      return v;
    }
    if (kind === 'string' || (kind === 'enum' && typeof info.values?.[0] === 'string')) {
      if (typeof v === 'number' || typeof v === 'boolean') return r ?? String(v);
      return v;
    }
    if (kind === 'int' || kind === 'float') {
      if (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
      return v;
    }
    return v;
  };
  if (info.kind === 'list' || info.kind === 'tuple') {
    if (!Array.isArray(value)) return value;
    return value.map((x) => scalar(info.items ?? 'string', x));
  }
  return scalar(info.kind, value, raw);
}

function expectedText(info: KeyInfo): string {
  return describeType(info).replace(/\\\|/g, '|');
}

/** Formats problems as one message, one line per problem with its dot path. */
export function formatProblems(header: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => {
    let s = `  - ${p.path}: ${p.message}`;
    if (p.source) s += ` (from ${p.source})`;
    if (p.suggestions?.length) {
      const sug = p.suggestions;
      s += `; did you mean ${sug.length > 1 ? `${sug.slice(0, -1).join(', ')} or ${sug[sug.length - 1]}` : sug[0]}?`;
    }
    return s;
  });
  return `${header} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`;
}

/** What resolving one config collects on the way. */
interface Resolution {
  spec: ConfigSpec<unknown>;
  tree: Tree;
  /** Dot path → the file or override that set it. */
  sources: Map<string, string>;
  ignored: string[];
  warnings: string[];
  problems: ConfigProblem[];
}

/** Removes ignored keys (recording them) and renames aliases, recursively, in a composed tree. */
function normalizeTree(r: Resolution, node: Tree = r.tree, prefix = ''): void {
  for (const k of Object.keys(node)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (ignoredReason(path, r.spec.ignoredKeys) !== undefined) {
      delete node[k];
      r.ignored.push(path);
      continue;
    }
    const alias = aliasOf(r.spec, path);
    if (alias) {
      const v = node[k];
      delete node[k];
      setPath(r.tree, alias, v);
      r.warnings.push(`${path} (${r.sources.get(path) ?? 'config'}) is the reference's name of ${alias}; using it as ${alias}`);
      r.sources.set(alias, r.sources.get(path) ?? '');
      continue;
    }
    const v = node[k];
    if (isPlainObject(v)) normalizeTree(r, v, path);
  }
}

function aliasOf(spec: ConfigSpec<unknown>, key: string): string | undefined {
  return Object.hasOwn(spec.aliases, key) ? spec.aliases[key] : undefined;
}

/** The problem of a parsed override that cannot apply to the tree as it is (a key of the wrong kind), if any. */
function overrideProblem(r: Resolution, o: ParsedOverride, key: string, src: string): ConfigProblem | undefined {
  if (key.includes('/')) return { path: key, message: 'config groups (a/b=c) do not exist in smn: every config is one file; set keys instead', source: src };
  if (o.sweep) {
    return {
      path: key,
      message: `ambiguous value ${o.value!.raw}: to sweep over it add --multirun; to use it as a list write ${key}=[${o.sweep.join(',')}]; to use it as a string quote it: ${key}='${o.value!.raw}'`,
      source: src,
    };
  }
  if (!configKeys(r.spec.schema).has(key) && !configSections(r.spec.schema).has(key)) {
    return { path: key, message: 'unknown key', source: src, suggestions: nearestKeys(key, 3, r.spec.schema) };
  }
  if (o.op === 'add' && hasPath(r.tree, key)) {
    return {
      path: key,
      message: `cannot add: the config already has ${key} (${fmtValue(getPath(r.tree, key))}); write ${key}=… to override it or ++${key}=… to add or override`,
      source: src,
    };
  }
  return undefined;
}

/** `~key` / `~key=value`: only keys that may be null can be deleted, and then read as null (Hydra drops them). */
function deleteKey(r: Resolution, o: ParsedOverride, key: string, src: string): ConfigProblem | undefined {
  const info = configKeys(r.spec.schema).get(key);
  if (!hasPath(r.tree, key)) return { path: key, message: `cannot delete: ${key} is not in the config`, source: src };
  const cur = getPath(r.tree, key);
  if (o.value !== undefined && info) {
    const want = coerceValue(info, o.value.value, o.value.raw);
    if (JSON.stringify(want) !== JSON.stringify(cur)) return { path: key, message: `cannot delete: ${key} is ${fmtValue(cur)}, not ${fmtValue(want)}`, source: src };
  }
  if (!info?.nullable) {
    return {
      path: key,
      message: `cannot delete: ${key} is required (${info ? expectedText(info) : 'a section'}); set it to another value instead`,
      source: src,
    };
  }
  setPath(r.tree, key, null);
  r.sources.set(key, src);
  return undefined;
}

/** Applies one override to the tree, or records why it cannot apply. */
function applyOverride(r: Resolution, text: string): void {
  let o: ParsedOverride;
  try {
    o = parseOverride(text);
  } catch (e) {
    r.problems.push({ path: text.replace(/^[+~]+/, '').split('=')[0]!.trim() || text, message: (e as Error).message });
    return;
  }
  const src = `override '${o.text}'`;
  let key = o.key;
  if (ignoredReason(key, r.spec.ignoredKeys) !== undefined) {
    if (!r.ignored.includes(key)) r.ignored.push(key);
    return;
  }
  const alias = aliasOf(r.spec, key);
  if (alias) {
    r.warnings.push(`${key} is the reference's name of ${alias}; using ${alias}`);
    key = alias;
  }
  const problem = overrideProblem(r, o, key, src) ?? (o.op === 'delete' ? deleteKey(r, o, key, src) : undefined);
  if (problem) r.problems.push(problem);
  if (problem || o.op === 'delete') return;
  const info = configKeys(r.spec.schema).get(key);
  const err = setPath(r.tree, key, info ? coerceValue(info, o.value!.value, o.value!.raw) : o.value!.value);
  if (err) {
    r.problems.push({ path: key, message: err, source: src });
    return;
  }
  for (const s of [...r.sources.keys()]) if (s.startsWith(`${key}.`)) r.sources.delete(s);
  r.sources.set(key, src);
}

/** The config to start from and how messages name it. */
function startOf(spec: ConfigSpec<unknown>, options: ResolveOptions): { refs: ConfigRef[]; header: string } {
  const { configName, configFile } = options;
  if ((configName === undefined) === (configFile === undefined)) {
    throw new SmnError(TrainErrorCode.Usage, `give exactly one config: a name (--config-name NAME) or a file (--config FILE.yaml)`, { kind: 'usage' });
  }
  const own: ConfigRef = configFile !== undefined ? { file: configFile } : { name: configName! };
  const refs = spec.defaultsUnderEvery ? [{ name: spec.defaults }, own] : [own];
  return { refs, header: configFile !== undefined ? `${spec.label} ${configFile}` : `${spec.label} '${configName}'` };
}

/**
 * Resolves a config of the kind `spec` describes: the named config (or file) over its parents (and over
 * `spec.defaults` when `defaultsUnderEvery`), then the overrides in order, as Hydra composes the reference's
 * configs. Keys of the reference that mean nothing in smn are accepted and listed in `ignored`. Every problem
 * (unknown keys with the nearest valid ones, wrong types, bad values, unparsable overrides, sweeps without
 * --multirun, the spec's rules across keys) is collected and thrown at once as an SmnError of kind 'usage' (code
 * SMN_CONFIG_INVALID, `details.problems`: ConfigProblem[]).
 */
export function resolveConfigWith<T>(spec: ConfigSpec<T>, options: ResolveOptions): ResolvedConfig<T> {
  const overrides = (options.overrides ?? []).map((o) => o.trim());
  const { refs, header } = startOf(spec as ConfigSpec<unknown>, options);
  const composed = composeConfigs(refs, options.configDirs ?? [], spec.builtinDirs);
  const r: Resolution = { spec: spec as ConfigSpec<unknown>, tree: composed.tree, sources: composed.sources, ignored: [], warnings: [], problems: [] };
  normalizeTree(r);
  for (const text of overrides) applyOverride(r, text);
  const config = validateTree(spec, r.tree, r.sources, header, r.problems);
  return { config, overrides, ignored: r.ignored, warnings: r.warnings, files: composed.files };
}

/** {@link resolveConfigWith} for the training config ({@link TRAIN_CONFIG}): `--config-name` + overrides → {@link SmnConfig}. */
export function resolveConfig(options: ResolveOptions): ResolvedConfig {
  return resolveConfigWith(TRAIN_CONFIG, options);
}

/** Converts every value present to its key's type, as overrides are (main.train: 0 in a user's file). */
function coerceTree(spec: ConfigSpec<unknown>, tree: Tree): void {
  for (const [path, info] of configKeys(spec.schema)) {
    if (!hasPath(tree, path)) continue;
    const v = getPath(tree, path);
    const c = coerceValue(info, v);
    if (c !== v) setPath(tree, path, c);
  }
}

/** The schema's complaints as problems with dot paths, sources and, for unknown keys, the nearest keys. */
function schemaProblems(spec: ConfigSpec<unknown>, tree: Tree, sources: Map<string, string>, issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const keys = configKeys(spec.schema);
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const path = base ? `${base}.${k}` : k;
        out.push({ path, message: 'unknown key', source: sourceOf(sources, path), suggestions: nearestKeys(path, 3, spec.schema) });
      }
      continue;
    }
    const value = getPath(tree, base);
    const info = keys.get(base);
    let message: string;
    if (value === undefined) {
      message = `missing; every key must have a value (inherit from '${spec.defaults}' with defaults: [${spec.defaults}], or set it)${info ? `; expected ${expectedText(info)}` : ''}`;
    } else if (info && (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union')) {
      message = `expected ${expectedText(info)}, got ${fmtValue(value)}`;
    } else {
      message = `${issue.message.replace(/^Invalid input: /, '')}; got ${fmtValue(value)}`;
    }
    out.push({ path: base || '(top)', message, source: sourceOf(sources, base) });
  }
  return out;
}

/**
 * Converts (as {@link coerceValue}) and validates a config tree against the spec's schema and rules; throws every
 * problem at once (with the ones already collected in `problems`).
 */
function validateTree<T>(spec: ConfigSpec<T>, tree: Tree, sources: Map<string, string>, header: string, problems: ConfigProblem[] = []): T {
  const s = spec as ConfigSpec<unknown>;
  coerceTree(s, tree);
  const parsed = spec.schema.safeParse(tree);
  if (!parsed.success) problems.push(...schemaProblems(s, tree, sources, parsed.error.issues));
  for (const p of spec.check?.(tree) ?? []) problems.push({ ...p, source: p.source ?? sourceOf(sources, p.path) });
  if (problems.length) {
    // One problem per path and message (zod can report a key twice through unions).
    const seen = new Set<string>();
    const unique = problems.filter((p) => {
      const id = `${p.path}\u0000${p.message}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    throw new SmnError(TrainErrorCode.ConfigInvalid, formatProblems(header, unique), {
      kind: 'usage',
      details: { problems: unique },
    });
  }
  return parsed.data!;
}

/**
 * Reads a resolved config back (a run's config.yaml, for --resume): YAML text → validated {@link SmnConfig}, with
 * the same conversions and the same collected problem report as {@link resolveConfig} (`file` names the source).
 */
export function configFromYaml(text: string, file = 'config.yaml'): SmnConfig {
  const tree = parseYamlFile(text, file, file);
  if (!isPlainObject(tree)) throw new SmnError(TrainErrorCode.ConfigParse, `${file}: expected a mapping of sections (main:, dl:, …)`, { kind: 'usage' });
  const sources = new Map<string, string>();
  const walk = (v: unknown, p: string) => {
    if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else sources.set(p, file);
  };
  walk(tree, '');
  return validateTree(TRAIN_CONFIG, tree, sources, file);
}

/** The file or override that set `path`, or the first one that set a key under it. */
function sourceOf(sources: Map<string, string>, path: string): string | undefined {
  const own = sources.get(path);
  if (own !== undefined) return own;
  for (const [k, v] of sources) if (k.startsWith(`${path}.`)) return v;
  return undefined;
}

/** Options of {@link resolveRunsWith}: a config, its overrides and whether comma sweeps expand. */
export interface ResolveRunsOptions extends ResolveOptions {
  multirun?: boolean;
  /** With `multirun`: refuse sweeps of more combinations than this (`SMN_CONFIG_TOO_MANY_RUNS`). Default `MAX_RUNS` (10,000). */
  maxRuns?: number;
}

/**
 * The configs of a command line, of the kind `spec` describes: one without `multirun` (a sweep is then an error
 * that suggests --multirun), else one per combination of the comma sweeps ({@link expandSweeps}; counted first and
 * refused past `maxRuns`). Every run is resolved before any is returned, so a bad value fails before the first run
 * starts.
 */
export function resolveRunsWith<T>(spec: ConfigSpec<T>, options: ResolveRunsOptions): ResolvedConfig<T>[] {
  const { multirun, maxRuns, ...rest } = options;
  const overrides = rest.overrides ?? [];
  const runs = multirun ? expandSweeps(overrides, maxRuns === undefined ? {} : { maxRuns }) : [overrides];
  return runs.map((o) => resolveConfigWith(spec, { ...rest, overrides: o }));
}

/** {@link resolveRunsWith} for the training config ({@link TRAIN_CONFIG}). */
export function resolveRuns(options: ResolveRunsOptions): ResolvedConfig[] {
  return resolveRunsWith(TRAIN_CONFIG, options);
}
