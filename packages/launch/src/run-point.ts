import { useBackend, type BackendName } from '@smn/backend';
import { hasCheckpoint, isRunComplete, readRunSummary, runExperiment, type RunEvents, type SmnConfig } from '@smn/train';
import type { PointJobData, PointProgress, PointResult } from './types.js';

export interface RunPointOptions {
  signal?: AbortSignal;
  /** Backend when the config's main.backend is unset (default: @smn/backend's default). */
  backend?: BackendName;
  workers?: number;
  onProgress?(p: PointProgress): void;
  onLog?(line: string): void;
  /** Extra run events (the CLI's progress bars). */
  events?: RunEvents;
  /** Least time between two batch-end progress reports (default 1000 ms); epoch ends always report. */
  progressEveryMs?: number;
}

let activeBackend = '';

/** Starts the backend the config asks for (main.backend, main.device), once per process until another is asked for. */
export async function backendFor(config: SmnConfig, fallback: BackendName | undefined, onLog?: (l: string) => void): Promise<void> {
  const name = (config.main.backend ?? fallback) as BackendName | undefined;
  const device = config.main.device ?? undefined;
  const want = `${name ?? ''}/${device ?? ''}`;
  if (want === activeBackend) return;
  const choice = await useBackend(name, device ? { device } : {});
  activeBackend = want;
  onLog?.(`backend ${choice.name}`);
}

/**
 * Runs one point the way `smn train` does (runExperiment, which holds the run folder's lock for the whole run), in
 * whichever process or machine it landed: a run folder that already holds a checkpoint is resumed (the point was
 * started before by a worker that was stopped or died), one that holds summary.json is finished and only read.
 */
export async function runPoint(job: Pick<PointJobData, 'runDir' | 'overrides' | 'resume'>, config: SmnConfig, opts: RunPointOptions = {}): Promise<PointResult> {
  if (isRunComplete(job.runDir)) {
    const s = await readRunSummary(job.runDir);
    return { runDir: job.runDir, completed: true, metrics: s.metrics, seconds: 0 };
  }
  await backendFor(config, opts.backend, opts.onLog);
  const resume = job.resume || hasCheckpoint(job.runDir);
  if (resume && !job.resume) opts.onLog?.(`resuming ${job.runDir} from its checkpoint`);
  const res = await runExperiment({
    config,
    runDir: job.runDir,
    overrides: job.overrides,
    resume,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    events: progressReporter(config, opts),
  });
  return { runDir: res.runDir, completed: res.completed, metrics: res.metrics, seconds: res.seconds };
}

/** Run events that report {@link PointProgress} (throttled at batch ends) and forward to the caller's events. */
function progressReporter(config: SmnConfig, opts: RunPointOptions): RunEvents {
  const extra = opts.events ?? {};
  const every = opts.progressEveryMs ?? 1000;
  const p: PointProgress = { epoch: 0, epochs: config.dl.epochs, step: 0, stepsInEpoch: 0, metrics: {} };
  let last = 0;
  const report = (force: boolean) => {
    if (!opts.onProgress || (!force && Date.now() - last < every)) return;
    last = Date.now();
    opts.onProgress({ ...p, metrics: { ...p.metrics } });
  };
  return {
    ...extra,
    onBatchEnd(info) {
      Object.assign(p, { epoch: info.epoch + 1, epochs: info.epochs, step: info.batch, stepsInEpoch: info.batchesInEpoch });
      delete p.phase;
      report(false);
      return extra.onBatchEnd?.(info);
    },
    onEpochEnd(epoch, metrics) {
      Object.assign(p, { epoch: epoch + 1, metrics });
      report(true);
      return extra.onEpochEnd?.(epoch, metrics);
    },
    onPhase(phase, total) {
      if (phase !== 'train') {
        p.phase = phase;
        report(true);
      }
      extra.onPhase?.(phase, total);
    },
    onLog(line) {
      opts.onLog?.(line);
      extra.onLog?.(line);
    },
  };
}
