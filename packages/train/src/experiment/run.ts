import { createLoader, type Batch, type DatasetWarning } from '@smn/datasets';
import type { SmnError } from '@smn/core';
import { lrAt } from '../optim/index.js';
import { MetricsLog } from '../metrics.js';
import { runLoop, type LoopPosition } from '../loop.js';
import { createTrainStep } from '../step.js';
import { unlessInterrupted } from '../interrupt.js';
import { openRunFolder, runPaths, type RunPaths, type RunSummary } from '../run-folder.js';
import type { CheckpointData } from '../checkpoint.js';
import { forwardTrainSamples, maskAnalysis, probeMetrics, recomputeBatchNorm, testMetrics, validationMetrics, type ProbeResult, type TestResult } from './evaluate.js';
import { openResume, refuseExistingRun, runTarget, saveRunCheckpoint, startState } from './open-run.js';
import { lastMetrics, runSummary, writeEmbeddings, writeMasks, writeProbe, writeReportAndSummary } from './outputs.js';
import { initialRunState } from './run-state.js';
import { setUpExperiment, type Experiment, type ModelPosition } from './setup.js';
import type { RunContext, RunEvents, RunOptions, RunResult } from './types.js';

export type { RunEvents, RunOptions, RunResult } from './types.js';

/**
 * Runs one experiment of the reference (main.py, train(); docs/method.md#run-order, #recipes): supervised masking or fine-tuning with a head
 * (`model.pret.module=classifier`) or self-supervised masking with SwAV (`module=swav`), then the final test, kNN
 * against the train bank, embeddings, optional linear probe, masks, report and summary, all in the run folder
 * (run-folder.ts). The parts: {@link runTarget} (which folder, resume or not), {@link openRunFolder} (the folder
 * checked, locked for the whole run, cleaned), {@link setUpExperiment} (model, data, optimizer, objective), the run
 * state from a checkpoint or fresh ({@link startState}, which writes the first files once everything has been
 * checked), {@link trainEpochs} (one shared training step, validation, the epoch-end sample forward, checkpoints),
 * {@link finishRun} (evaluation and outputs).
 *
 * Interrupts (`signal`) are transactions: an epoch's metrics are written only with its validation complete, and the
 * checkpoint saved on an interrupt is a position a resume continues from to the same numbers.
 */
export async function runExperiment(opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const { runDir, resume } = runTarget(opts);
  const folder = await openRunFolder(runDir, { resume, label: lockLabel(resume) });
  let finished = false;
  try {
    for (const f of folder.removedTemps) opts.events?.onLog?.(`removed ${f}, left by a write that was killed`);
    let resumeFrom: CheckpointData | undefined;
    if (resume) resumeFrom = await openResume(runDir, opts.config);
    else refuseExistingRun(runDir);
    // A lost lock (another process took the folder over) stops the run like an interrupt, but saves nothing.
    const signal = opts.signal ? AbortSignal.any([opts.signal, folder.lost]) : folder.lost;
    const result = await runInFolder({ ...opts, signal }, runPaths(runDir), resumeFrom, { lost: folder.lost, t0 });
    if (folder.lost.aborted) throw folder.lost.reason;
    finished = true;
    return result;
  } finally {
    // A run that failed before its first file leaves no folder behind: only the empty folders it made are removed.
    await folder.close({ discard: !finished });
  }
}

/** Who holds a run folder, for whoever finds it locked: what it does and its command line. */
function lockLabel(resume: boolean): string {
  const line = process.argv.slice(2).join(' ');
  return `${resume ? 'resuming' : 'training'}: ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`;
}

/** `{ onWarning }` forwarding to `events.onWarning` when there is one (else the loaders' process warnings stay). */
function warningsOf(events: RunEvents | undefined): { onWarning?: (w: DatasetWarning) => void } {
  const on = events?.onWarning;
  return on ? { onWarning: (w) => on.call(events, w) } : {};
}

/** The run inside its locked folder: set-up, training, evaluation and outputs. */
async function runInFolder(opts: RunOptions, paths: RunPaths, resumeFrom: CheckpointData | undefined, r: { lost: AbortSignal; t0: number }): Promise<RunResult> {
  const onDownload = opts.events?.onDownload;
  const exp = await setUpExperiment(opts.config, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(onDownload ? { onProgress: (p) => onDownload(p) } : {}),
  }, warningsOf(opts.events));
  try {
    const c = await openRun(exp, paths, opts, resumeFrom, r.lost);
    const trained = exp.cfg.main.train ? await trainEpochs(c) : true;
    const summary = trained ? await finishRun(c, r.t0) : undefined;
    return {
      runDir: paths.dir,
      completed: summary !== undefined,
      metrics: lastMetrics(c.metrics.records),
      maskBytes: summary?.maskBytes ?? 0,
      maskedEntries: exp.counts.maskedWeights,
      trainedEntries: exp.counts.trainedFloats + exp.counts.headMaskedWeights,
      badSamples: c.state.badSamples,
      seconds: (Date.now() - r.t0) / 1000,
      featureDim: exp.backbone.featureDim,
      numClasses: exp.data.numClasses,
      ...(summary ? { summary } : {}),
    };
  } finally {
    exp.dispose();
  }
}

/** The context the parts of a run share, with the state to start from. */
async function openRun(exp: Experiment, paths: RunPaths, opts: RunOptions, resumeFrom: CheckpointData | undefined, lost: AbortSignal): Promise<RunContext> {
  const events = opts.events ?? {};
  const c: RunContext = {
    exp,
    paths,
    state: initialRunState(),
    metrics: new MetricsLog(paths.metrics),
    workers: opts.workers ?? 1,
    ...(opts.signal ? { signal: opts.signal } : {}),
    lost,
    events,
    ...warningsOf(events),
    onBadSample: (e: SmnError) => {
      c.state.badSamples++;
      events.onLog?.(`skipped a bad sample: ${e.message}`);
    },
  };
  c.state = await startState(exp, paths, c.metrics, { resumeFrom, overrides: opts.overrides ?? [], log: (l) => events.onLog?.(l) });
  return c;
}

/** The epochs of training from the run state's position; returns false when the signal stopped them. */
async function trainEpochs(c: RunContext): Promise<boolean> {
  const { exp, events: ev } = c;
  const { cfg, data, optimizer, schedules, queue } = exp;
  const B = cfg.dl.batch_size;
  const step = createTrainStep({ objective: exp.objective, optimizer, params: [exp.vars.backbone, exp.vars.head], divergenceHint: `lower dl.lr (now ${cfg.dl.lr})` });
  ev.onPhase?.('train', cfg.dl.epochs);
  const result = await runLoop<Batch>({
    epochs: cfg.dl.epochs,
    start: c.state.position,
    ...(c.signal ? { signal: c.signal } : {}),
    batchesInEpoch: () => Math.ceil(data.trainIndices.length / B),
    batches: (epoch, skip) =>
      createLoader(data.train, { batchSize: B, shuffle: cfg.dl.shuffle, seed: cfg.main.seed, epoch, indices: data.trainIndices, transform: data.trainPreset, workers: c.workers, startBatch: skip, onBadSample: c.onBadSample, ...(c.onWarning ? { onWarning: c.onWarning } : {}) }),
    beginEpoch: (epoch) => {
      optimizer.setLr('backbone', lrAt(epoch, schedules.backbone));
      optimizer.setLr('head', lrAt(epoch, schedules.head));
      queue?.startEpoch(epoch, cfg.swav.epoch_queue_starts);
    },
    step: async (batch, pos) => {
      const loss = await step(batch, pos);
      c.state.epochLoss.sum += loss;
      c.state.epochLoss.n += 1;
      return loss;
    },
    endEpoch: (epoch, pos) => endEpoch(c, epoch, pos),
    interrupted: (pos) => saveInterrupted(c, pos, Math.ceil(data.trainIndices.length / B)),
    ...(ev.onEpochBegin ? { onEpochBegin: ev.onEpochBegin } : {}),
    ...(ev.onBatchEnd ? { onBatchEnd: ev.onBatchEnd } : {}),
    ...(ev.onEpochEnd ? { onEpochEnd: ev.onEpochEnd } : {}),
  });
  c.state.position = result.position;
  return result.completed;
}

/** The checkpoint of an interrupted run at `pos`, unless the folder's lock was lost (then nothing more is written). */
async function saveInterrupted(c: RunContext, pos: LoopPosition, batches: number): Promise<void> {
  if (c.lost?.aborted) throw c.lost.reason;
  await saveRunCheckpoint(c, pos, false);
  // Epochs counted from 1 as the progress lines count them.
  const where =
    pos.batch >= batches
      ? `after the training steps of epoch ${pos.epoch + 1}, before its validation (a resume validates again)`
      : `at epoch ${pos.epoch + 1}, batch ${pos.batch}`;
  c.events.onLog?.(`interrupted: checkpoint saved ${where}; continue with smn train --resume ${c.paths.dir}`);
}

/**
 * The end of an epoch as the reference's Lightning hooks order it: the epoch's loss, lr and mask statistics, the
 * validation, then the train epoch end's sample forward (which moves BatchNorm statistics); metrics.jsonl, then the
 * checkpoint, so a resumed run continues from exactly this state. An interrupt during the validation returns null
 * with nothing written and the state as the training steps left it (the loop saves that); after the validation the
 * epoch end runs to its end, since the sample forward cannot be undone.
 */
async function endEpoch(c: RunContext, epoch: number, pos: LoopPosition): Promise<Record<string, number> | null> {
  const { exp, state } = c;
  const m: Record<string, number> = {
    'training/train/loss': state.epochLoss.n ? state.epochLoss.sum / state.epochLoss.n : NaN,
    'training/lr/backbone': lrAt(epoch, exp.schedules.backbone),
    'training/lr/head': lrAt(epoch, exp.schedules.head),
  };
  for (const [k, v] of Object.entries(maskAnalysis(exp, pos))) m[`training/val/${k}`] = v;
  const badBefore = state.badSamples;
  const val = await unlessInterrupted(c.signal, () => validationMetrics(c, pos));
  if (val === null) {
    // The resume validates again and counts its bad samples again.
    state.badSamples = badBefore;
    return null;
  }
  Object.assign(m, val);
  await forwardTrainSamples(c, epoch, pos);
  m['data/bad_samples'] = state.badSamples;
  await c.metrics.log(epoch, pos.step, m);
  state.epochLoss = { sum: 0, n: 0 };
  await saveRunCheckpoint(c, { epoch: epoch + 1, batch: 0, step: pos.step }, epoch + 1 >= exp.cfg.dl.epochs);
  return m;
}

/**
 * After training (or without it): main.update_bn, the final test with kNN and embeddings, the probe, the final
 * metrics record, masks, report and summary (docs/method.md#evaluation). Returns the summary, or undefined when interrupted before
 * the outputs (nothing of the evaluation is written then; a resume evaluates again from the last checkpoint).
 */
async function finishRun(c: RunContext, t0: number): Promise<RunSummary | undefined> {
  const { exp, state, paths } = c;
  const cfg = exp.cfg;
  const pos = { epoch: Math.max(0, (cfg.main.train ? cfg.dl.epochs : state.position.epoch) - 1), step: state.position.step };
  const evaluated = await finalEvaluation(c, pos);
  if (evaluated === null) {
    if (c.lost?.aborted) throw c.lost.reason;
    const next = cfg.main.train ? `continue with smn train --resume ${paths.dir}` : 'run it again (a run without training keeps no checkpoint)';
    c.events.onLog?.(`interrupted during the final evaluation: nothing of it was written; ${next}`);
    return undefined;
  }
  const { final, test, probe } = evaluated;
  if (test) await writeEmbeddings(exp, paths, test);
  if (probe) await writeProbe(exp, paths, probe);
  for (const [k, v] of Object.entries(maskAnalysis(exp, pos))) final[`training/test/${k}`] = v;
  final['data/bad_samples'] = state.badSamples;
  await c.metrics.log(cfg.main.train ? cfg.dl.epochs : 0, state.position.step, final);
  const maskBytes = await writeMasks(exp, paths, pos);
  const probeDim = probe ? test!.train.dim : undefined;
  const summary = runSummary(exp, { maskBytes, badSamples: state.badSamples, seconds: (Date.now() - t0) / 1000, records: c.metrics.records, ...(probeDim === undefined ? {} : { probeDim }) });
  await writeReportAndSummary(exp, paths, c.metrics.records, summary);
  return summary;
}

/**
 * main.update_bn (saved in the checkpoint once complete), the final test and the probe: their metrics, or null when
 * interrupted before all of them were done.
 */
async function finalEvaluation(c: RunContext, pos: ModelPosition): Promise<{ final: Record<string, number>; test?: TestResult; probe?: ProbeResult } | null> {
  const { exp, state } = c;
  const cfg = exp.cfg;
  const bn = await unlessInterrupted(c.signal, () => recomputeBatchNorm(c, pos));
  if (bn === null) return null; // partial statistics stay in memory only: the checkpoint keeps the trained ones
  if (bn) {
    if (cfg.main.train) await saveRunCheckpoint(c, { epoch: cfg.dl.epochs, batch: 0, step: state.position.step }, true);
    c.events.onLog?.(`BatchNorm statistics recomputed on ${exp.data.bankIndices.length} unaugmented train images`);
  }
  const final: Record<string, number> = {};
  if (!cfg.main.test && !cfg.main.probe) return { final };
  const test = await unlessInterrupted(c.signal, () => testMetrics(c, pos));
  if (test === null) return null;
  Object.assign(final, test.metrics);
  if (!cfg.main.probe) return { final, test };
  const probe = probeMetrics(c, test);
  if (c.signal?.aborted) return null;
  Object.assign(final, probe.metrics);
  if (probe.replacesHead) delete final['training/test/loss'];
  return { final, test, probe };
}
