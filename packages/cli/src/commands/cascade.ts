import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, docsUrl, readNpy, SmnError, writeNpy } from '@smn/core';
import { loadDataset } from '@smn/datasets';
import {
  CLUSTERING_FILES,
  cascadeStorage,
  clusterEmbeddings,
  ensembleFeatures,
  evaluateFeatures,
  expertEpochs,
  loadClustering,
  readRunEmbeddings,
  saveClustering,
  type Clustering,
  type EnsembleMethod,
} from '@smn/cascade';
import { configToYaml, loadCheckpoint, renderReport, resolveConfig, runExperiment, type SmnConfig } from '@smn/train';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError, type FlagValues } from '../flags.js';
import { interruptController, progressEvents } from '../progress.js';
import { readRunConfig, startBackend, WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'cascade',
  usage: [
    'smn cascade --dispatcher runs/<id> [--clusters 5] [--method gmm|kmeans] [--epochs-scale 1]',
    '            [--base 50000] [--out DIR] [--workers N] [OVERRIDES...]',
  ],
  description: `A self-masking cascade (paper §3.4, Table 3) in one command, from a finished self-supervised dispatcher run
(smn train --config-name submask_lin model.pret.module=swav main.dataset=multicrop_X ...):

  1. cluster   PCA-20 whitening of the dispatcher's normalised train embeddings + a 5-component Gaussian mixture
               (or k-means); writes DIR/clusters/ and prints sizes, Mean share and AMI
               (the files: ${docsUrl('cascade.md')})
  2. experts   per cluster k, self-supervised masking initialised from the dispatcher checkpoint on the cluster's
               images for E_k = round(base / D_k x dispatcher epochs x scale) epochs, queue from E_k / 5
  3. embed     the full train and test sets with each expert (main.train=0)
  4. ensemble  baseline (dispatcher), pca_unconditional, pca_conditional, unconditional, conditional, replace:
               kNN (k 200, T 0.1) and linear-probe accuracy, and the storage of the masks (Table 3's 6β/32)

Each step's output is reused when present: a killed cascade continues where it stopped (an interrupted expert
resumes from its last checkpoint). Overrides apply to the expert runs (e.g. dl.batch_size=32).`,
  overrides: true,
  flags: {
    dispatcher: { type: 'string', value: 'DIR', description: 'the dispatcher run folder (needs config.yaml, last.ckpt, embeddings/)' },
    clusters: { type: 'number', value: 'N', integer: true, min: 1, default: 5, description: 'number of clusters / experts' },
    method: { type: 'string', value: 'M', choices: ['gmm', 'kmeans'], default: 'gmm', description: "gmm (the reference code) or kmeans (the paper's text)" },
    'epochs-scale': { type: 'number', value: 'X', above: 0, default: 1, description: "multiply every expert's epochs (the paper's schedule is very long)" },
    base: { type: 'number', value: 'N', above: 0, default: 50000, description: 'the 50,000 of the epoch formula (as the reference, even for iNat)' },
    out: { type: 'string', value: 'DIR', description: 'cascade folder', defaultText: 'DIR-of-dispatcher/cascade' },
    'no-probe': { type: 'boolean', description: 'skip the linear probes of step 4' },
    workers: WORKERS_FLAG,
  },
});

const METHODS: EnsembleMethod[] = ['baseline', 'pca_unconditional', 'pca_conditional', 'unconditional', 'conditional', 'replace'];

/** A run is complete when its report exists: runExperiment writes it last, after the embeddings and masks. */
async function finished(dir: string): Promise<boolean> {
  return existsSync(join(dir, 'report.html')) && existsSync(join(dir, 'embeddings', 'test_raw.npy'));
}

/** What every step of one cascade reads. */
interface Cascade {
  ctx: CommandContext;
  /** The dispatcher run folder and its config. */
  disp: string;
  dcfg: SmnConfig;
  /** The cascade folder. */
  out: string;
  flags: FlagValues<(typeof SPEC)['flags']>;
  signal: AbortSignal;
}

const command: Command = {
  name: 'cascade',
  summary: 'run a self-masking cascade end to end from a dispatcher run',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx: CommandContext) {
    const { flags, overrides } = parseFlags(SPEC, ctx.argv);
    const disp = flags.dispatcher;
    if (!disp) throw usageError('smn cascade needs --dispatcher runs/<id> (a finished self-supervised run)');
    const out = flags.out ?? join(disp, 'cascade');
    const dcfg = await readRunConfig(disp, 'SMN_CASCADE_RUN', 'start a cascade from');
    if (dcfg.model.pret.module !== 'swav') {
      throw new SmnError('SMN_CASCADE_RUN', `the dispatcher ${disp} is a '${dcfg.model.pret.module}' run; a cascade starts from self-supervised masking (model.pret.module=swav)`, { kind: 'usage' });
    }
    if (!(await finished(disp))) throw new SmnError('SMN_CASCADE_RUN', `the dispatcher ${disp} has not finished (no final embeddings); finish it with smn train --resume ${disp}`, { kind: 'usage' });
    const t0 = Date.now();
    await startBackend(ctx, 'smn cascade', `folder ${out}`);
    const intr = interruptController(ctx);
    try {
      const c: Cascade = { ctx, disp, dcfg, out, flags, signal: intr.signal };
      const { clustering, clustersFile } = await clusterStep(c);
      const runs = await expertSteps(c, clustering.info.sizes, clustersFile, overrides);
      if (!runs) return 130;
      await ensembleStep(c, clustering, runs, t0);
      return 0;
    } finally {
      intr.dispose();
    }
  },
};

/** Step 1: the dispatcher's clustering (reused when saved), and the cluster of every train image by dataset index. */
async function clusterStep({ ctx, disp, dcfg, out, flags, signal }: Cascade): Promise<{ clustering: Clustering; clustersFile: string }> {
  const clusterDir = join(out, 'clusters');
  let clustering: Clustering;
  if (existsSync(join(clusterDir, CLUSTERING_FILES.info))) {
    clustering = await loadClustering(clusterDir);
    ctx.err.write(`smn cascade: 1/4 clusters: reusing ${clusterDir}\n`);
  } else {
    ctx.err.write(`smn cascade: 1/4 clustering the dispatcher's train embeddings (${flags.method}, ${flags.clusters} clusters)\n`);
    const e = await readRunEmbeddings(disp, ['trainNorm', 'testNorm', 'trainLabels', 'testLabels']);
    clustering = clusterEmbeddings(e.trainNorm, { clusters: flags.clusters, method: flags.method, components: 20, seed: dcfg.main.seed, labels: e.trainLabels, test: e.testNorm, testLabels: e.testLabels, signal });
    await saveClustering(clusterDir, clustering);
  }
  const info = clustering.info;
  ctx.out.write(`clusters: sizes ${info.sizes.join(' / ')}; mean largest-cluster share per class ${info.meanLargestShare?.toFixed(4) ?? '-'}; AMI ${info.ami?.toFixed(4) ?? '-'}\n`);
  // Experts select their images by dataset index: map the dispatcher's bank order back to dataset indices
  // (images outside the bank get -1, so no expert trains on them).
  const trainIdxFile = join(disp, 'embeddings', 'train_indices.npy');
  if (!existsSync(trainIdxFile)) throw new SmnError('SMN_CASCADE_RUN', `${disp} has no embeddings/train_indices.npy; rerun its final test with this version of smn`);
  const bankIdx = (await readNpy(trainIdxFile)).data as Int32Array;
  const clustersFile = join(clusterDir, 'clusters_by_dataset_index.npy');
  if (!existsSync(clustersFile)) {
    const dsName = dcfg.main.dataset.replace(/^multicrop_/, '');
    const n = (await loadDataset(dsName, { dataRoot: dcfg.main.data_root, split: 'train' })).length;
    const byIndex = new Int32Array(n).fill(-1);
    bankIdx.forEach((d, j) => (byIndex[d] = clustering.trainClusters[j]!));
    await writeNpy(clustersFile, { shape: [n], dtype: 'int32', data: byIndex });
  }
  return { clustering, clustersFile };
}

/** Steps 2 and 3: train each cluster's expert, then embed the full sets with it; null when interrupted. */
async function expertSteps(c: Cascade, sizes: number[], clustersFile: string, overrides: string[]): Promise<{ experts: string[]; embeds: string[] } | null> {
  const { ctx, disp, dcfg, out, flags, signal } = c;
  const { base, 'epochs-scale': scale, workers } = flags;
  const experts: string[] = [];
  const embeds: string[] = [];
  for (let k = 0; k < flags.clusters; k++) {
    const size = sizes[k]!;
    const { epochs, queueStart } = expertEpochs(size, { base, epochs: dcfg.dl.epochs, scale });
    const expertDir = join(out, `expert-${k}`);
    experts.push(expertDir);
    if (await finished(expertDir)) {
      ctx.err.write(`smn cascade: 2/4 expert ${k}: done before, reusing\n`);
    } else {
      const resume = existsSync(join(expertDir, 'last.ckpt'));
      const over = [
        `main.dataset_subset_clusters_file=${clustersFile}`,
        `main.dataset_subset_cluster=${k}`,
        "main.dataset_subset=''",
        `dl.epochs=${epochs}`,
        `swav.epoch_queue_starts=${queueStart}`,
        `main.load_checkpoint=${join(disp, 'last.ckpt')}`,
        'main.strict_load_checkpoint=0',
        'main.probe=0',
        ...overrides,
      ];
      const expertCfg = resume ? await readRunConfig(expertDir, 'SMN_CASCADE_RUN', 'resume the expert') : await applyOverrides(dcfg, over, out);
      ctx.err.write(`smn cascade: 2/4 expert ${k}: ${size} images, ${epochs} epochs, queue from epoch ${queueStart}${resume ? ' (resuming)' : ''}\n`);
      const ev = progressEvents(ctx, `[expert-${k}]`);
      const r = await runExperiment({ config: expertCfg, runDir: expertDir, overrides: over, resume, signal, workers, events: ev });
      ev.done();
      if (!r.completed) return null;
    }
    const embedDir = join(out, `embed-${k}`);
    embeds.push(embedDir);
    if (!(await finished(embedDir))) {
      ctx.err.write(`smn cascade: 3/4 embedding the full train and test sets with expert ${k}\n`);
      const over = ['main.train=0', 'main.probe=0', "main.dataset_subset_clusters_file=''", `main.load_checkpoint=${join(expertDir, 'last.ckpt')}`, 'main.strict_load_checkpoint=1'];
      const ev = progressEvents(ctx, `[embed-${k}]`);
      const r = await runExperiment({ config: await applyOverrides(dcfg, over, out), runDir: embedDir, overrides: over, signal, workers, events: ev });
      ev.done();
      if (!r.completed) return null;
    }
  }
  return { experts, embeds };
}

/** Step 4: every ensemble method's kNN (and probe) accuracy, the masks' storage; cascade.json and report.html. */
async function ensembleStep({ ctx, disp, dcfg, out, flags }: Cascade, clustering: Clustering, { experts, embeds }: { experts: string[]; embeds: string[] }, t0: number): Promise<void> {
  const K = flags.clusters;
  const info = clustering.info;
  ctx.err.write('smn cascade: 4/4 ensembles\n');
  const runs = [disp, ...embeds];
  const embs = await Promise.all(runs.map((d) => readRunEmbeddings(d, ['trainRaw', 'testRaw', 'trainLabels', 'testLabels'])));
  const numClasses = JSON.parse(await readFile(join(disp, 'embeddings', 'classes.json'), 'utf8')).length as number;
  const inputs = {
    train: embs.map((e) => e.trainRaw),
    test: embs.map((e) => e.testRaw),
    trainClusters: clustering.trainClusters,
    testClusters: clustering.testClusters!,
    clusterIds: Array.from({ length: K }, (_, i) => i),
  };
  const rows: (string | number)[][] = [];
  const results: Record<string, { knn: number; probe?: number; dims: number }> = {};
  for (const m of METHODS) {
    const feats = ensembleFeatures(inputs, m, { seed: dcfg.main.seed });
    const ev = await evaluateFeatures(feats, embs[0]!.trainLabels, embs[0]!.testLabels, { numClasses, linearProbe: !flags['no-probe'] });
    results[m] = { knn: ev.knnAccuracy, dims: ev.dims, ...(ev.probeAccuracy !== undefined ? { probe: ev.probeAccuracy } : {}) };
    rows.push([m, ev.dims, ev.knnAccuracy, ev.probeAccuracy ?? NaN]);
    ctx.err.write(`smn cascade:   ${m}: kNN ${(100 * ev.knnAccuracy).toFixed(2)}%${ev.probeAccuracy !== undefined ? `, probe ${(100 * ev.probeAccuracy).toFixed(2)}%` : ''}\n`);
  }
  const maskBits = (await loadCheckpoint(join(disp, 'last.ckpt'))).tensors;
  let masked = 0;
  for (const [name, t] of maskBits) if (name.startsWith('var/scores.')) masked += t.data.length;
  const storage = cascadeStorage({ maskedParamsPerModel: masked, models: K + 1 });
  const summary = { clusters: info, results, storage, seconds: (Date.now() - t0) / 1000, dispatcher: disp, experts, embeds };
  await atomicWriteFile(join(out, 'cascade.json'), JSON.stringify(summary, null, 2) + '\n');
  await atomicWriteFile(
    join(out, 'report.html'),
    renderReport(`smn cascade of ${disp}`, [
      { title: 'Clusters', table: { columns: ['cluster', 'images'], rows: info.sizes.map((s, i) => [i, s]) }, text: `Mean largest share ${info.meanLargestShare ?? '-'}, AMI ${info.ami ?? '-'}` },
      { title: 'Ensembles', table: { columns: ['method', 'dims', 'kNN accuracy', 'probe accuracy'], rows } },
      { title: 'Storage', text: JSON.stringify(storage) },
    ]),
  );
  ctx.out.write(`\nmethod              dims   kNN      probe\n`);
  for (const r of rows) ctx.out.write(`${String(r[0]).padEnd(18)} ${String(r[1]).padStart(5)}  ${(100 * (r[2] as number)).toFixed(2)}%  ${Number.isNaN(r[3]) ? '-' : `${(100 * (r[3] as number)).toFixed(2)}%`}\n`);
  ctx.out.write(`storage: ${K + 1} masks of ${masked} bits = ${storage.maskBits} bits (${storage.fraction.toFixed(4)} of one float32 copy = ${storage.label})\n`);
  ctx.out.write(`${join(out, 'cascade.json')}, ${join(out, 'report.html')}\n`);
}

/** Applies Hydra overrides to an already resolved config (the dispatcher's): it is saved as a config file of the
 * cascade folder and resolved again with the overrides, so every value is validated like a command line. */
async function applyOverrides(cfg: SmnConfig, overrides: string[], dir: string): Promise<SmnConfig> {
  const file = join(dir, 'dispatcher_config.yaml');
  if (!existsSync(file)) await atomicWriteFile(file, configToYaml(cfg));
  return resolveConfig({ configName: 'dispatcher_config', configDirs: [dir], overrides }).config;
}

export default command;
