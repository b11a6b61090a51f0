import { join } from 'node:path';
import { docsUrl } from '@smn/core';
import { launchCascade, LAUNCHERS } from '@smn/launch';
import { CASCADE_FILES, readDispatcherConfig, runCascade, type CascadeProgress, type CascadeResult } from '@smn/train';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';
import { interruptible, progressEvents } from '../progress.js';
import { startBackend, WORKERS_FLAG } from '../shared.js';
import { sweepTable } from '../live-table.js';
import { withHydraLauncher } from '../hydra-launcher.js';

const SPEC = defineSpec({
  name: 'cascade',
  usage: [
    'smn cascade --dispatcher runs/<id> [--clusters 5] [--method gmm|kmeans] [--epochs-scale 1]',
    '            [--base 50000] [--out DIR] [--workers N] [--launcher basic|local|queue [--jobs N] [--redis URL]]',
    '            [OVERRIDES...]',
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
resumes from its last checkpoint). Overrides apply to the expert runs (e.g. dl.batch_size=32).

--launcher local (--jobs N processes here) or queue (smn worker on any machine, through Redis) clusters here, then
trains the experts in parallel, embeds with each expert once it is done and evaluates the ensembles once every
embedding is: on the queue, one BullMQ flow (the ensembles the parent of the embeddings, each the parent of its
expert); smn sweep status ID follows it from any machine (${docsUrl('distributed.md')}).`,
  overrides: true,
  flags: {
    dispatcher: { type: 'string', value: 'DIR', description: 'the dispatcher run folder (a finished run: summary.json, last.ckpt, embeddings/)' },
    clusters: { type: 'number', value: 'N', integer: true, min: 1, default: 5, description: 'number of clusters / experts' },
    method: { type: 'string', value: 'M', choices: ['gmm', 'kmeans'], default: 'gmm', description: "gmm (the reference code) or kmeans (the paper's text)" },
    'epochs-scale': { type: 'number', value: 'X', above: 0, default: 1, description: "multiply every expert's epochs (the paper's schedule is very long)" },
    base: { type: 'number', value: 'N', above: 0, default: 50000, description: 'the 50,000 of the epoch formula (as the reference, even for iNat)' },
    out: { type: 'string', value: 'DIR', description: 'cascade folder', defaultText: 'DIR-of-dispatcher/cascade' },
    'no-probe': { type: 'boolean', description: 'skip the linear probes of step 4' },
    workers: WORKERS_FLAG,
    launcher: { type: 'string', value: 'NAME', choices: LAUNCHERS, default: 'basic', description: 'basic (one run after the other here), local (--jobs N processes here) or queue (smn worker on any machine); or hydra/launcher=NAME' },
    jobs: { type: 'number', value: 'N', integer: true, min: 1, default: 1, description: 'with --launcher local: runs at a time' },
    redis: { type: 'string', value: 'URL', description: 'with --launcher queue: redis://[user:password@]host[:port][/db], or rediss:// (TLS)', defaultText: '$SMN_REDIS_URL' },
  },
});

/** The library's progress as the lines `smn cascade` prints: steps on stderr, the clusters on stdout. */
function printProgress(ctx: CommandContext, p: CascadeProgress): void {
  const say = (line: string) => ctx.err.write(`smn cascade: ${line}\n`);
  switch (p.step) {
    case 'cluster':
      say(p.reused ? `1/4 clusters: reusing ${p.dir}` : `1/4 clustering the dispatcher's train embeddings (${p.method}, ${p.clusters} clusters)`);
      break;
    case 'clustered':
      ctx.out.write(`clusters: sizes ${p.info.sizes.join(' / ')}; mean largest-cluster share per class ${p.info.meanLargestShare?.toFixed(4) ?? '-'}; AMI ${p.info.ami?.toFixed(4) ?? '-'}\n`);
      break;
    case 'expert':
      say(p.reused ? `2/4 expert ${p.k}: done before, reusing` : `2/4 expert ${p.k}: ${p.images} images, ${p.epochs} epochs, queue from epoch ${p.queueStart}${p.resuming ? ' (resuming)' : ''}`);
      break;
    case 'embed':
      if (!p.reused) say(`3/4 embedding the full train and test sets with expert ${p.k}`);
      break;
    case 'ensembles':
      say('4/4 ensembles');
      break;
    case 'method':
      say(`  ${p.method}: kNN ${(100 * p.knn).toFixed(2)}%${p.probe !== undefined ? `, probe ${(100 * p.probe).toFixed(2)}%` : ''}`);
      break;
  }
}

/** The table of step 4, the storage line and the files. */
function printResults(ctx: CommandContext, r: CascadeResult, clusters: number): void {
  ctx.out.write(`\nmethod              dims   kNN      probe\n`);
  for (const [m, v] of Object.entries(r.results)) {
    ctx.out.write(`${m.padEnd(18)} ${String(v.dims).padStart(5)}  ${(100 * v.knn).toFixed(2)}%  ${v.probe === undefined ? '-' : `${(100 * v.probe).toFixed(2)}%`}\n`);
  }
  const st = r.storage!;
  ctx.out.write(`storage: ${clusters + 1} masks of ${r.maskedWeights} bits = ${st.maskBits} bits (${st.fraction.toFixed(4)} of one float32 copy = ${st.label})\n`);
  ctx.out.write(`${join(r.out, CASCADE_FILES.summary)}, ${join(r.out, CASCADE_FILES.report)}\n`);
}

const command: Command = {
  name: 'cascade',
  summary: 'run a self-masking cascade end to end from a dispatcher run',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  run: (ctx: CommandContext) =>
    interruptible(ctx, async (intr) => {
      const { flags, overrides } = withHydraLauncher(parseFlags(SPEC, ctx.argv), ctx.argv);
      const disp = flags.dispatcher;
      if (!disp) throw usageError('smn cascade needs --dispatcher runs/<id> (a finished self-supervised run)');
      const out = flags.out ?? join(disp, 'cascade');
      // The dispatcher's main.backend / main.device apply when --backend is not given.
      const dcfg = await readDispatcherConfig(disp);
      await startBackend(ctx, 'smn cascade', `folder ${out}`, dcfg);
      if (intr.interrupted()) return 130;
      const options = {
        dispatcher: disp,
        out,
        clusters: flags.clusters,
        method: flags.method,
        epochsScale: flags['epochs-scale'],
        base: flags.base,
        probe: !flags['no-probe'],
        overrides,
        workers: flags.workers,
        signal: intr.signal,
      };
      if (flags.launcher === 'basic') {
        const r = await runCascade({ ...options, events: { onProgress: (p) => printProgress(ctx, p), runEvents: (name) => progressEvents(ctx, `[${name}]`) } });
        if (!r.completed) return 130;
        printResults(ctx, r, flags.clusters);
        return 0;
      }
      const table = sweepTable(ctx);
      const res = await launchCascade(
        { ...options, events: { onProgress: (p) => printProgress(ctx, p) } },
        {
          launcher: flags.launcher,
          jobs: flags.jobs,
          ...(flags.redis ? { redis: flags.redis } : {}),
          backend: ctx.backendFlag ?? ctx.backend,
          workers: flags.workers,
          signal: intr.signal,
          onLog: (line) => table.log(`smn cascade: ${line}`),
          onStatus: table.onStatus,
        },
      );
      if (res.status) table.done(res.status);
      ctx.out.write(`cascade ${res.sweepId}\n`);
      if (res.interrupted) return 130;
      if (!res.ok || !res.cascade) return 1;
      printResults(ctx, res.cascade, flags.clusters);
      return 0;
    }),
};

export default command;
