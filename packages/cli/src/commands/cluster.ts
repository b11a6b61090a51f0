import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SmnError } from '@smn/core';
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

const HELP = `Usage: smn cluster --run DIR [options]
       smn cluster --embeddings FILE.npy [--labels FILE.npy] [--test FILE.npy] [options]

Cascade step 1 (the reference's clustering notebook): whitening PCA of the dispatcher's L2-normalised train
embeddings to --components dims, then a full-covariance Gaussian mixture (EM, k-means init, reg_covar 1e-6,
tol 1e-3, 100 iterations) or k-means. Prints cluster sizes, the mean largest-cluster share per class ("Mean"),
adjusted mutual information with the labels ("ADJ") and each expert's epoch schedule, and writes the
assignments, the PCA and the model (see docs/cascade.md).

Input:
  --run DIR            a run folder: reads DIR/embeddings/train_norm.npy (+ train_labels.npy, test_norm.npy,
                       test_labels.npy when present); writes DIR/clusters/ unless --out is given
  --embeddings FILE    a float32/float64 [N, D] .npy instead of a run (rows are clustered as they are)
  --labels FILE        int32/int64 [N] class labels for the diagnostics
  --test FILE          rows [M, D] to route as well (written as test_clusters.npy)

Options:
  --clusters K         number of clusters (default 5)
  --method NAME        gmm (default; the reference code) | kmeans (the paper's text: nearest centroid)
  --components Q       whitened PCA components (default 20)
  --niter N            randomized-PCA subspace iterations (default 2, as the notebook)
  --seed S             seed of the PCA and the k-means initialisation (default 0)
  --normalize          L2-normalise the rows first (for raw embeddings)
  --epochs E           dispatcher epochs for the expert schedule (default 150)
  --epochs-scale F     scale of the expert epochs (default 1)
  --schedule-base N    the 50000 of E = round(N/D × epochs × scale) (default 50000, CIFAR's size as in the
                       reference even for iNat; pass the train-set size to keep the dispatcher's step count)
  --out DIR            output folder (default: DIR/clusters for --run, else clusters/ beside FILE)
  --json               print the result as JSON
`;

function int(v: string | undefined, name: string, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new SmnError('SMN_USAGE', `--${name} expects an integer ≥ ${min}, got '${v}'`, { kind: 'usage' });
  }
  return n;
}

function num(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new SmnError('SMN_USAGE', `--${name} expects a number > 0, got '${v}'`, { kind: 'usage' });
  return n;
}

const command: Command = {
  name: 'cluster',
  summary: "cluster a run's embeddings (PCA + Gaussian mixture or k-means)",
  help: HELP,
  async run(ctx: CommandContext): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: ctx.argv,
        options: {
          run: { type: 'string' },
          embeddings: { type: 'string' },
          labels: { type: 'string' },
          test: { type: 'string' },
          clusters: { type: 'string' },
          method: { type: 'string' },
          components: { type: 'string' },
          niter: { type: 'string' },
          seed: { type: 'string' },
          normalize: { type: 'boolean' },
          epochs: { type: 'string' },
          'epochs-scale': { type: 'string' },
          'schedule-base': { type: 'string' },
          out: { type: 'string' },
          json: { type: 'boolean' },
        },
        allowPositionals: false,
      });
    } catch (err) {
      throw new SmnError('SMN_USAGE', `smn cluster: ${(err as Error).message} (see smn cluster --help)`, { kind: 'usage', cause: err });
    }
    const v = parsed.values;
    if ((v.run === undefined) === (v.embeddings === undefined)) {
      throw new SmnError('SMN_USAGE', 'smn cluster: give exactly one of --run DIR or --embeddings FILE.npy (see smn cluster --help)', { kind: 'usage' });
    }
    const method = v.method ?? 'gmm';
    if (method !== 'gmm' && method !== 'kmeans') {
      throw new SmnError('SMN_USAGE', `--method expects gmm or kmeans, got '${method}'`, { kind: 'usage' });
    }
    const clusters = int(v.clusters, 'clusters', 5, 1);
    const components = int(v.components, 'components', 20, 1);
    const niter = int(v.niter, 'niter', 2, 0);
    const seed = int(v.seed, 'seed', 0, 0);
    const epochs = num(v.epochs, 'epochs', 150);
    const scale = num(v['epochs-scale'], 'epochs-scale', 1);
    const base = num(v['schedule-base'], 'schedule-base', 50000);

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
      throw new SmnError('SMN_USAGE', `test rows have ${test.cols} columns but the clustered embeddings have ${X.cols}`, { kind: 'usage' });
    }
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
    ctx.out.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
export default command;
