export { resolveConfig, resolveRuns, configFromYaml, coerceValue, formatProblems, type ResolveOptions, type ResolvedConfig, type ConfigProblem } from './resolve.js';
export { parseOverride, parseValue, parsePrimitive, expandSweeps, parseHydraArgs, type ParsedOverride, type OverrideValue, type HydraArgs } from './overrides.js';
export { composeConfig, listConfigNames, BUILTIN_CONFIG_DIR, type ComposedConfig } from './compose.js';
export { configKeys, configSections, nearestKeys, describeType, type KeyInfo } from './keys.js';
export { IGNORED_KEYS, KEY_ALIASES, ignoredReason } from './ignored.js';
export { configSchema, HEAD_KINDS, CONFIG_BACKENDS, type SmnConfig } from './schema.js';
export { renderConfigDocs, SHIPPED_CONFIGS } from './docs.js';
export { configToYaml } from './yaml.js';
export { backboneWeights } from './weights.js';
