import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { docsUrl, SmnError } from '@smn/core';
import { ignoredReason, resolveRuns, runExperiment, fmtNum, type SmnConfig } from '@smn/train';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';
import { interruptController, progressEvents } from '../progress.js';
import { HYDRA_FLAGS, readRunConfig, startBackend, timestamp, WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'train',
  usage: [
    'smn train --config-name NAME [OVERRIDES...] [--multirun] [--run-dir DIR] [--workers N]',
    'smn train --resume runs/<id>',
  ],
  description: `Runs one of the paper's experiments, as the reference's \`python3 main.py\` does, with the same config names,
keys and meaning (${docsUrl('config.md')}):
  submask         supervised masking (masked backbone + masked random head)
  baseline        full fine-tuning (conv/downsample weights + linear head); main.train=0 main.probe=1 = linear probe
  submask_lin     masking with a linear head; with model.pret.module=swav main.dataset=multicrop_X: self-supervised
                  masking (SMN), evaluated by kNN (and a linear probe with main.probe=1)
  submask_clip_p  supervised masking of CLIP with the text-embedding head

Weights: smn downloads nothing. Give model.pret.weights=FILE_OR_DIR (safetensors, .pth/.pth.tar, a Hugging Face
folder for CLIP), or use model.pret.name=embedded (the small backbone shipped with smn) and main.dataset=embedded.

The run folder (runs/<time>-<config>/ or --run-dir) gets config.yaml, overrides.yaml, metrics.jsonl, last.ckpt
(written atomically at every epoch end and on Ctrl-C/SIGTERM), masks.smnmask, embeddings/ and report.html.
A run stopped at any moment (even kill -9) continues with --resume and ends with the same numbers.`,
  overrides: true,
  flags: {
    'config-name': HYDRA_FLAGS['config-name'],
    'config-dir': HYDRA_FLAGS['config-dir'],
    multirun: { ...HYDRA_FLAGS.multirun, description: 'run every combination of comma sweeps (dl.lr=0.1,0.15) one after the other' },
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

const command: Command = {
  name: 'train',
  summary: 'train a run from a config (submask, baseline, submask_lin, ...)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flags, overrides } = parseFlags(SPEC, ctx.argv);
    const configName = flags['config-name'];
    type Job = { config: SmnConfig; runDir: string; overrides: string[]; resume: boolean };
    const jobs: Job[] = [];
    if (flags.resume) {
      if (configName || overrides.length) throw usageError('--resume continues a run with its own config.yaml; it takes no --config-name or overrides');
      const dir = flags.resume.endsWith('last.ckpt') ? flags.resume.slice(0, -'/last.ckpt'.length) : flags.resume;
      jobs.push({ config: await readRunConfig(dir, 'SMN_RESUME_NO_RUN', 'resume'), runDir: dir, overrides: [], resume: true });
    } else {
      if (!configName) throw usageError('smn train needs --config-name NAME (e.g. submask, baseline, submask_lin)');
      const resolved = resolveRuns({ configName, overrides, configDirs: flags['config-dir'], multirun: flags.multirun });
      const base = flags['run-dir'] ?? join('runs', `${timestamp()}-${configName}`);
      resolved.forEach((r, k) => {
        for (const w of r.warnings) ctx.err.write(`smn: warning: ${w}\n`);
        for (const key of r.ignored) ctx.err.write(`smn: ignored ${key}: ${ignoredReason(key) ?? 'not used by smn'}\n`);
        jobs.push({ config: r.config, runDir: resolved.length > 1 ? `${base}-${k}` : base, overrides: r.overrides, resume: false });
      });
    }

    await startBackend(ctx, 'smn');
    const intr = interruptController(ctx);
    try {
      for (const job of jobs) {
        if (!job.resume && existsSync(join(job.runDir, 'last.ckpt'))) {
          throw new SmnError('SMN_RUN_EXISTS', `${job.runDir} already holds a run; continue it with --resume ${job.runDir} or choose another --run-dir`, { kind: 'usage' });
        }
        ctx.err.write(`smn: run ${job.runDir}${job.overrides.length ? ` (${job.overrides.join(' ')})` : ''}\n`);
        const events = progressEvents(ctx, `[${basename(job.runDir)}]`);
        const res = await runExperiment({ config: job.config, runDir: job.runDir, overrides: job.overrides, resume: job.resume, signal: intr.signal, workers: flags.workers, events });
        events.done();
        if (!res.completed) return 130;
        const keys = Object.keys(res.metrics).filter((k) => /^training\/(test|val|probe)\/(accuracy|knn_accuracy_mem_train|loss)$|model_analysis\/mean_mask$/.test(k) && !k.includes('model_analysis/mean_mask_'));
        ctx.out.write(`${job.runDir}\n`);
        for (const k of keys.sort()) ctx.out.write(`  ${k} = ${fmtNum(res.metrics[k]!)}\n`);
        ctx.out.write(`  masked weights ${res.maskedEntries}, masks.smnmask ${res.maskBytes} bytes, ${res.seconds.toFixed(1)} s\n`);
      }
    } finally {
      intr.dispose();
    }
    return 0;
  },
};
export default command;
