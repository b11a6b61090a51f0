import { createLoader, type Batch } from '@smn/datasets';
import type { SmnError } from '@smn/core';
import { lrAt } from '../optim/index.js';
import { MetricsLog } from '../metrics.js';
import { runLoop, type LoopPosition } from '../loop.js';
import { createTrainStep } from '../step.js';
import { writeRunConfig, type RunPaths, type RunSummary } from '../run-folder.js';
import type { CheckpointData } from '../checkpoint.js';
import { forwardTrainSamples, maskAnalysis, probeMetrics, recomputeBatchNorm, testMetrics, validationMetrics } from './evaluate.js';
import { makeRunFolder, openResume, runTarget, saveRunCheckpoint, startState } from './open-run.js';
import { lastMetrics, runSummary, writeEmbeddings, writeMasks, writeProbe, writeReportAndSummary } from './outputs.js';
import { initialRunState } from './run-state.js';
import { setUpExperiment, type Experiment } from './setup.js';
import type { RunContext, RunOptions, RunResult } from './types.js';

export type { RunEvents, RunOptions, RunResult } from './types.js';

/**
 * Runs one experiment of the reference (SPEC §3, §5): supervised masking or fine-tuning with a head
 * (`model.pret.module=classifier`) or self-supervised masking with SwAV (`module=swav`), then the final test, kNN
 * against the train bank, embeddings, optional linear probe, masks, report and summary, all in the run folder
 * (run-folder.ts). The parts: {@link runTarget} (which folder, resume or not), {@link setUpExperiment} (model, data,
 * optimizer, objective), the run state from a checkpoint or fresh ({@link startState}), {@link trainEpochs} (one
 * shared training step, validation, the epoch-end sample forward, checkpoints), {@link finishRun} (evaluation and
 * outputs).
 */
export async function runExperiment(opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const { runDir, resume } = runTarget(opts);
  const paths = await makeRunFolder(runDir);
  let resumeFrom: CheckpointData | undefined;
  if (resume) resumeFrom = await openResume(runDir, opts.config);
  else await writeRunConfig(runDir, opts.config, opts.overrides ?? []);
  const onDownload = opts.events?.onDownload;
  const exp = await setUpExperiment(opts.config, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(onDownload ? { onProgress: (p) => onDownload(p) } : {}),
  });
  try {
    const c = await openRun(exp, paths, opts, resumeFrom);
    const completed = exp.cfg.main.train ? await trainEpochs(c) : true;
    const summary = completed ? await finishRun(c, t0) : undefined;
    return {
      runDir,
      completed,
      metrics: lastMetrics(c.metrics.records),
      maskBytes: summary?.maskBytes ?? 0,
      maskedEntries: exp.counts.maskedWeights,
      trainedEntries: exp.counts.trainedFloats + exp.counts.headMaskedWeights,
      badSamples: c.state.badSamples,
      seconds: (Date.now() - t0) / 1000,
      featureDim: exp.backbone.featureDim,
      numClasses: exp.data.numClasses,
      ...(summary ? { summary } : {}),
    };
  } finally {
    exp.dispose();
  }
}

/** The context the parts of a run share, with the state to start from. */
async function openRun(exp: Experiment, paths: RunPaths, opts: RunOptions, resumeFrom: CheckpointData | undefined): Promise<RunContext> {
  const events = opts.events ?? {};
  const c: RunContext = {
    exp,
    paths,
    state: initialRunState(),
    metrics: new MetricsLog(paths.metrics),
    workers: opts.workers ?? 1,
    ...(opts.signal ? { signal: opts.signal } : {}),
    events,
    onBadSample: (e: SmnError) => {
      c.state.badSamples++;
      events.onLog?.(`skipped a bad sample: ${e.message}`);
    },
  };
  c.state = await startState(exp, paths, c.metrics, { resumeFrom, log: (l) => events.onLog?.(l) });
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
      createLoader(data.train, { batchSize: B, shuffle: cfg.dl.shuffle, seed: cfg.main.seed, epoch, indices: data.trainIndices, transform: data.trainPreset, workers: c.workers, startBatch: skip, onBadSample: c.onBadSample }),
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
    interrupted: async (pos) => {
      await saveRunCheckpoint(c, pos, false);
      ev.onLog?.(`interrupted: checkpoint saved at epoch ${pos.epoch}, batch ${pos.batch}; continue with smn train --resume ${c.paths.dir}`);
    },
    ...(ev.onEpochBegin ? { onEpochBegin: ev.onEpochBegin } : {}),
    ...(ev.onBatchEnd ? { onBatchEnd: ev.onBatchEnd } : {}),
    ...(ev.onEpochEnd ? { onEpochEnd: ev.onEpochEnd } : {}),
  });
  c.state.position = result.position;
  return result.completed;
}

/**
 * The end of an epoch as the reference's Lightning hooks order it: the epoch's loss, lr and mask statistics, the
 * validation, then the train epoch end's sample forward (which moves BatchNorm statistics); metrics.jsonl, then the
 * checkpoint, so a resumed run continues from exactly this state.
 */
async function endEpoch(c: RunContext, epoch: number, pos: LoopPosition): Promise<Record<string, number>> {
  const { exp, state } = c;
  const m: Record<string, number> = {
    'training/train/loss': state.epochLoss.n ? state.epochLoss.sum / state.epochLoss.n : NaN,
    'training/lr/backbone': lrAt(epoch, exp.schedules.backbone),
    'training/lr/head': lrAt(epoch, exp.schedules.head),
  };
  for (const [k, v] of Object.entries(maskAnalysis(exp, pos))) m[`training/val/${k}`] = v;
  Object.assign(m, await validationMetrics(c, pos));
  await forwardTrainSamples(c, epoch, pos);
  m['data/bad_samples'] = state.badSamples;
  await c.metrics.log(epoch, pos.step, m);
  state.epochLoss = { sum: 0, n: 0 };
  await saveRunCheckpoint(c, { epoch: epoch + 1, batch: 0, step: pos.step }, epoch + 1 >= exp.cfg.dl.epochs);
  return m;
}

/**
 * After training (or without it): main.update_bn, the final test with kNN and embeddings, the probe, the final
 * metrics record, masks, report and summary (SPEC §7). Returns the summary.
 */
async function finishRun(c: RunContext, t0: number): Promise<RunSummary> {
  const { exp, state, paths } = c;
  const cfg = exp.cfg;
  const pos = { epoch: Math.max(0, (cfg.main.train ? cfg.dl.epochs : state.position.epoch) - 1), step: state.position.step };
  if (await recomputeBatchNorm(c, pos)) {
    // An interrupted pass leaves partial statistics in memory only: the checkpoint keeps the trained ones.
    if (cfg.main.train) await saveRunCheckpoint(c, { epoch: cfg.dl.epochs, batch: 0, step: pos.step }, true);
    c.events.onLog?.(`BatchNorm statistics recomputed on ${exp.data.bankIndices.length} unaugmented train images`);
  }
  const final: Record<string, number> = {};
  let probeDim: number | undefined;
  if (cfg.main.test || cfg.main.probe) {
    const test = await testMetrics(c, pos);
    Object.assign(final, test.metrics);
    await writeEmbeddings(exp, paths, test);
    if (cfg.main.probe) {
      const probe = probeMetrics(c, test);
      Object.assign(final, probe.metrics);
      if (probe.replacesHead) delete final['training/test/loss'];
      await writeProbe(exp, paths, probe);
      probeDim = test.train.dim;
    }
  }
  for (const [k, v] of Object.entries(maskAnalysis(exp, pos))) final[`training/test/${k}`] = v;
  final['data/bad_samples'] = state.badSamples;
  await c.metrics.log(cfg.main.train ? cfg.dl.epochs : 0, state.position.step, final);
  const maskBytes = await writeMasks(exp, paths, pos);
  const summary = runSummary(exp, { maskBytes, badSamples: state.badSamples, seconds: (Date.now() - t0) / 1000, records: c.metrics.records, ...(probeDim === undefined ? {} : { probeDim }) });
  await writeReportAndSummary(exp, paths, c.metrics.records, summary);
  return summary;
}
