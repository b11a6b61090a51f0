import type { z } from 'zod';
import { BUILTIN_CONFIG_DIR, type Tree } from './compose.js';
import { IGNORED_KEYS, KEY_ALIASES } from './ignored.js';
import type { ConfigProblem } from './resolve.js';
import { trainConfigProblems } from './rules.js';
import { configSchema, type SmnConfig } from './schema.js';

/**
 * A kind of config that the one grammar reads (composition, Hydra overrides, sweeps, validation with dot paths and
 * nearest keys). The training config and the ensemble config differ only in this data, so `smn train`,
 * `smn config show` and `smn ensemble` cannot drift apart.
 */
export interface ConfigSpec<T> {
  /** What messages call one config: `config 'submask'`, `ensemble config 'c100_fixed'`. */
  label: string;
  /** Schema of a resolved config, built from strict objects so that unknown keys are reported. */
  schema: z.ZodType<T>;
  /** Folders searched after `configDirs` (the shipped configs). */
  builtinDirs: readonly string[];
  /** The config that sets every key; named in the message for a missing key. */
  defaults: string;
  /** Compose `defaults` under every config, also under one that does not list it as a parent. */
  defaultsUnderEvery?: boolean;
  /** Keys of the reference that mean nothing here → why; `hydra.*` is ignored for every kind. */
  ignoredKeys: Readonly<Record<string, string>>;
  /** Keys renamed here: the reference's name → ours. */
  aliases: Readonly<Record<string, string>>;
  /**
   * Rules across keys (one value's length against another's), run on the converted tree whether or not the schema
   * passed, so that they are reported together with the schema's problems. Must not assume types.
   */
  check?: (tree: Tree) => ConfigProblem[];
}

/** The training config (`smn train`, `smn config show`): configs/*.yaml, {@link configSchema}. */
export const TRAIN_CONFIG: ConfigSpec<SmnConfig> = {
  label: 'config',
  schema: configSchema,
  builtinDirs: [BUILTIN_CONFIG_DIR],
  defaults: 'default',
  ignoredKeys: IGNORED_KEYS,
  aliases: KEY_ALIASES,
  check: trainConfigProblems,
};
