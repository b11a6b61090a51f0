export {
  resolveConfig,
  resolveRuns,
  resolveConfigWith,
  resolveRunsWith,
  configFromYaml,
  coerceValue,
  formatProblems,
  type ResolveOptions,
  type ResolveRunsOptions,
  type ResolvedConfig,
  type ConfigProblem,
} from './resolve.js';
export { TRAIN_CONFIG, type ConfigSpec } from './spec.js';
export {
  ensembleConfigSchema,
  resolveEnsembleRuns,
  ENSEMBLE_CONFIG,
  ENSEMBLE_IGNORED_KEYS,
  type EnsembleConfig,
} from './ensemble.js';
export { parseOverride, parseValue, parsePrimitive, expandSweeps, countSweeps, MAX_RUNS, parseHydraArgs, type ParsedOverride, type OverrideValue, type HydraArgs } from './overrides.js';
export { composeConfig, composeConfigs, listConfigNames, BUILTIN_CONFIG_DIR, type ComposedConfig, type ConfigRef } from './compose.js';
export { configKeys, configSections, nearestKeys, describeType, type KeyInfo } from './keys.js';
export { IGNORED_KEYS, KEY_ALIASES, ignoredReason } from './ignored.js';
export { configSchema, HEAD_KINDS, CONFIG_BACKENDS, type SmnConfig } from './schema.js';
export { renderConfigDocs, SHIPPED_CONFIGS } from './docs.js';
export { configToYaml } from './yaml.js';
export { resolveBackboneWeights, mocoWeightsPath, type BackboneWeightsSource } from './weights.js';
