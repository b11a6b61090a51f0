import type { BackendName } from '@smn/backend';
import type { CascadeResult, RunEvents, SmnConfig } from '@smn/train';

/** The launchers of a sweep (`smn train --multirun --launcher NAME`). */
export const LAUNCHERS = ['basic', 'local', 'queue'] as const;
export type LauncherName = (typeof LAUNCHERS)[number];

/** One point of a sweep: a resolved config, its run folder and the overrides that made it (what `smn train` runs). */
export interface SweepPoint {
  config: SmnConfig;
  runDir: string;
  overrides: string[];
  /** Continue the run in `runDir` from its last.ckpt. */
  resume: boolean;
}

/**
 * What travels to another process or machine for one point: data only, never code. The config is the YAML of the
 * run's config.yaml, so a worker reads it back with the same schema and conversions as `smn train --resume`.
 */
export interface PointJobData {
  sweepId: string;
  index: number;
  /** configToYaml of the resolved config. */
  configYaml: string;
  /** Absolute: workers run in other folders (and on other machines, over a shared filesystem). */
  runDir: string;
  overrides: string[];
  resume: boolean;
}

/** What a running point reports (job.updateProgress for the queue; IPC for `local`). */
export interface PointProgress {
  /** 1-based epoch being trained, or the last finished one after an epoch end. */
  epoch: number;
  epochs: number;
  /** Batch within the epoch. */
  step: number;
  stepsInEpoch: number;
  /** Latest metrics (of the last epoch end). */
  metrics: Record<string, number>;
  /** Phase after training ('validate', 'embed train', ...). */
  phase?: string;
}

export type PointState = 'queued' | 'running' | 'done' | 'failed';

export interface PointStatus {
  index: number;
  runDir: string;
  overrides: string[];
  state: PointState;
  progress?: PointProgress;
  /** Final metrics of a finished point. */
  metrics?: Record<string, number>;
  /** Why a failed point failed (its error message, with its code). */
  error?: string;
}

export interface SweepStatus {
  sweepId: string;
  launcher: LauncherName;
  points: PointStatus[];
}

/** What a finished point returns (the job's return value). */
export interface PointResult {
  runDir: string;
  completed: boolean;
  metrics: Record<string, number>;
  seconds: number;
  /** The ensemble step of a cascade: its results (also in cascade.json). */
  cascade?: CascadeResult;
}

/**
 * The data of a cascade's ensemble job (launchCascade with `queue`): runCascade's options, paths absolute. `runDir`
 * (the cascade folder) and `overrides` (none) make it read like a point in a sweep's status.
 */
export interface CascadeJobData {
  sweepId: string;
  index: number;
  runDir: string;
  overrides: string[];
  cascade: {
    dispatcher: string;
    out: string;
    clusters: number;
    method: 'gmm' | 'kmeans';
    epochsScale: number;
    base: number;
    probe: boolean;
    overrides: string[];
  };
}

/** Options of {@link launchSweep}. */
export interface LaunchOptions {
  launcher: LauncherName;
  /** `local`: child processes at a time (default 1). */
  jobs?: number;
  /** `queue`: redis:// or rediss:// URL (default SMN_REDIS_URL). */
  redis?: string;
  /** `queue`: return once enqueued, without following the points. */
  detach?: boolean;
  /** Default: a new time-stamped id. */
  sweepId?: string;
  /** Backend for `basic` and `local` when the config's main.backend is unset. */
  backend?: BackendName;
  /** Data-loading threads per run. */
  workers?: number;
  /** basic/local: stops the runs (each saves its checkpoint). queue: stops following (the jobs go on). */
  signal?: AbortSignal;
  /** Called whenever a point changes state or reports progress (the CLI draws its table from it). */
  onStatus?(status: SweepStatus): void;
  /** `basic`: the run events of point `index` (progress bars in the CLI). */
  runEvents?(index: number, point: SweepPoint): RunEvents & { done?(): void };
  /** Lines worth showing (a point starting, a backend chosen, a child's stderr). */
  onLog?(line: string): void;
  /** `queue` when following: how often to read the status (default 1000 ms). */
  pollMs?: number;
}

export interface LaunchResult {
  sweepId: string;
  status: SweepStatus;
  /** Every point finished (false also when detached: nothing is known yet). */
  ok: boolean;
  /** A signal stopped the sweep before its end. */
  interrupted: boolean;
}
