import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SmnError, atomicWriteFile } from '@smn/core';
import { configKeys, type SmnConfig } from '../config/index.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointData } from '../checkpoint.js';
import { MetricsLog } from '../metrics.js';
import type { LoopPosition } from '../loop.js';
import { checkpointFileOf, readRunConfig, readRunMetrics, RUN_FILES, runFolderOf, runPaths, type RunPaths } from '../run-folder.js';
import { encodeRunState, initialRunState, loadWeights, restoreRunState, type RunState } from './run-state.js';
import type { Experiment } from './setup.js';
import type { RunContext, RunOptions } from './types.js';

/** Keys that may differ between a run's config.yaml and the config that resumes it: where and on what it runs. */
const RESUME_FREE_KEYS = new Set(['main.resume_checkpoint', 'main.run_dir', 'main.backend', 'main.device']);

/**
 * Which folder a run uses and whether it resumes: `runDir`, else the folder of `main.resume_checkpoint` (a full
 * resume, as the reference's `trainer.fit(ckpt_path=…)`), else `main.run_dir`. Refuses what smn does not run:
 * `main.task=summary` (the reference's no-op) and `main.model` other than `pret` (SPEC §11.2).
 */
export function runTarget(opts: Pick<RunOptions, 'config' | 'runDir' | 'resume'>): { runDir: string; resume: boolean } {
  const { main } = opts.config;
  if (main.task !== 'train') {
    throw new SmnError('SMN_CONFIG_TASK', `main.task=${main.task} asks for nothing to run (the reference's main.py does nothing); runExperiment runs main.task=train`, { kind: 'usage', details: { key: 'main.task' } });
  }
  if (main.model !== 'pret') {
    throw new SmnError('SMN_CONFIG_MODEL', `main.model=${main.model} is a path of the reference that does not work there (SPEC §11.2); smn runs main.model=pret, a pretrained backbone from model.pret.* (every shipped config but default sets it)`, {
      kind: 'usage',
      details: { key: 'main.model' },
    });
  }
  const resumeDir = main.resume_checkpoint ? runFolderOf(main.resume_checkpoint) : undefined;
  if (resumeDir && opts.runDir !== undefined && resolve(opts.runDir) !== resolve(resumeDir)) {
    throw new SmnError('SMN_RUN_DIR', `main.resume_checkpoint=${main.resume_checkpoint} resumes the run in ${resumeDir}, but the run folder given is ${opts.runDir}; drop one of them`, { kind: 'usage' });
  }
  const runDir = opts.runDir ?? resumeDir ?? main.run_dir;
  if (!runDir) throw new SmnError('SMN_RUN_DIR', 'no run folder: pass runDir (smn train: --run-dir) or set main.run_dir', { kind: 'usage', details: { key: 'main.run_dir' } });
  return { runDir, resume: Boolean(opts.resume) || resumeDir !== undefined };
}

function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, JSON.stringify(v));
  return out;
}

/** Refuses to resume a run with another config than its own: the schedule and the data order depend on it. */
export function checkResumeConfig(saved: SmnConfig, given: SmnConfig, runDir: string): void {
  const a = flatten(saved);
  const b = flatten(given);
  const differ = [...configKeys().keys()].filter((k) => !RESUME_FREE_KEYS.has(k) && a.get(k) !== b.get(k));
  if (differ.length === 0) return;
  const shown = differ.slice(0, 5).map((k) => `${k} (${b.get(k)} here, ${a.get(k)} in the run)`);
  throw new SmnError('SMN_RESUME_CONFIG', `cannot resume ${runDir} with another config: ${shown.join(', ')}${differ.length > 5 ? `, and ${differ.length - 5} more` : ''}; resume with the run's own config.yaml (smn train --resume ${runDir}) or start a new run`, {
    kind: 'usage',
    details: { keys: differ },
  });
}

/** Writes the run's checkpoint (last.ckpt) at `position`; `finished`: the last epoch has ended. */
export async function saveRunCheckpoint(c: Pick<RunContext, 'exp' | 'paths' | 'state'>, position: LoopPosition, finished: boolean): Promise<void> {
  const { exp } = c;
  const parts = { vars: exp.vars.all, buffers: exp.buffers, optimizer: exp.optimizer, queue: exp.queue };
  await saveCheckpoint(c.paths.checkpoint, await encodeRunState(parts, { ...c.state, position }, { finished, config: exp.cfg }));
}

/**
 * The run state to start from. Resume (`resumeFrom`, the run's last.ckpt): everything from the checkpoint, and
 * metrics.jsonl cut back to the epochs it covers (a torn or later tail is dropped). New run: config.yaml,
 * overrides.yaml and an empty metrics.jsonl, and the weights of main.load_checkpoint when set.
 */
export async function startState(
  exp: Experiment,
  paths: RunPaths,
  metrics: MetricsLog,
  opts: { resumeFrom?: CheckpointData | undefined; log: (line: string) => void },
): Promise<RunState> {
  const cfg = exp.cfg;
  if (opts.resumeFrom) {
    const state = restoreRunState({ vars: exp.vars.all, buffers: exp.buffers, optimizer: exp.optimizer, queue: exp.queue }, opts.resumeFrom, paths.checkpoint);
    const kept = await readRunMetrics(paths.dir, state.position.epoch - 1);
    await atomicWriteFile(paths.metrics, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    metrics.records.push(...kept);
    const { epoch, batch, step } = state.position;
    opts.log(`resumed ${paths.dir} at epoch ${epoch}, batch ${batch} (step ${step})`);
    return state;
  }
  await atomicWriteFile(paths.metrics, '');
  if (cfg.main.load_checkpoint) {
    const given = cfg.main.load_checkpoint;
    const file = [given, join(cfg.main.checkpoint_path, given)].find((p) => existsSync(p)) ?? given;
    const skipped = loadWeights({ vars: exp.vars.all, buffers: exp.buffers }, await loadCheckpoint(checkpointFileOf(file)), { strict: cfg.main.strict_load_checkpoint, source: file });
    opts.log(`initialised from ${file}${skipped.length ? `; not loaded: ${skipped.join(', ')}` : ''}`);
  }
  return initialRunState();
}

/**
 * Opens a run to resume before anything is built: its checkpoint (read and checked), after checking that the config
 * equals the run's config.yaml (when there is one) but for where and on what the run goes.
 */
export async function openResume(runDir: string, config: SmnConfig): Promise<CheckpointData> {
  const paths = runPaths(runDir);
  if (!existsSync(paths.checkpoint)) {
    throw new SmnError('SMN_RESUME_NO_CKPT', `cannot resume ${runDir}: it has no ${RUN_FILES.checkpoint} (the run may have stopped before its first checkpoint)`, { kind: 'usage' });
  }
  if (existsSync(paths.config)) checkResumeConfig(await readRunConfig(runDir, { doing: 'resume' }), config, runDir);
  return loadCheckpoint(paths.checkpoint);
}

/** Creates the run folder. */
export async function makeRunFolder(runDir: string): Promise<RunPaths> {
  await mkdir(runDir, { recursive: true });
  return runPaths(runDir);
}
