import { dirname, join, resolve } from 'node:path';
import { docsUrl } from '@smn/core';
import { useBackend } from '@smn/backend';
import {
  clusterEmbeddings,
  expertEpochs,
  l2NormalizeRows,
  readLabelsNpy,
  readMatrixNpy,
  readRunEmbeddings,
  saveClustering,
  CLUSTERING_FILES,
  type DenseMatrix,
} from '@smn/cascade';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';

const INPUT = 'Input';

const SPEC = defineSpec({
  name: 'cluster',
  usage: ['smn cluster --run DIR [options]', 'smn cluster --embeddings FILE.npy [--labels FILE.npy] [--test FILE.npy] [options]'],
  description: `Cascade step 1 (the reference's clustering notebook): whitening PCA of the dispatcher's L2-normalised train
embeddings to --components dims, then a full-covariance Gaussian mixture (EM, k-means init, reg_covar 1e-6,
tol 1e-3, 100 iterations) or k-means. Prints cluster sizes, the mean largest-cluster share per class ("Mean"),
adjusted mutual information with the labels ("ADJ") and each expert's epoch schedule, and writes the
assignments, the PCA and the model (see ${docsUrl('cascade.md')}).`,
  flags: {
    run: {
      type: 'string',
      value: 'DIR',
      group: INPUT,
      description: `a run folder: reads DIR/embeddings/train_norm.npy (+ train_labels.npy, test_norm.npy,
test_labels.npy when present); writes DIR/clusters/ unless --out is given`,
    },
    embeddings: { type: 'string', value: 'FILE', group: INPUT, description: 'a float32/float64 [N, D] .npy instead of a run (rows are clustered as they are)' },
    labels: { type: 'string', value: 'FILE', group: INPUT, description: 'int32/int64 [N] class labels for the diagnostics' },
    test: { type: 'string', value: 'FILE', group: INPUT, description: 'rows [M, D] to route as well (written as test_clusters.npy)' },
    clusters: { type: 'number', value: 'K', integer: true, min: 1, default: 5, description: 'number of clusters' },
    method: { type: 'string', value: 'NAME', choices: ['gmm', 'kmeans'], default: 'gmm', description: 'gmm (the reference code) | kmeans (the paper\'s text: nearest centroid)' },
    components: { type: 'number', value: 'Q', integer: true, min: 1, default: 20, description: 'whitened PCA components' },
    niter: { type: 'number', value: 'N', integer: true, min: 0, default: 2, description: 'randomized-PCA subspace iterations (as the notebook)' },
    seed: { type: 'number', value: 'S', integer: true, min: 0, default: 0, description: 'seed of the PCA and the k-means initialisation' },
    normalize: { type: 'boolean', description: 'L2-normalise the rows first (for raw embeddings)' },
    epochs: { type: 'number', value: 'E', above: 0, default: 150, description: 'dispatcher epochs for the expert schedule' },
    'epochs-scale': { type: 'number', value: 'F', above: 0, default: 1, description: 'scale of the expert epochs' },
    'schedule-base': {
      type: 'number',
      value: 'N',
      above: 0,
      default: 50000,
      description: `the 50000 of E = round(N/D × epochs × scale): CIFAR's size, as in the reference even for iNat;
pass the train-set size to keep the dispatcher's step count`,
    },
    out: { type: 'string', value: 'DIR', description: 'output folder', defaultText: 'DIR/clusters for --run, else clusters/ beside FILE' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
});

const command: Command = {
  name: 'cluster',
  summary: "cluster a run's embeddings (PCA + Gaussian mixture or k-means)",
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx: CommandContext): Promise<number> {
    const v = parseClusterFlags(ctx.argv);
    if ((v.run === undefined) === (v.embeddings === undefined)) throw usageError('smn cluster: give exactly one of --run DIR or --embeddings FILE.npy');
    const { method, clusters, components, niter, seed, epochs, 'epochs-scale': scale, 'schedule-base': base } = v;

    const { X, labels, test, testLabels, source, outDir } = await readClusterInputs(v);
    await useBackend(ctx.backend);
    const t0 = performance.now();
    const c = clusterEmbeddings(X, {
      clusters,
      method,
      components,
      seed,
      niter,
      ...(labels ? { labels } : {}),
      ...(test ? { test } : {}),
      ...(testLabels ? { testLabels } : {}),
    });
    c.info.source = resolve(source);
    await saveClustering(outDir, c);
    const seconds = (performance.now() - t0) / 1000;
    const sizes = c.info.sizes;
    const schedule = sizes.map((n) => (n > 0 ? expertEpochs(n, { base, epochs, scale }) : null));
    if (v.json) {
      ctx.out.write(
        `${JSON.stringify({ ...c.info, out: outDir, seconds, schedule, ...(c.testDiagnostics ? { test: c.testDiagnostics } : {}) }, null, 2)}\n`,
      );
      return 0;
    }
    const lines = reportLines(v, X, source, outDir, seconds, c, schedule);
    ctx.out.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
export default command;

function parseClusterFlags(argv: CommandContext['argv']) {
  return parseFlags(SPEC, argv).flags;
}

type ClusterFlags = ReturnType<typeof parseClusterFlags>;

/** The rows to cluster (and the optional labels and test rows) from --run or --embeddings, normalised when asked. */
async function readClusterInputs(v: ClusterFlags): Promise<{
  X: DenseMatrix;
  labels: Int32Array | undefined;
  test: DenseMatrix | undefined;
  testLabels: Int32Array | undefined;
  source: string;
  outDir: string;
}> {
  let X: DenseMatrix;
  let labels: Int32Array | undefined;
  let test: DenseMatrix | undefined;
  let testLabels: Int32Array | undefined;
  let source: string;
  let outDir: string;
  if (v.run !== undefined) {
    const e = await readRunEmbeddings(v.run, ['trainNorm'], ['trainLabels', 'testNorm', 'testLabels']);
    X = e.trainNorm;
    labels = v.labels ? await readLabelsNpy(v.labels) : e.trainLabels;
    test = v.test ? await readMatrixNpy(v.test) : e.testNorm;
    testLabels = v.test ? undefined : e.testLabels;
    source = join(v.run, 'embeddings', 'train_norm.npy');
    outDir = v.out ?? join(v.run, 'clusters');
  } else {
    X = await readMatrixNpy(v.embeddings!);
    labels = v.labels ? await readLabelsNpy(v.labels) : undefined;
    test = v.test ? await readMatrixNpy(v.test) : undefined;
    source = v.embeddings!;
    outDir = v.out ?? join(dirname(v.embeddings!), 'clusters');
  }
  if (v.normalize) {
    X = l2NormalizeRows(X);
    if (test) test = l2NormalizeRows(test);
  }
  if (test && test.cols !== X.cols) {
    throw usageError(`--test rows have ${test.cols} columns but the clustered embeddings have ${X.cols}; give test rows of the same model`);
  }
  return { X, labels, test, testLabels, source, outDir };
}

/** The text report: sizes, diagnostics, the EM summary, the expert schedule and the files written. */
function reportLines(
  v: ClusterFlags,
  X: DenseMatrix,
  source: string,
  outDir: string,
  seconds: number,
  c: ReturnType<typeof clusterEmbeddings>,
  schedule: (ReturnType<typeof expertEpochs> | null)[],
): string[] {
  const { method, clusters, components, seed, epochs, 'epochs-scale': scale, 'schedule-base': base } = v;
  const sizes = c.info.sizes;
  const lines = [
    `clustered ${X.rows} × ${X.cols} rows of ${source}: PCA to ${components} whitened dims, ${method === 'gmm' ? 'Gaussian mixture' : 'k-means'} with ${clusters} clusters (seed ${seed}) in ${seconds.toFixed(1)} s`,
    `cluster sizes: ${sizes.join(' / ')}`,
  ];
  if (c.diagnostics) {
    lines.push(`Mean (largest-cluster share per class): ${c.diagnostics.meanLargestShare.toFixed(4)}`);
    lines.push(`AMI (ADJ): ${c.diagnostics.ami.toFixed(4)}   ARI: ${c.diagnostics.ari.toFixed(4)}`);
  } else {
    lines.push('no labels given: Mean and AMI skipped (pass --labels FILE.npy)');
  }
  if (c.testClusters) {
    const ts = new Array<number>(clusters).fill(0);
    for (const id of c.testClusters) ts[id]! += 1;
    lines.push(`test rows routed: ${ts.join(' / ')}${c.testDiagnostics ? ` (test AMI ${c.testDiagnostics.ami.toFixed(4)})` : ''}`);
  }
  if (method === 'gmm') {
    const gm = c.model.toJSON() as { converged: boolean; nIter: number; lowerBound: number };
    lines.push(`EM: ${gm.converged ? 'converged' : 'did NOT converge'} after ${gm.nIter} iterations, lower bound ${gm.lowerBound.toFixed(4)}`);
  }
  lines.push(`expert schedule (E = round(${base}/D × ${epochs} × ${scale}), queue start round(E/5)):`);
  schedule.forEach((s, k) => lines.push(`  cluster ${k}: ${sizes[k]} rows → ${s ? `${s.epochs} epochs, queue from ${s.queueStart}` : 'empty (no expert)'}`));
  lines.push(`wrote ${outDir}/{${Object.values(CLUSTERING_FILES).filter((f) => f !== (method === 'gmm' ? 'kmeans.json' : 'gmm.json') && (c.testClusters || f !== 'test_clusters.npy')).join(',')}}`);
  return lines;
}

