import type { SmnError } from '@smn/core';
import type { DatasetWarning } from '@smn/datasets';
import type { FetchProgress } from '@smn/hub';
import type { SmnConfig } from '../config/index.js';
import type { LoopCallbacks } from '../loop.js';
import type { MetricsLog } from '../metrics.js';
import type { RunPaths, RunSummary } from '../run-folder.js';
import type { RunState } from './run-state.js';
import type { Experiment } from './setup.js';

/** What a caller can watch while a run goes (the CLI hangs progress bars here). */
export interface RunEvents extends LoopCallbacks {
  /** A phase starts: 'train', 'validate', 'embed train', 'embed test', 'probe', ... */
  onPhase?(phase: string, total?: number): void;
  onProgress?(phase: string, done: number, total: number): void;
  onLog?(line: string): void;
  /**
   * A problem that does not stop the run, from the data loading (`SMN_DATA_WORKERS_CAPPED`, `SMN_DATA_NOT_REGULAR`
   * for skipped folder entries). Without it they become Node process warnings.
   */
  onWarning?(w: DatasetWarning): void;
  /** Bytes of a weight file or dataset being fetched into the cache on first use (@smn/hub). */
  onDownload?(p: FetchProgress): void;
}

export interface RunOptions {
  config: SmnConfig;
  /**
   * The run folder. Default: the folder of `main.resume_checkpoint` when set (the run is then resumed), else
   * `main.run_dir`; one of them is needed.
   */
  runDir?: string;
  /** Command-line overrides, saved in overrides.yaml. */
  overrides?: string[];
  /**
   * Continue from runDir/last.ckpt (also when `main.resume_checkpoint` is set). The config must equal the run's
   * config.yaml except for main.resume_checkpoint, main.run_dir, main.backend and main.device.
   */
  resume?: boolean;
  signal?: AbortSignal;
  /** Worker threads for data loading (default 1). */
  workers?: number;
  events?: RunEvents;
}

export interface RunResult {
  runDir: string;
  completed: boolean;
  /** Last value of every metric. */
  metrics: Record<string, number>;
  /** Bytes of masks.smnmask (0 when nothing is masked). */
  maskBytes: number;
  /** Masked / trained entry counts. */
  maskedEntries: number;
  trainedEntries: number;
  badSamples: number;
  seconds: number;
  featureDim: number;
  numClasses: number;
  /** What summary.json of the run folder holds (undefined when the run did not complete). */
  summary?: RunSummary;
}

/** What the parts of a run share (internal): the experiment, its folder and state, and the caller's options. */
export interface RunContext {
  exp: Experiment;
  paths: RunPaths;
  state: RunState;
  metrics: MetricsLog;
  workers: number;
  /** The caller's signal and the folder's lost lock together: a part of the run stops when it aborts. */
  signal?: AbortSignal;
  /** Aborts when the run folder's lock was lost: nothing more may be written. */
  lost?: AbortSignal;
  events: RunEvents;
  /** Counts and reports a sample that could not be decoded. */
  onBadSample(e: SmnError): void;
  /** `events.onWarning`, when the caller gave one (the data loaders take it). */
  onWarning?: (w: DatasetWarning) => void;
}
