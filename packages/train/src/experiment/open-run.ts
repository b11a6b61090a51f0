import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SmnError, atomicWriteFile, isSmnError } from '@smn/core';
import { configKeys, type SmnConfig } from '../config/index.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointData } from '../checkpoint.js';
import { MetricsLog } from '../metrics.js';
import type { LoopPosition } from '../loop.js';
import { withDefaults } from '../config-defaults.js';
import { checkpointFileOf, hasCheckpoint, readRunConfig, readRunMetrics, RUN_FILES, runFolderOf, runPaths, writeRunConfig, type RunPaths } from '../run-folder.js';
import { encodeRunState, initialRunState, loadWeights, restoreRunState, type RunState } from './run-state.js';
import type { Experiment } from './setup.js';
import type { RunContext, RunOptions } from './types.js';
import { TrainErrorCode } from '../errors.js';

/** Keys that may differ between a run's config.yaml and the config that resumes it: where and on what it runs. */
const RESUME_FREE_KEYS = new Set(['main.resume_checkpoint', 'main.run_dir', 'main.backend', 'main.device']);

/**
 * Which folder a run uses and whether it resumes: `runDir`, else the folder of `main.resume_checkpoint` (a full
 * resume, as the reference's `trainer.fit(ckpt_path=…)`), else `main.run_dir`. Refuses what smn does not run:
 * `main.task=summary` (the reference's no-op) and `main.model` other than `pret` (docs/method.md#known-deviations-of-the-reference).
 */
export function runTarget(opts: Pick<RunOptions, 'config' | 'runDir' | 'resume'>): { runDir: string; resume: boolean } {
  const { main } = opts.config;
  if (main.task !== 'train') {
    throw new SmnError(TrainErrorCode.ConfigTask, `main.task=${main.task} asks for nothing to run (the reference's main.py does nothing); runExperiment runs main.task=train`, { kind: 'usage', details: { key: 'main.task' } });
  }
  if (main.model !== 'pret') {
    throw new SmnError(TrainErrorCode.ConfigModel, `main.model=${main.model} is a path of the reference that does not work there (its constructor calls are broken); smn runs main.model=pret, a pretrained backbone from model.pret.* (every shipped config but default sets it)`, {
      kind: 'usage',
      details: { key: 'main.model' },
    });
  }
  const resumeDir = main.resume_checkpoint ? runFolderOf(main.resume_checkpoint) : undefined;
  if (resumeDir && opts.runDir !== undefined && resolve(opts.runDir) !== resolve(resumeDir)) {
    throw new SmnError(TrainErrorCode.RunDir, `main.resume_checkpoint=${main.resume_checkpoint} resumes the run in ${resumeDir}, but the run folder given is ${opts.runDir}; drop one of them`, { kind: 'usage' });
  }
  const runDir = opts.runDir ?? resumeDir ?? main.run_dir;
  if (runDir === undefined || runDir === null) throw new SmnError(TrainErrorCode.RunDir, 'no run folder: pass runDir (smn train: --run-dir) or set main.run_dir', { kind: 'usage', details: { key: 'main.run_dir' } });
  if (runDir.trim() === '') throw new SmnError(TrainErrorCode.RunDir, `the run folder is an empty path (${JSON.stringify(runDir)}); give a folder (smn train: --run-dir DIR)`, { kind: 'usage', details: { key: 'main.run_dir' } });
  return { runDir, resume: Boolean(opts.resume) || resumeDir !== undefined };
}

function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, JSON.stringify(v));
  return out;
}

/** Keys whose values differ between two configs, but for where and on what the run goes; `shown`: the first five as text. */
function configDifferences(a: SmnConfig, b: SmnConfig, names: [string, string]): { keys: string[]; shown: string } {
  const fa = flatten(a);
  const fb = flatten(b);
  const keys = [...configKeys().keys()].filter((k) => !RESUME_FREE_KEYS.has(k) && fa.get(k) !== fb.get(k));
  const shown = keys.slice(0, 5).map((k) => `${k} (${fb.get(k)} ${names[1]}, ${fa.get(k)} ${names[0]})`);
  return { keys, shown: `${shown.join(', ')}${keys.length > 5 ? `, and ${keys.length - 5} more` : ''}` };
}

/** Refuses to resume a run with another config than its own: the schedule and the data order depend on it. */
export function checkResumeConfig(saved: SmnConfig, given: SmnConfig, runDir: string): void {
  const d = configDifferences(saved, given, ['in the run', 'here']);
  if (d.keys.length === 0) return;
  throw new SmnError(TrainErrorCode.ResumeConfig, `cannot resume ${runDir} with another config: ${d.shown}; resume with the run's own config.yaml (smn train --resume ${runDir}) or start a new run`, {
    kind: 'usage',
    details: { keys: d.keys },
  });
}

/**
 * Refuses a checkpoint saved with another config than the one resuming it (a config.yaml edited since the run
 * started): the checkpoint's optimizer state and position belong to the config in its header. Keys added to smn
 * after the checkpoint was saved take their defaults.
 */
export function checkCheckpointConfig(ckpt: CheckpointData, given: SmnConfig, runDir: string): void {
  if (ckpt.meta.config === undefined) return;
  const d = configDifferences(withDefaults(ckpt.meta.config), given, [`in ${RUN_FILES.checkpoint}`, `in ${RUN_FILES.config}`]);
  if (d.keys.length === 0) return;
  throw new SmnError(
    TrainErrorCode.ResumeConfig,
    `cannot resume ${runDir}: its ${RUN_FILES.config} no longer matches the config its ${RUN_FILES.checkpoint} was saved with: ${d.shown}; put the values back in ${runPaths(runDir).config} (the checkpoint's are in its header) or start a new run`,
    { kind: 'usage', details: { keys: d.keys } },
  );
}

/**
 * Writes the run's checkpoint (last.ckpt) at `position`; `finished`: the last epoch has ended. A failed write
 * (disk full, read-only, ...) leaves the previous checkpoint as it was (atomicWriteFile) and says so:
 * SMN_CKPT_WRITE, runtime.
 */
export async function saveRunCheckpoint(c: Pick<RunContext, 'exp' | 'paths' | 'state'>, position: LoopPosition, finished: boolean): Promise<void> {
  const { exp } = c;
  const parts = { vars: exp.vars.all, buffers: exp.buffers, optimizer: exp.optimizer, queue: exp.queue };
  const data = await encodeRunState(parts, { ...c.state, position }, { finished, config: exp.cfg });
  try {
    await saveCheckpoint(c.paths.checkpoint, data);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code !== 'string' || isSmnError(err)) throw err;
    const why = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'the disk is full' : e.code === 'EROFS' ? 'the file system became read-only' : e.message;
    const previous = existsSync(c.paths.checkpoint) ? `the previous ${RUN_FILES.checkpoint} is intact: free space (or fix the disk) and continue with smn train --resume ${c.paths.dir}` : 'no checkpoint was saved before; free space and start again';
    throw new SmnError(TrainErrorCode.CkptWrite, `cannot save the checkpoint ${c.paths.checkpoint} (epoch ${position.epoch}, batch ${position.batch}): ${why} (${e.syscall ?? 'write'} ${e.code}); ${previous}`, {
      cause: err,
      details: { file: c.paths.checkpoint, errno: e.code },
    });
  }
}

/**
 * The run state to start from. Resume (`resumeFrom`, the run's last.ckpt): everything from the checkpoint, and
 * metrics.jsonl cut back to the epochs it covers (a torn or later tail is dropped). New run: the weights of
 * main.load_checkpoint when set, and only then (every check of the config passed) config.yaml, overrides.yaml and an
 * empty metrics.jsonl, the first files of the run.
 */
export async function startState(
  exp: Experiment,
  paths: RunPaths,
  metrics: MetricsLog,
  opts: { resumeFrom?: CheckpointData | undefined; overrides: readonly string[]; log: (line: string) => void },
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
  if (cfg.main.load_checkpoint) {
    const given = cfg.main.load_checkpoint;
    const file = [given, join(cfg.main.checkpoint_path, given)].find((p) => existsSync(p)) ?? given;
    const skipped = loadWeights({ vars: exp.vars.all, buffers: exp.buffers }, await loadCheckpoint(checkpointFileOf(file)), { strict: cfg.main.strict_load_checkpoint, source: file });
    opts.log(`initialised from ${file}${skipped.length ? `; not loaded: ${skipped.join(', ')}` : ''}`);
  }
  await writeRunConfig(paths.dir, cfg, opts.overrides);
  await atomicWriteFile(paths.metrics, '');
  return initialRunState();
}

/**
 * Opens a run to resume before anything is built: its checkpoint (read and checked), after checking that the config
 * equals the run's config.yaml (when there is one) and the config the checkpoint was saved with, but for where and on
 * what the run goes. Call it holding the folder's lock.
 */
export async function openResume(runDir: string, config: SmnConfig): Promise<CheckpointData> {
  const paths = runPaths(runDir);
  if (!existsSync(paths.checkpoint)) {
    throw new SmnError(TrainErrorCode.ResumeNoCkpt, `cannot resume ${runDir}: it has no ${RUN_FILES.checkpoint} (the run may have stopped before its first checkpoint)`, { kind: 'usage' });
  }
  if (existsSync(paths.config)) checkResumeConfig(await readRunConfig(runDir, { doing: 'resume' }), config, runDir);
  const ckpt = await loadCheckpoint(paths.checkpoint);
  checkCheckpointConfig(ckpt, config, runDir);
  return ckpt;
}

/** A new run may not start in a folder that holds a checkpoint: that run would be lost. Call it holding the lock. */
export function refuseExistingRun(runDir: string): void {
  if (hasCheckpoint(runDir)) {
    throw new SmnError(TrainErrorCode.RunExists, `${runDir} already holds a run (its ${RUN_FILES.checkpoint}); continue it with smn train --resume ${runDir}, or choose another run folder`, { kind: 'usage', details: { path: runDir } });
  }
}
