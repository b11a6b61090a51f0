import { parseDocument } from 'yaml';
import { SmnError } from '@smn/core';
import { composeConfig, isPlainObject, type Tree } from './compose.js';
import { ignoredReason, KEY_ALIASES } from './ignored.js';
import { configKeys, configSections, describeType, nearestKeys, type KeyInfo } from './keys.js';
import { expandSweeps, parseOverride, type ParsedOverride } from './overrides.js';
import { configSchema, type SmnConfig } from './schema.js';

/** Options of {@link resolveConfig}. */
export interface ResolveOptions {
  /** `--config-name`: default, baseline, submask, submask_lin, submask_clip, submask_clip_p, baseline_clip, or a file name in `configDirs`. */
  configName: string;
  /** Hydra overrides, applied in order (`dl.lr=0.1`, `+a.b=1`, `++a.b=1`, `~a.b`). Sweeps must be expanded first ({@link expandSweeps}). */
  overrides?: readonly string[];
  /** Extra folders searched before the shipped configs (`--config-dir`). */
  configDirs?: readonly string[];
}

/** A resolved config and what happened on the way. */
export interface ResolvedConfig {
  config: SmnConfig;
  /** The overrides as applied (trimmed), for the run's overrides.yaml. */
  overrides: string[];
  /** Keys of the reference that smn accepts and ignores (see {@link IGNORED_KEYS}), in order of appearance. */
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

function deletePath(tree: Tree, path: string): void {
  const parts = path.split('.');
  const parent = getPath(tree, parts.slice(0, -1).join('.') || '') as unknown;
  const obj = parts.length === 1 ? tree : parent;
  if (isPlainObject(obj)) delete obj[parts[parts.length - 1]!];
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

/** Removes ignored keys (recording them) and renames aliases, recursively, in a composed tree. */
function normalizeTree(root: Tree, sources: Map<string, string>, ignored: string[], warnings: string[], node: Tree = root, prefix = ''): void {
  for (const k of Object.keys(node)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (ignoredReason(path) !== undefined) {
      delete node[k];
      ignored.push(path);
      continue;
    }
    const alias = KEY_ALIASES[path];
    if (alias) {
      const v = node[k];
      delete node[k];
      setPath(root, alias, v);
      warnings.push(`${path} (${sources.get(path) ?? 'config'}) is the reference's name of ${alias}; using it as ${alias}`);
      sources.set(alias, sources.get(path) ?? '');
      continue;
    }
    const v = node[k];
    if (isPlainObject(v)) normalizeTree(root, sources, ignored, warnings, v, path);
  }
}

/**
 * Resolves `--config-name` + overrides into a validated config, as Hydra composes the reference's configs:
 * the file and its parents, then the overrides in order. Keys of the reference that mean nothing in smn are
 * accepted and listed in `ignored`. Every problem (unknown keys with the nearest valid ones, wrong types, bad
 * values, unparsable overrides, sweeps without --multirun) is collected and thrown at once as an SmnError of kind
 * 'usage' (code SMN_CONFIG_INVALID, `details.problems`: ConfigProblem[]).
 */
export function resolveConfig(options: ResolveOptions): ResolvedConfig {
  const { configName } = options;
  const overrides = (options.overrides ?? []).map((o) => o.trim());
  const composed = composeConfig(configName, options.configDirs ?? []);
  const tree = composed.tree;
  const sources = composed.sources;
  const ignored: string[] = [];
  const warnings: string[] = [];
  const problems: ConfigProblem[] = [];
  normalizeTree(tree, sources, ignored, warnings);

  const keys = configKeys();
  const sections = configSections();
  const known = (k: string) => keys.has(k) || sections.has(k);

  for (const text of overrides) {
    let o: ParsedOverride;
    try {
      o = parseOverride(text);
    } catch (e) {
      problems.push({ path: text.replace(/^[+~]+/, '').split('=')[0]!.trim() || text, message: (e as Error).message });
      continue;
    }
    const src = `override '${o.text}'`;
    let key = o.key;
    if (ignoredReason(key) !== undefined) {
      if (!ignored.includes(key)) ignored.push(key);
      continue;
    }
    if (key.includes('/')) {
      problems.push({ path: key, message: 'config groups (a/b=c) do not exist in smn: every config is one file; set keys instead', source: src });
      continue;
    }
    if (KEY_ALIASES[key]) {
      warnings.push(`${key} is the reference's name of ${KEY_ALIASES[key]}; using ${KEY_ALIASES[key]}`);
      key = KEY_ALIASES[key]!;
    }
    if (o.sweep) {
      problems.push({
        path: key,
        message: `ambiguous value ${o.value!.raw}: to sweep over it add --multirun; to use it as a list write ${key}=[${o.sweep.join(',')}]; to use it as a string quote it: ${key}='${o.value!.raw}'`,
        source: src,
      });
      continue;
    }
    if (!known(key)) {
      problems.push({ path: key, message: 'unknown key', source: src, suggestions: nearestKeys(key) });
      continue;
    }
    const info = keys.get(key);
    const exists = hasPath(tree, key);
    if (o.op === 'add' && exists) {
      problems.push({
        path: key,
        message: `cannot add: the config already has ${key} (${fmtValue(getPath(tree, key))}); write ${key}=… to override it or ++${key}=… to add or override`,
        source: src,
      });
      continue;
    }
    if (o.op === 'delete') {
      if (!exists) {
        problems.push({ path: key, message: `cannot delete: ${key} is not in the config`, source: src });
        continue;
      }
      const cur = getPath(tree, key);
      if (o.value !== undefined && info) {
        const want = coerceValue(info, o.value.value, o.value.raw);
        if (JSON.stringify(want) !== JSON.stringify(cur)) {
          problems.push({ path: key, message: `cannot delete: ${key} is ${fmtValue(cur)}, not ${fmtValue(want)}`, source: src });
          continue;
        }
      }
      if (info?.nullable) {
        setPath(tree, key, null);
        sources.set(key, src);
      } else {
        problems.push({
          path: key,
          message: `cannot delete: ${key} is required (${info ? expectedText(info) : 'a section'}); set it to another value instead`,
          source: src,
        });
      }
      continue;
    }
    const value = info ? coerceValue(info, o.value!.value, o.value!.raw) : o.value!.value;
    const err = setPath(tree, key, value);
    if (err) {
      problems.push({ path: key, message: err, source: src });
      continue;
    }
    for (const s of [...sources.keys()]) if (s.startsWith(`${key}.`)) sources.delete(s);
    sources.set(key, src);
  }

  const config = validateTree(tree, sources, `config '${configName}'`, problems);
  return { config, overrides, ignored, warnings, files: composed.files };
}


/**
 * Converts (as {@link coerceValue}) and validates a config tree against the schema; throws every problem at once
 * (with the ones already collected in `problems`).
 */
function validateTree(tree: Tree, sources: Map<string, string>, header: string, problems: ConfigProblem[] = []): SmnConfig {
  const keys = configKeys();
  // YAML values get the same conversions as overrides (main.train: 0 in a user's file).
  for (const [path, info] of keys) {
    if (!hasPath(tree, path)) continue;
    const v = getPath(tree, path);
    const c = coerceValue(info, v);
    if (c !== v) setPath(tree, path, c);
  }

  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const base = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) {
          const path = base ? `${base}.${k}` : k;
          problems.push({ path, message: 'unknown key', source: sources.get(path) ?? firstSourceUnder(sources, path), suggestions: nearestKeys(path) });
        }
        continue;
      }
      const value = getPath(tree, base);
      const info = keys.get(base);
      let message: string;
      if (value === undefined) {
        message = `missing; every key must have a value (inherit from 'default' with defaults: [default], or set it)${info ? `; expected ${expectedText(info)}` : ''}`;
      } else if (info && (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union')) {
        message = `expected ${expectedText(info)}, got ${fmtValue(value)}`;
      } else {
        message = `${issue.message.replace(/^Invalid input: /, '')}; got ${fmtValue(value)}`;
      }
      problems.push({ path: base || '(top)', message, source: sources.get(base) ?? firstSourceUnder(sources, base) });
    }
  }

  if (problems.length) {
    // One problem per path and message (zod can report a key twice through unions).
    const seen = new Set<string>();
    const unique = problems.filter((p) => {
      const id = `${p.path}\u0000${p.message}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    throw new SmnError('SMN_CONFIG_INVALID', formatProblems(header, unique), {
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
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    throw new SmnError('SMN_CONFIG_PARSE', `${file} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`, {
      kind: 'usage',
      details: { file },
    });
  }
  const tree = doc.toJS() as unknown;
  if (!isPlainObject(tree)) throw new SmnError('SMN_CONFIG_PARSE', `${file}: expected a mapping of sections (main:, dl:, …)`, { kind: 'usage' });
  const sources = new Map<string, string>();
  const walk = (v: unknown, p: string) => {
    if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else sources.set(p, file);
  };
  walk(tree, '');
  return validateTree(tree, sources, file);
}

function firstSourceUnder(sources: Map<string, string>, path: string): string | undefined {
  for (const [k, v] of sources) if (k.startsWith(`${path}.`)) return v;
  return undefined;
}

/**
 * The configs of a command line: one without `multirun` (a sweep is then an error that suggests --multirun), else
 * one per combination of the comma sweeps ({@link expandSweeps}). Every run is resolved before any is returned,
 * so a bad value fails before the first run starts.
 */
export function resolveRuns(options: ResolveOptions & { multirun?: boolean }): ResolvedConfig[] {
  const overrides = options.overrides ?? [];
  const runs = options.multirun ? expandSweeps(overrides) : [overrides];
  return runs.map((o) => resolveConfig({ configName: options.configName, overrides: o, configDirs: options.configDirs }));
}
