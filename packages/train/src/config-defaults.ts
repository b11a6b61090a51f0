import { stringify } from 'yaml';
import { configKeys, resolveConfig, TRAIN_CONFIG, type SmnConfig } from './config/index.js';
import { isPlainObject, type Tree } from './config/compose.js';
import { parseYamlFile } from './config/yaml.js';

let defaults: Tree | undefined;

/** The value of every key in the config that sets them all (`default`), resolved once. */
function defaultTree(): Tree {
  defaults ??= resolveConfig({ configName: TRAIN_CONFIG.defaults }).config as unknown as Tree;
  return defaults;
}

function has(tree: Tree, path: string): boolean {
  let cur: unknown = tree;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur) || !(part in cur)) return false;
    cur = cur[part];
  }
  return true;
}

function get(tree: Tree, path: string): unknown {
  let cur: unknown = tree;
  for (const part of path.split('.')) cur = isPlainObject(cur) ? cur[part] : undefined;
  return cur;
}

function set(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = tree;
  for (const part of parts.slice(0, -1)) {
    if (cur[part] === undefined) cur[part] = {};
    if (!isPlainObject(cur[part])) return; // a value where a section should be: the schema reports it
    cur = cur[part] as Tree;
  }
  cur[parts[parts.length - 1]!] = value;
}

/**
 * Gives every key the schema has and `tree` lacks the default config's value (in place); returns what it filled.
 * Keys are added to smn over time (main.download): a run written before one existed ran without it, which is what the
 * default means, so its config.yaml and checkpoint stay readable.
 */
export function fillDefaults(tree: Tree): Record<string, unknown> {
  const filled: Record<string, unknown> = {};
  const base = defaultTree();
  for (const path of configKeys().keys()) {
    if (has(tree, path)) continue;
    const v = get(base, path);
    if (v === undefined) continue;
    set(tree, path, structuredClone(v));
    filled[path] = v;
  }
  return filled;
}

/**
 * A run's config.yaml text with the keys it lacks filled from the default config, and those keys. Text that is not a
 * mapping, or lacks nothing, comes back as it was, for configFromYaml to read (and report) as usual.
 */
export function fillAbsentKeys(text: string, file: string): { text: string; filled: Record<string, unknown> } {
  const tree = parseYamlFile(text, file, file);
  if (!isPlainObject(tree)) return { text, filled: {} };
  const filled = fillDefaults(tree);
  return Object.keys(filled).length ? { text: stringify(tree, { lineWidth: 0, aliasDuplicateObjects: false }), filled } : { text, filled };
}

/** A config as saved in an older checkpoint's metadata, with the keys it lacks filled (a copy). */
export function withDefaults(config: unknown): SmnConfig {
  const tree = isPlainObject(config) ? (structuredClone(config) as Tree) : {};
  fillDefaults(tree);
  return tree as unknown as SmnConfig;
}
