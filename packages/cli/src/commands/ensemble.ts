import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docsUrl, SmnError } from '@smn/core';
import { useBackend } from '@smn/backend';
import {
  ensembleFeatures,
  evaluateFeatures,
  loadClustering,
  readRunEmbeddings,
  routeRows,
  type DenseMatrix,
  type EnsembleEvaluation,
} from '@smn/cascade';
import { configKeys, ENSEMBLE_CONFIG, ensembleConfigSchema, ignoredReason, resolveEnsembleRuns, type EnsembleConfig } from '@smn/train/config';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError, type FlagValues } from '../flags.js';
import { HYDRA_FLAGS, MAX_RUNS_FLAG } from '../shared.js';
import { CliErrorCode } from '../errors.js';

const SHIPPED = fileURLToPath(new URL('../../configs/ensembling/', import.meta.url));

/** One line per key of the ensemble schema (its values for a choice, else its description). */
function keyLines(): string {
  return [...configKeys(ensembleConfigSchema).values()]
    .map((k) => `  ${k.path.padEnd(16)} ${k.kind === 'enum' ? k.values!.join(' | ') : k.description}`)
    .join('\n');
}

const SPEC = defineSpec({
  name: 'ensemble',
  usage: ['smn ensemble --config-name NAME [--config-dir DIR] [--multirun [--max-runs N]] [--json] [key=value ...]', 'smn ensemble --config FILE.yaml [...]'],
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
    'max-runs': MAX_RUNS_FLAG,
    json: { type: 'boolean', description: 'print the evaluations as JSON (a list with --multirun)' },
  },
  sections: [
    {
      title: '',
      text: `Config (YAML; NAME.yaml is looked up in --config-dir, ./conf_ensembling, ./configs/ensembling, then the shipped
configs: ensembling (defaults, merged under every config), c100_fixed). Keys:
${keyLines()}`,
    },
    {
      title: '',
      text: `Overrides: Hydra's grammar, as for smn train (key=value, dotted keys like knn.k=20, +key=value, ++key=value, ~key;
${docsUrl('config.md', 'overrides')}). With --multirun a comma list sweeps a key:
  smn ensemble --config-name c100_fixed --multirun method=pca_unconditional,pca_conditional`,
    },
  ],
});

/** The configs to evaluate (the named or given file over the defaults, then the overrides; sweeps with --multirun). */
function loadConfigs(ctx: CommandContext, flags: FlagValues<(typeof SPEC)['flags']>, overrides: string[]): { configs: EnsembleConfig[]; source: string } {
  const { 'config-name': configName, config: configFile, multirun } = flags;
  if ((configName === undefined) === (configFile === undefined)) throw usageError('smn ensemble: give exactly one of --config-name NAME or --config FILE.yaml');
  // The folders after --config-dir are looked in when present; a --config-dir the user gave must exist.
  const optional = [resolve('conf_ensembling'), resolve('configs/ensembling')].filter((d) => existsSync(d));
  const configDirs = [...flags['config-dir'], ...optional, SHIPPED];
  const maxRuns = flags['max-runs'];
  const resolved = resolveEnsembleRuns({ configName, configFile, overrides, configDirs, multirun, ...(maxRuns !== undefined ? { maxRuns } : {}) });
  // Said once: every run of a sweep reads the same files, so they mostly repeat.
  for (const w of new Set(resolved.flatMap((r) => r.warnings))) ctx.err.write(`smn: warning: ${w}\n`);
  for (const key of new Set(resolved.flatMap((r) => r.ignored))) {
    ctx.err.write(`smn: ignored ${key}: ${ignoredReason(key, ENSEMBLE_CONFIG.ignoredKeys) ?? 'not used by smn'}\n`);
  }
  return { configs: resolved.map((r) => r.config), source: configFile ?? `'${configName}'` };
}

function sameLabels(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The raw embeddings of every run; all of them must hold the same rows in the same order as the dispatcher's. */
async function readAllEmbeddings(runs: string[]): Promise<{ trainRaw: DenseMatrix[]; testRaw: DenseMatrix[]; trainLabels: Int32Array; testLabels: Int32Array }> {
  const all = [];
  for (const run of runs) all.push(await readRunEmbeddings(run, ['trainRaw', 'testRaw', 'trainLabels', 'testLabels']));
  const [first] = all;
  all.forEach((e, i) => {
    if (!sameLabels(e.trainLabels, first!.trainLabels) || !sameLabels(e.testLabels, first!.testLabels)) {
      throw new SmnError(
        CliErrorCode.EnsembleMismatch,
        `run ${runs[i]} has different train/test labels (or order) than the dispatcher ${runs[0]}; every model must embed the same rows in the same order (embed the experts without a cluster subset)`,
      );
    }
  });
  return { trainRaw: all.map((e) => e.trainRaw), testRaw: all.map((e) => e.testRaw), trainLabels: first!.trainLabels, testLabels: first!.testLabels };
}

/** Everything the evaluations share: every run's embeddings and labels, and the dispatcher's routing of every row. */
async function loadInputs(ctx: CommandContext, cfg: EnsembleConfig) {
  const runs = cfg.runs;
  const { trainRaw, testRaw, trainLabels, testLabels } = await readAllEmbeddings(runs);
  const disp = await readRunEmbeddings(runs[0]!, ['trainNorm', 'testNorm']);
  const clusterDir = cfg.clusters ?? join(runs[0]!, 'clusters');
  const clustering = await loadClustering(clusterDir);
  const trainClusters = routeRows(clustering, disp.trainNorm);
  if (clustering.trainClusters.length !== trainClusters.length) {
    throw new SmnError(
      CliErrorCode.EnsembleMismatch,
      `${clusterDir}/clusters.npy has ${clustering.trainClusters.length} rows but ${runs[0]} has ${trainClusters.length} train rows; was the clustering made from another run?`,
    );
  }
  let differ = 0;
  for (let i = 0; i < trainClusters.length; i++) if (trainClusters[i] !== clustering.trainClusters[i]) differ++;
  if (differ > 0) {
    ctx.err.write(`warning: re-routing the dispatcher's train rows disagrees with ${clusterDir}/clusters.npy on ${differ} of ${trainClusters.length} rows (float differences between backends); using the saved assignments\n`);
  }
  const testClusters = routeRows(clustering, disp.testNorm);
  let numClasses = cfg.num_classes ?? 0;
  if (!numClasses) for (const l of trainLabels) numClasses = Math.max(numClasses, l + 1);
  return { trainRaw, testRaw, trainLabels, testLabels, trainClusters: clustering.trainClusters, testClusters, numClasses };
}

type Inputs = Awaited<ReturnType<typeof loadInputs>>;

/** One config's features and their kNN (and probe) accuracy. */
async function evaluate(inputs: Inputs, c: EnsembleConfig): Promise<EnsembleEvaluation & { seconds: number }> {
  const t1 = performance.now();
  const { trainRaw, testRaw, trainClusters, testClusters } = inputs;
  const feats = ensembleFeatures({ train: trainRaw, test: testRaw, trainClusters, testClusters, clusterIds: c.cluster_ids }, c.method, {
    baselineIndex: c.baseline_index,
    pcaNiter: c.pca_niter,
    seed: c.seed,
    ...(c.pca_components ? { pcaComponents: c.pca_components } : {}),
  });
  const res = await evaluateFeatures(feats, inputs.trainLabels, inputs.testLabels, {
    numClasses: inputs.numClasses,
    k: c.knn.k,
    temperature: c.knn.temperature,
    linearProbe: c.linear_probe,
  });
  return { ...res, seconds: (performance.now() - t1) / 1000 };
}

const command: Command = {
  name: 'ensemble',
  summary: 'evaluate an ensemble of runs (cascade step 4)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx: CommandContext): Promise<number> {
    const { flags, overrides } = parseFlags(SPEC, ctx.argv);
    const json = flags.json;
    const { configs, source } = loadConfigs(ctx, flags, overrides);
    await useBackend(ctx.backend);
    const cfg0 = configs[0]!;
    for (const c of configs) {
      if (JSON.stringify(c.runs) !== JSON.stringify(cfg0.runs) || (c.clusters ?? '') !== (cfg0.clusters ?? '')) {
        throw usageError('smn ensemble: a sweep may not change runs or clusters; run the command once per set of runs');
      }
    }
    const t0 = performance.now();
    const inputs = await loadInputs(ctx, cfg0);
    const loadSeconds = (performance.now() - t0) / 1000;
    const results: (EnsembleEvaluation & { seconds: number })[] = [];
    for (const c of configs) {
      const r = await evaluate(inputs, c);
      results.push(r);
      if (json) continue;
      const lines = [
        `ensemble ${source}: method=${c.method}, ${cfg0.runs.length} models, train ${inputs.trainRaw[0]!.rows} rows, test ${inputs.testRaw[0]!.rows} rows → ${r.dims} features`,
        `KNN Accuracy: ${r.knnAccuracy.toFixed(4)} (k ${c.knn.k}, T ${c.knn.temperature})`,
      ];
      if (r.probeAccuracy !== undefined) {
        lines.push(`Linear probe accuracy: ${r.probeAccuracy.toFixed(4)} (train ${r.probeTrainAccuracy!.toFixed(4)}, ${r.probeIterations} L-BFGS iterations)`);
      }
      lines.push(`time: ${r.seconds.toFixed(1)} s (+ ${loadSeconds.toFixed(1)} s loading and routing)`);
      ctx.out.write(`${lines.join('\n')}\n`);
    }
    if (json) ctx.out.write(`${JSON.stringify(configs.length === 1 ? results[0] : results, null, 2)}\n`);
    return 0;
  },
};
export default command;
