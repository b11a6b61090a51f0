import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SmnError } from '@smn/core';
import { useBackend } from '@smn/backend';
import { configFromYaml, ignoredReason, parseHydraArgs, resolveRuns, runExperiment, fmtNum } from '@smn/train';
import type { Command } from '../command.js';
import { interruptController, progressEvents } from '../progress.js';

const HELP = `Usage: smn train --config-name NAME [OVERRIDES...] [--multirun] [--run-dir DIR] [--workers N]
       smn train --resume runs/<id>

Runs one of the paper's experiments, as the reference's \`python3 main.py\` does, with the same config names,
keys and meaning (docs/config.md):
  submask         supervised masking (masked backbone + masked random head)
  baseline        full fine-tuning (conv/downsample weights + linear head); main.train=0 main.probe=1 = linear probe
  submask_lin     masking with a linear head; with model.pret.module=swav main.dataset=multicrop_X: self-supervised
                  masking (SMN), evaluated by kNN (and a linear probe with main.probe=1)
  submask_clip_p  supervised masking of CLIP with the text-embedding head

Weights: smn downloads nothing. Give model.pret.weights=FILE_OR_DIR (safetensors, .pth/.pth.tar, a Hugging Face
folder for CLIP), or use model.pret.name=embedded (the small backbone shipped with smn) and main.dataset=embedded.

The run folder (runs/<time>-<config>/ or --run-dir) gets config.yaml, overrides.yaml, metrics.jsonl, last.ckpt
(written atomically at every epoch end and on Ctrl-C/SIGTERM), masks.smnmask, embeddings/ and report.html.
A run stopped at any moment (even kill -9) continues with --resume and ends with the same numbers.

Options:
  --config-name NAME  config to start from (also --config-name=NAME, -cn NAME)
  --config-dir DIR    also look for NAME.yaml in DIR
  --multirun, -m      run every combination of comma sweeps (dl.lr=0.1,0.15) one after the other
  --run-dir DIR       run folder (default runs/<time>-<config>; with --multirun DIR-<k>)
  --resume DIR        continue the run in DIR from its last.ckpt (its config.yaml is used; no overrides)
  --workers N         data-loading worker threads (default 1)

Examples:
  smn train --config-name submask main.dataset=embedded model.pret.name=embedded dl.epochs=5 dl.warmup_epochs=1
  smn train --config-name submask main.dataset=cifar100 model.pret.name=resnet50 model.pret.weights=rn50.pth main.dataset_subset=10p
  smn train --config-name=baseline model.pret.name=resnet50 model.pret.weights=rn50.pth main.train=0 main.probe=1
  smn train --resume runs/20261127-101500-submask`;

function runId(configName: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}-${configName}`;
}

const command: Command = {
  name: 'train',
  summary: 'train a run from a config (submask, baseline, submask_lin, ...)',
  help: HELP,
  async run(ctx) {
    const hydra = parseHydraArgs(ctx.argv);
    const { values, positionals } = parseArgs({
      args: hydra.rest,
      options: { 'run-dir': { type: 'string' }, resume: { type: 'string' }, workers: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length) throw new SmnError('SMN_USAGE', `unexpected argument '${positionals[0]}': overrides look like key=value (see smn train --help)`, { kind: 'usage' });
    const workers = values.workers === undefined ? 1 : Number(values.workers);
    if (!Number.isInteger(workers) || workers < 0) throw new SmnError('SMN_USAGE', `--workers expects an integer >= 0, got ${values.workers}`, { kind: 'usage' });

    type Job = { config: ReturnType<typeof configFromYaml>; runDir: string; overrides: string[]; resume: boolean };
    const jobs: Job[] = [];
    if (values.resume) {
      if (hydra.configName || hydra.overrides.length) {
        throw new SmnError('SMN_USAGE', '--resume continues a run with its own config.yaml; it takes no --config-name or overrides', { kind: 'usage' });
      }
      const dir = values.resume.endsWith('last.ckpt') ? values.resume.slice(0, -'/last.ckpt'.length) : values.resume;
      const cfgPath = join(dir, 'config.yaml');
      if (!existsSync(cfgPath)) throw new SmnError('SMN_RESUME_NO_RUN', `cannot resume ${dir}: no config.yaml there (is it a run folder?)`, { kind: 'usage' });
      jobs.push({ config: configFromYaml(await readFile(cfgPath, 'utf8'), cfgPath), runDir: dir, overrides: [], resume: true });
    } else {
      if (!hydra.configName) throw new SmnError('SMN_USAGE', 'smn train needs --config-name NAME (e.g. submask, baseline, submask_lin); see smn train --help', { kind: 'usage' });
      const resolved = resolveRuns({ configName: hydra.configName, overrides: hydra.overrides, configDirs: hydra.configDirs, multirun: hydra.multirun });
      const base = values['run-dir'] ?? join('runs', runId(hydra.configName));
      resolved.forEach((r, k) => {
        for (const w of r.warnings) ctx.err.write(`smn: warning: ${w}\n`);
        for (const key of r.ignored) ctx.err.write(`smn: ignored ${key}: ${ignoredReason(key) ?? 'not used by smn'}\n`);
        jobs.push({ config: r.config, runDir: resolved.length > 1 ? `${base}-${k}` : base, overrides: r.overrides, resume: false });
      });
    }

    const choice = await useBackend(ctx.backend);
    ctx.err.write(`smn: backend ${choice.name}${choice.skipped.length ? ` (skipped: ${choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}\n`);
    const intr = interruptController(ctx);
    try {
      for (const job of jobs) {
        if (!job.resume && existsSync(join(job.runDir, 'last.ckpt'))) {
          throw new SmnError('SMN_RUN_EXISTS', `${job.runDir} already holds a run; continue it with --resume ${job.runDir} or choose another --run-dir`, { kind: 'usage' });
        }
        ctx.err.write(`smn: run ${job.runDir}${job.overrides.length ? ` (${job.overrides.join(' ')})` : ''}\n`);
        const events = progressEvents(ctx, `[${basename(job.runDir)}]`);
        const res = await runExperiment({ config: job.config, runDir: job.runDir, overrides: job.overrides, resume: job.resume, signal: intr.signal, workers, events });
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
