import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmnError, pathExists } from '@smn/core';
import { useBackend } from '@smn/backend';
import {
  ENSEMBLE_METHODS,
  ensembleFeatures,
  evaluateFeatures,
  loadClustering,
  readRunEmbeddings,
  routeRows,
  type DenseMatrix,
  type EnsembleEvaluation,
  type EnsembleMethod,
} from '@smn/cascade';
import { parse as parseYaml } from 'yaml';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError, type FlagValues } from '../flags.js';
import { HYDRA_FLAGS } from '../shared.js';

const SHIPPED = fileURLToPath(new URL('../../configs/ensembling/', import.meta.url));

const SPEC = defineSpec({
  name: 'ensemble',
  usage: ['smn ensemble --config-name NAME [--config-dir DIR] [--multirun] [--json] [key=value ...]', 'smn ensemble --config FILE.yaml [...]'],
  description: `Cascade step 4 (the reference's ensemble.py): loads the raw train/test embeddings of the dispatcher and the
experts, routes every row with the dispatcher's clustering (GMM posterior argmax of its whitened normalised
embedding), builds the ensemble features of 'method' and prints the kNN accuracy (k 200, T 0.1, normalised
features) and the linear-probe accuracy (multinomial logistic regression, λ = 0.01/N, bias regularised).`,
  overrides: true,
  flags: {
    'config-name': { ...HYDRA_FLAGS['config-name'], description: 'the ensemble config NAME.yaml (see Config below)' },
    config: { type: 'string', value: 'FILE.yaml', description: 'an ensemble config file instead of a name' },
    'config-dir': { ...HYDRA_FLAGS['config-dir'], description: 'look for NAME.yaml in DIR first' },
    multirun: { ...HYDRA_FLAGS.multirun, description: 'sweep comma lists of the overrides (method=a,b), one evaluation each' },
    json: { type: 'boolean', description: 'print the evaluations as JSON (a list with --multirun)' },
  },
  sections: [
    {
      title: '',
      text: `Config (YAML; NAME.yaml is looked up in --config-dir, ./conf_ensembling, ./configs/ensembling, then the shipped
configs: ensembling (defaults), c100_fixed). Keys:
  runs             run folders, dispatcher first, then the experts' embedding runs (each with embeddings/*.npy)
  run_ids          alternative to runs: ids resolved as <runs_dir>/<id> (runs_dir default: runs)
  cluster_ids      cluster served by each expert, in the order of runs[1:]
  clusters         the clustering folder of 'smn cluster' (default: <runs[0]>/clusters)
  method           ${ENSEMBLE_METHODS.join(' | ')}
  linear_probe     1/0: also fit the linear probe
  baseline_index   model evaluated by 'baseline' (0 = dispatcher)
  pca_components   components of the pca_* methods (default: one model's embedding width)
  pca_niter, seed  randomized-PCA subspace iterations (10) and seed (0)
  num_classes      default max label + 1
  knn.k, knn.temperature`,
    },
    {
      title: '',
      text: `Overrides: key=value (YAML values; dotted keys like knn.k=20). With --multirun a comma list sweeps a key:
  smn ensemble --config-name c100_fixed --multirun method=pca_unconditional,pca_conditional`,
    },
  ],
});

interface EnsembleConfig {
  runs: string[];
  run_ids?: string[];
  runs_dir?: string;
  cluster_ids: number[];
  clusters: string | null;
  method: string;
  linear_probe: number | boolean;
  baseline_index: number;
  pca_components: number | null;
  pca_niter: number;
  seed: number;
  num_classes: number | null;
  knn: { k: number; temperature: number };
  /** Reference keys accepted for compatibility. */
  dispatcher?: number;
  subset_cluster?: number;
  dataset_subset?: string | number;
  lp?: unknown;
  defaults?: unknown;
}

const KNOWN = new Set([
  'runs', 'run_ids', 'runs_dir', 'cluster_ids', 'clusters', 'method', 'linear_probe', 'baseline_index', 'pca_components',
  'pca_niter', 'seed', 'num_classes', 'knn', 'dispatcher', 'subset_cluster', 'dataset_subset', 'lp', 'defaults',
]);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

async function readYaml(path: string): Promise<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new SmnError('SMN_CONFIG_INVALID', `cannot read ensemble config ${path}: ${(err as Error).message}`, { kind: 'usage', cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (!isObj(doc)) throw new SmnError('SMN_CONFIG_INVALID', `${path}: expected a YAML mapping at the top level`, { kind: 'usage' });
  return doc;
}

/** Reads NAME.yaml from the search path, merging it over its `defaults` (Hydra-style) and the shipped defaults. */
async function loadNamed(name: string, dirs: string[], seen: string[] = []): Promise<Record<string, unknown>> {
  if (seen.includes(name)) throw new SmnError('SMN_CONFIG_INVALID', `ensemble config defaults form a cycle: ${[...seen, name].join(' → ')}`, { kind: 'usage' });
  for (const d of dirs) {
    const p = join(d, `${name}.yaml`);
    if (await pathExists(p)) return withDefaults(await readYaml(p), dirs, [...seen, name]);
  }
  throw new SmnError(
    'SMN_CONFIG_NOT_FOUND',
    `no ensemble config '${name}' in ${dirs.join(', ')}; pass --config FILE.yaml or --config-dir DIR`,
    { kind: 'usage' },
  );
}

async function withDefaults(doc: Record<string, unknown>, dirs: string[], seen: string[]): Promise<Record<string, unknown>> {
  const parents = Array.isArray(doc.defaults) ? (doc.defaults as unknown[]).filter((x): x is string => typeof x === 'string' && x !== '_self_') : [];
  let base: Record<string, unknown> = {};
  for (const p of parents) base = merge(base, await loadNamed(p, dirs, seen));
  const { defaults: _d, ...rest } = doc;
  return merge(base, rest);
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isObj(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

function parseValue(raw: string): unknown {
  try {
    return parseYaml(raw);
  } catch {
    return raw;
  }
}

/** Splits `a,b` on top-level commas (not inside [] or {}). */
function splitSweep(raw: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of raw) {
    if (ch === '[' || ch === '{') depth++;
    if (ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

function validate(raw: Record<string, unknown>, source: string): EnsembleConfig {
  const problems: string[] = [];
  for (const k of Object.keys(raw)) if (!KNOWN.has(k)) problems.push(`unknown key '${k}' (known: ${[...KNOWN].filter((x) => x !== 'defaults').join(', ')})`);
  const c = raw as unknown as EnsembleConfig;
  if (Array.isArray(c.run_ids) && c.run_ids.length > 0) c.runs = c.run_ids.map((id) => join(c.runs_dir ?? 'runs', String(id)));
  if (!Array.isArray(c.runs) || c.runs.length === 0 || c.runs.some((r) => typeof r !== 'string')) problems.push('runs: expected a non-empty list of run folders (dispatcher first)');
  if (!Array.isArray(c.cluster_ids) || c.cluster_ids.some((x) => !Number.isInteger(x) || x < 0)) problems.push('cluster_ids: expected a list of cluster ids (integers ≥ 0)');
  else if (Array.isArray(c.runs) && c.runs.length > 0 && c.cluster_ids.length !== c.runs.length - 1) {
    problems.push(`cluster_ids: ${c.cluster_ids.length} ids for ${c.runs.length - 1} experts (runs after the dispatcher); they must match one to one`);
  }
  if (!ENSEMBLE_METHODS.includes(c.method as EnsembleMethod)) problems.push(`method: '${String(c.method)}' is not one of ${ENSEMBLE_METHODS.join(', ')}`);
  if (c.dispatcher !== undefined && c.dispatcher !== 0) problems.push('dispatcher: only 0 is supported (the reference asserts it)');
  if (c.dataset_subset !== undefined && c.dataset_subset !== '' && c.dataset_subset !== null) {
    problems.push(`dataset_subset: subsetting the ensemble's train features is not implemented in smn; remove it (found '${String(c.dataset_subset)}')`);
  }
  if (!isObj(c.knn) || !(Number.isInteger(c.knn.k) && c.knn.k > 0) || !(c.knn.temperature > 0)) problems.push('knn: expected { k: integer > 0, temperature: number > 0 }');
  if (!Number.isInteger(c.baseline_index) || c.baseline_index < 0) problems.push('baseline_index: expected an integer ≥ 0');
  if (c.pca_components !== null && !(Number.isInteger(c.pca_components) && c.pca_components > 0)) problems.push('pca_components: expected null or an integer > 0');
  if (problems.length > 0) {
    throw new SmnError('SMN_CONFIG_INVALID', `ensemble config ${source} has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`, { kind: 'usage' });
  }
  return c;
}

function sameLabels(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The configs to evaluate: the named or given file over its defaults, then the overrides (sweeps with --multirun). */
async function loadConfigs(flags: FlagValues<(typeof SPEC)['flags']>, overrides: string[]): Promise<{ configs: EnsembleConfig[]; source: string }> {
  const { 'config-name': configName, config: configFile, multirun } = flags;
  if ((configName === undefined) === (configFile === undefined)) throw usageError('smn ensemble: give exactly one of --config-name NAME or --config FILE.yaml');
  const notKeyValue = overrides.find((o) => !o.includes('='));
  if (notKeyValue) throw usageError(`unexpected argument '${notKeyValue}': ensemble overrides look like key=value`);
  const searchDirs = [...flags['config-dir'], resolve('conf_ensembling'), resolve('configs/ensembling'), SHIPPED];
  const base = configFile !== undefined ? await withDefaults(await readYaml(configFile), searchDirs, []) : await loadNamed(configName!, searchDirs);
  const shippedDefaults = await readYaml(join(SHIPPED, 'ensembling.yaml'));
  const source = configFile ?? `'${configName}'`;

  // Sweeps: the cartesian product of comma lists (only with --multirun, as Hydra).
  let variants: Record<string, unknown>[] = [merge(shippedDefaults, base)];
  for (const o of overrides) {
    const eq = o.indexOf('=');
    const key = o.slice(0, eq).replace(/^\+{1,2}/, '');
    const raw = o.slice(eq + 1);
    const choices = multirun ? splitSweep(raw) : [raw];
    const next: Record<string, unknown>[] = [];
    for (const v of variants) {
      for (const ch of choices) {
        const copy = structuredClone(v);
        setPath(copy, key, parseValue(ch));
        next.push(copy);
      }
    }
    variants = next;
  }
  return { configs: variants.map((v) => validate(v, source)), source };
}

/** The raw embeddings of every run; all of them must hold the same rows in the same order as the dispatcher's. */
async function readAllEmbeddings(runs: string[]): Promise<{ trainRaw: DenseMatrix[]; testRaw: DenseMatrix[]; trainLabels: Int32Array; testLabels: Int32Array }> {
  const all = [];
  for (const run of runs) all.push(await readRunEmbeddings(run, ['trainRaw', 'testRaw', 'trainLabels', 'testLabels']));
  const [first] = all;
  all.forEach((e, i) => {
    if (!sameLabels(e.trainLabels, first!.trainLabels) || !sameLabels(e.testLabels, first!.testLabels)) {
      throw new SmnError(
        'SMN_ENSEMBLE_MISMATCH',
        `run ${runs[i]} has different train/test labels (or order) than the dispatcher ${runs[0]}; every model must embed the same rows in the same order (embed the experts without a cluster subset)`,
      );
    }
  });
  return { trainRaw: all.map((e) => e.trainRaw), testRaw: all.map((e) => e.testRaw), trainLabels: first!.trainLabels, testLabels: first!.testLabels };
}

const command: Command = {
  name: 'ensemble',
  summary: 'evaluate an ensemble of runs (cascade step 4)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx: CommandContext): Promise<number> {
    const { flags, overrides } = parseFlags(SPEC, ctx.argv);
    const json = flags.json;
    const { configs, source } = await loadConfigs(flags, overrides);
    await useBackend(ctx.backend);
    const cfg0 = configs[0]!;
    for (const c of configs) {
      if (JSON.stringify(c.runs) !== JSON.stringify(cfg0.runs) || (c.clusters ?? '') !== (cfg0.clusters ?? '')) {
        throw usageError('smn ensemble: a sweep may not change runs or clusters; run the command once per set of runs');
      }
    }
    const t0 = performance.now();
    const runs = cfg0.runs;
    const { trainRaw, testRaw, trainLabels, testLabels } = await readAllEmbeddings(runs);
    const disp = await readRunEmbeddings(runs[0]!, ['trainNorm', 'testNorm']);
    const clusterDir = cfg0.clusters ?? join(runs[0]!, 'clusters');
    const clustering = await loadClustering(clusterDir);
    const trainClusters = routeRows(clustering, disp.trainNorm);
    let differ = 0;
    if (clustering.trainClusters.length !== trainClusters.length) {
      throw new SmnError(
        'SMN_ENSEMBLE_MISMATCH',
        `${clusterDir}/clusters.npy has ${clustering.trainClusters.length} rows but ${runs[0]} has ${trainClusters.length} train rows; was the clustering made from another run?`,
      );
    }
    for (let i = 0; i < trainClusters.length; i++) if (trainClusters[i] !== clustering.trainClusters[i]) differ++;
    if (differ > 0) {
      ctx.err.write(`warning: re-routing the dispatcher's train rows disagrees with ${clusterDir}/clusters.npy on ${differ} of ${trainClusters.length} rows (float differences between backends); using the saved assignments\n`);
    }
    const testClusters = routeRows(clustering, disp.testNorm);
    let numClasses = cfg0.num_classes ?? 0;
    if (!numClasses) for (const l of trainLabels) numClasses = Math.max(numClasses, l + 1);
    const loadSeconds = (performance.now() - t0) / 1000;

    const results: (EnsembleEvaluation & { seconds: number })[] = [];
    for (const c of configs) {
      const t1 = performance.now();
      const feats = ensembleFeatures(
        { train: trainRaw, test: testRaw, trainClusters: clustering.trainClusters, testClusters, clusterIds: c.cluster_ids },
        c.method as EnsembleMethod,
        {
          baselineIndex: c.baseline_index,
          pcaNiter: c.pca_niter,
          seed: c.seed,
          ...(c.pca_components ? { pcaComponents: c.pca_components } : {}),
        },
      );
      const res = await evaluateFeatures(feats, trainLabels, testLabels, {
        numClasses,
        k: c.knn.k,
        temperature: c.knn.temperature,
        linearProbe: Boolean(c.linear_probe),
      });
      const r = { ...res, seconds: (performance.now() - t1) / 1000 };
      results.push(r);
      if (!json) {
        const lines = [
          `ensemble ${source}: method=${c.method}, ${runs.length} models, train ${trainRaw[0]!.rows} rows, test ${testRaw[0]!.rows} rows → ${r.dims} features`,
          `KNN Accuracy: ${r.knnAccuracy.toFixed(4)} (k ${c.knn.k}, T ${c.knn.temperature})`,
        ];
        if (r.probeAccuracy !== undefined) {
          lines.push(`Linear probe accuracy: ${r.probeAccuracy.toFixed(4)} (train ${r.probeTrainAccuracy!.toFixed(4)}, ${r.probeIterations} L-BFGS iterations)`);
        }
        lines.push(`time: ${r.seconds.toFixed(1)} s (+ ${loadSeconds.toFixed(1)} s loading and routing)`);
        ctx.out.write(`${lines.join('\n')}\n`);
      }
    }
    if (json) ctx.out.write(`${JSON.stringify(configs.length === 1 ? results[0] : results, null, 2)}\n`);
    return 0;
  },
};
export default command;
