import { basename, join, resolve } from 'node:path';
import { docsUrl } from '@smn/core';
import { launchSweep, LAUNCHERS } from '@smn/launch';
import { fmtNum, ignoredReason, readRunConfig, resolveRuns, RUN_FILES, runExperiment, runFolderOf, type RunResult, type SmnConfig } from '@smn/train';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError, type FlagValues } from '../flags.js';
import { interruptible, progressEvents, type Interrupt } from '../progress.js';
import { CliErrorCode } from '../errors.js';
import { sweepTable } from '../live-table.js';
import { withHydraLauncher } from '../hydra-launcher.js';
import { HYDRA_FLAGS, MAX_RUNS_FLAG, startBackend, timestamp, WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'train',
  usage: [
    'smn train --config-name NAME [OVERRIDES...] [--multirun [--max-runs N]] [--run-dir DIR] [--workers N]',
    'smn train --config-name NAME [OVERRIDES...] --multirun --launcher local|queue [--jobs N] [--redis URL] [--detach]',
    'smn train --resume runs/<id>',
  ],
  description: `Runs one of the paper's experiments, as the reference's \`python3 main.py\` does, with the same config names,
keys and meaning (${docsUrl('config.md')}):
  submask         supervised masking (masked backbone + masked random head)
  baseline        full fine-tuning (conv/downsample weights + linear head); main.train=0 main.probe=1 = linear probe
  submask_lin     masking with a linear head; with model.pret.module=swav main.dataset=multicrop_X: self-supervised
                  masking (SMN), evaluated by kNN (and a linear probe with main.probe=1)
  submask_clip_p  supervised masking of CLIP with the text-embedding head

Weights and data: without model.pret.weights, the file the reference's loader uses (model.pret.source/repo/name) is
fetched into the cache on first use, verified and resumable (smn weights --help: SMN_CACHE, SMN_MIRROR, SMN_OFFLINE);
model.pret.weights=FILE_OR_DIR uses your own (safetensors, .pth/.pth.tar, a Hugging Face folder for CLIP). With
main.download=1 (the default) a missing CIFAR-10/100, MNIST or Fashion-MNIST is fetched into main.data_root.
model.pret.name=embedded main.dataset=embedded runs the small backbone and data shipped with smn, nothing to fetch.

The run folder (--run-dir, else main.run_dir, else runs/<time>-<config>/; on a writable disk, checked before anything
is written) gets config.yaml, overrides.yaml, metrics.jsonl, last.ckpt (written atomically at every epoch end and on
Ctrl-C/SIGTERM), masks.smnmask, embeddings/, report.html and, last, summary.json. While a run goes it holds the
folder's run.lock: a second smn train on the folder is refused, naming the first (a lock left by a process that died is
taken over). A run stopped at any moment (even kill -9) continues with --resume (or the reference's
main.resume_checkpoint=DIR) and ends with the same numbers: an epoch's metrics are written only once its validation is
complete, and an interrupted validation is done again. Ctrl-C/SIGTERM exits 130; signals within 2 s count as one. --backend, else main.backend, picks the backend;
main.task=summary does nothing, as the reference.`,
  overrides: true,
  flags: {
    'config-name': HYDRA_FLAGS['config-name'],
    'config-dir': HYDRA_FLAGS['config-dir'],
    multirun: { ...HYDRA_FLAGS.multirun, description: 'run every combination of comma sweeps (dl.lr=0.1,0.15), as --launcher says' },
    'max-runs': MAX_RUNS_FLAG,
    launcher: {
      type: 'string',
      value: 'NAME',
      choices: LAUNCHERS,
      default: 'basic',
      description: `how the runs go (hydra/launcher=NAME says the same): basic (one after the other here), local (--jobs N processes here), queue (BullMQ jobs
on Redis for smn worker on any machine; ${docsUrl('distributed.md')})`,
    },
    jobs: { type: 'number', value: 'N', integer: true, min: 1, default: 1, description: 'with --launcher local: runs at a time' },
    redis: { type: 'string', value: 'URL', description: 'with --launcher queue: redis://[user:password@]host[:port][/db], or rediss:// (TLS)', defaultText: '$SMN_REDIS_URL' },
    detach: { type: 'boolean', description: 'with --launcher queue: return once the runs are queued (follow them with smn sweep status ID)' },
    'run-dir': { type: 'string', value: 'DIR', description: 'run folder', defaultText: 'runs/<time>-<config>; with --multirun DIR-<k>' },
    resume: { type: 'string', value: 'DIR', description: 'continue the run in DIR from its last.ckpt (its config.yaml is used; no overrides)' },
    workers: WORKERS_FLAG,
  },
  sections: [
    {
      title: 'Examples',
      text: `  smn train --config-name submask main.dataset=embedded model.pret.name=embedded dl.epochs=5 dl.warmup_epochs=1
  smn train --config-name submask main.dataset=cifar100 model.pret.name=resnet50 model.pret.weights=rn50.pth main.dataset_subset=10p
  smn train --config-name=baseline model.pret.name=resnet50 model.pret.weights=rn50.pth main.train=0 main.probe=1
  smn train --resume runs/20261127-101500-submask`,
    },
  ],
});

type Flags = FlagValues<(typeof SPEC)['flags']>;
type Job = { config: SmnConfig; runDir: string; overrides: string[]; resume: boolean };

/** `--resume DIR`: the run in DIR with its own config.yaml. */
async function resumeJob(ctx: CommandContext, flags: Flags, overrides: string[]): Promise<Job> {
  if (flags['config-name'] || overrides.length) throw usageError('--resume continues a run with its own config.yaml; it takes no --config-name or overrides');
  const dir = runFolderOf(flags.resume!);
  const onDefaults = (filled: Record<string, unknown>) => {
    const keys = Object.entries(filled).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    ctx.err.write(`smn: ${join(dir, RUN_FILES.config)} was written by an older smn: using the defaults of the keys it lacks (${keys.join(', ')})\n`);
  };
  return { config: await readRunConfig(dir, { code: CliErrorCode.ResumeNoRun, doing: 'resume', onDefaults }), runDir: dir, overrides: [], resume: true };
}

/**
 * The runs of a command line (one per sweep combination). Folder: --run-dir, else main.run_dir, else
 * runs/<time>-<config>, with -<k> for each run of a sweep that shares it. main.resume_checkpoint resumes that run;
 * main.task=summary runs nothing (as the reference).
 */
function newJobs(ctx: CommandContext, flags: Flags, overrides: string[]): Job[] {
  const configName = flags['config-name'];
  if (!configName) throw usageError('smn train needs --config-name NAME (e.g. submask, baseline, submask_lin)');
  const resolved = resolveRuns({
    configName,
    overrides,
    configDirs: flags['config-dir'],
    multirun: flags.multirun,
    ...(flags['max-runs'] === undefined ? {} : { maxRuns: flags['max-runs'] }),
  });
  const fallback = join('runs', `${timestamp()}-${configName}`);
  const dirs = resolved.map((r) => flags['run-dir'] ?? r.config.main.run_dir ?? fallback);
  const shared = resolved.length > 1 && new Set(dirs).size < dirs.length;
  const jobs: Job[] = [];
  resolved.forEach((r, k) => {
    for (const w of r.warnings) ctx.err.write(`smn: warning: ${w}\n`);
    for (const key of r.ignored) ctx.err.write(`smn: ignored ${key}: ${ignoredReason(key) ?? 'not used by smn'}\n`);
    if (r.config.main.task === 'summary') {
      ctx.err.write(`smn: main.task=summary: nothing to run (as the reference)${r.overrides.length ? ` (${r.overrides.join(' ')})` : ''}\n`);
      return;
    }
    const resumeFrom = r.config.main.resume_checkpoint;
    if (resumeFrom) {
      const dir = runFolderOf(resumeFrom);
      if (flags['run-dir'] && resolve(flags['run-dir']) !== resolve(dir)) throw usageError(`main.resume_checkpoint=${resumeFrom} resumes the run in ${dir}; --run-dir ${flags['run-dir']} names another folder`);
      jobs.push({ config: r.config, runDir: dir, overrides: r.overrides, resume: true });
      return;
    }
    jobs.push({ config: r.config, runDir: shared ? `${dirs[k]}-${k}` : dirs[k]!, overrides: r.overrides, resume: false });
  });
  return jobs;
}

/** The run's headline metrics, counts and bytes on stdout. */
function printResult(ctx: CommandContext, res: RunResult): void {
  const keys = Object.keys(res.metrics).filter((k) => /^training\/(test|val|probe)\/(accuracy|knn_accuracy_mem_train|loss)$|model_analysis\/mean_mask$/.test(k) && !k.includes('model_analysis/mean_mask_'));
  ctx.out.write(`${res.runDir}\n`);
  for (const k of keys.sort()) ctx.out.write(`  ${k} = ${fmtNum(res.metrics[k]!)}\n`);
  ctx.out.write(`  masked weights ${res.maskedEntries}, ${RUN_FILES.masks} ${res.maskBytes} bytes, ${res.seconds.toFixed(1)} s\n`);
}

/**
 * Runs the jobs one after the other. Each run holds its folder's lock from its first write to its end (a second
 * process on the folder is refused with SMN_LOCK_HELD naming this one) and stops at an interrupt with a checkpoint.
 */
async function runJobs(ctx: CommandContext, jobs: Job[], workers: number | undefined, intr: Interrupt): Promise<number> {
  let backend = '';
  for (const job of jobs) {
    if (intr.interrupted()) return 130;
    // The backend of the first run, and again whenever a run's main.backend / main.device asks for another.
    const want = `${ctx.backendFlag ?? job.config.main.backend ?? ctx.backend}/${job.config.main.device ?? ''}`;
    if (want !== backend) await startBackend(ctx, 'smn', '', job.config);
    backend = want;
    ctx.err.write(`smn: run ${job.runDir}${job.overrides.length ? ` (${job.overrides.join(' ')})` : ''}\n`);
    const events = progressEvents(ctx, `[${basename(job.runDir)}]`);
    try {
      const res = await runExperiment({ config: job.config, runDir: job.runDir, overrides: job.overrides, resume: job.resume, signal: intr.signal, workers, events });
      if (!res.completed) return 130;
      printResult(ctx, res);
    } finally {
      events.done();
    }
  }
  return 0;
}

/**
 * The jobs through @smn/launch: `local` child processes or `queue` workers on any machine, followed with the sweep's
 * table (live-table.ts: redrawn in place on a terminal, plain tables otherwise); exit 0 when every point succeeded, 1
 * otherwise.
 */
async function launchJobs(ctx: CommandContext, jobs: Job[], flags: Flags, intr: Interrupt): Promise<number> {
  const table = sweepTable(ctx);
  const res = await launchSweep(jobs, {
    launcher: flags.launcher,
    jobs: flags.jobs,
    ...(flags.redis ? { redis: flags.redis } : {}),
    detach: flags.detach,
    backend: ctx.backendFlag ?? ctx.backend,
    workers: flags.workers,
    signal: intr.signal,
    onLog: (line) => table.log(`smn: ${line}`),
    onStatus: table.onStatus,
  });
  // The table first: it is redrawn by moving the cursor up over it, so nothing may be printed below it before.
  if (!flags.detach) table.done(res.status);
  ctx.out.write(`sweep ${res.sweepId}\n`);
  if (flags.detach) return 0;
  return res.interrupted ? 130 : res.ok ? 0 : 1;
}

const command: Command = {
  name: 'train',
  summary: 'train a run from a config (submask, baseline, submask_lin, ...)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  run: (ctx) =>
    interruptible(ctx, async (intr) => {
      const parsed = parseFlags(SPEC, ctx.argv);
      const { flags, overrides } = withHydraLauncher(parsed, ctx.argv);
      const jobs = flags.resume ? [await resumeJob(ctx, flags, overrides)] : newJobs(ctx, flags, overrides);
      if (flags.launcher !== 'basic' || flags.detach) return await launchJobs(ctx, jobs, flags, intr);
      return await runJobs(ctx, jobs, flags.workers, intr);
    }),
};
export default command;
