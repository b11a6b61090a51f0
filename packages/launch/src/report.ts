import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SmnError } from '@smn/core';
import { isRunComplete, readRunConfig, readRunSummary, renderReport, type RunSummary } from '@smn/train';
import { LaunchErrorCode } from './errors.js';
import type { PointStatus, SweepStatus } from './types.js';

/** One row of a sweep report: a point, its state and, when it finished, its summary.json. */
export interface SweepReportPoint {
  index: number;
  runDir: string;
  /** What tells the point apart: its overrides (from the queue), or the config keys that differ between the run folders. */
  overrides: string[];
  /** From the queue; `unfinished` for a run folder without summary.json (running, stopped or failed: a folder cannot say). */
  state: PointStatus['state'] | 'unfinished';
  summary?: RunSummary;
  error?: string;
}

/**
 * The metric a point's accuracy is, first found: the test accuracy of a trained classifier (supervised masking,
 * fine-tuning), else the linear probe's (main.probe=1), else the kNN accuracy against the train set (self-supervised
 * masking without a probe).
 */
const ACCURACY_KEYS = ['training/test/accuracy', 'training/probe/accuracy', 'training/test/knn_accuracy_mem_train'] as const;

export function accuracyOf(metrics: Record<string, number>): { key: string; value: number } | undefined {
  const key = ACCURACY_KEYS.find((k) => typeof metrics[k] === 'number');
  return key === undefined ? undefined : { key, value: metrics[key]! };
}

/**
 * What a run stores beside the pretrained backbone, in bytes: its masks (`masks.smnmask`, gzip, summary.json's
 * maskBytes), plus 4 bytes per trained float (fine-tuned weights and heads) and per linear-probe float. The paper's
 * trade-off (Table 1: 1 bit per mask entry against 32 per weight) in bytes on disk.
 */
export function storedBytesOf(s: RunSummary): number {
  return s.maskBytes + 4 * (s.trainedFloats + s.probeFloats);
}

/** The report's points from a sweep's status (Redis, or a basic / local launch): summaries read from the run folders. */
export async function reportPointsOf(status: SweepStatus): Promise<SweepReportPoint[]> {
  return Promise.all(
    status.points.map(async (p) => ({
      index: p.index,
      runDir: p.runDir,
      overrides: p.overrides,
      state: p.state,
      ...(p.state === 'done' && p.runDir && isRunComplete(p.runDir) ? { summary: await readRunSummary(p.runDir) } : {}),
      ...(p.error ? { error: p.error } : {}),
    })),
  );
}

/**
 * The report's points from run folders alone (`--run-dir DIR` of the sweep: its points are DIR-0, DIR-1, ...), when
 * Redis is gone or the sweep ran with the basic or local launcher. A point's overrides are the config keys whose
 * values differ between the folders.
 */
export async function reportPointsFromRunDirs(runDir: string): Promise<SweepReportPoint[]> {
  const parent = dirname(runDir);
  const prefix = `${basename(runDir)}-`;
  const names = existsSync(parent) ? (await readdir(parent)).filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length))) : [];
  if (names.length === 0) {
    throw new SmnError(LaunchErrorCode.NoPoints, `no run folders ${runDir}-0, ${runDir}-1, ... : --run-dir is the one the sweep was launched with (its points are DIR-<k>)`, { kind: 'usage' });
  }
  const dirs = names.map((n) => ({ k: Number(n.slice(prefix.length)), dir: join(parent, n) })).sort((a, b) => a.k - b.k);
  const configs = await Promise.all(dirs.map(({ dir }) => readRunConfig(dir, { doing: 'report on' }).then(flatten)));
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))].filter((key) => new Set(configs.map((c) => JSON.stringify(c[key]))).size > 1).sort();
  return Promise.all(
    dirs.map(async ({ k, dir }, i) => {
      const done = isRunComplete(dir);
      return { index: k, runDir: dir, overrides: keys.map((key) => `${key}=${configs[i]![key] ?? 'null'}`), state: done ? ('done' as const) : ('unfinished' as const), ...(done ? { summary: await readRunSummary(dir) } : {}) };
    }),
  );
}

function flatten(obj: object, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = Array.isArray(v) ? JSON.stringify(v) : v;
  }
  return out;
}

/** Final metrics a report tables: test and probe results and the share of weights kept (not the per-layer analysis). */
const REPORTED = /^training\/(test|probe)\/(?!model_analysis\/)|model_analysis\/mean_mask$/;

/**
 * A sweep's HTML report (@smn/train's renderReport, like a run's report.html): a table of every point (state,
 * overrides, accuracy, stored bytes, trained bits), a table of their final metrics, and accuracy against stored bytes
 * (log10 scale), one marker per finished point: the paper's trade-off in one picture.
 */
export function renderSweepReport(title: string, points: readonly SweepReportPoint[]): string {
  // Overrides every point shares are said once, above the table (as formatSweepStatus leaves them out).
  const shared = points.length > 1 ? points.slice(1).reduce((acc, p) => acc.filter((o) => p.overrides.includes(o)), points[0]!.overrides) : [];
  const own = (p: SweepReportPoint) => p.overrides.filter((o) => !shared.includes(o));
  const label = (p: SweepReportPoint) => `${p.index}${own(p).length ? `: ${own(p).join(' ')}` : ''}`;
  const dash = '-';
  const rows = points.map((p) => {
    const acc = p.summary && accuracyOf(p.summary.metrics);
    return [
      p.index,
      p.state,
      own(p).join(' ') || dash,
      acc ? acc.value : dash,
      acc ? acc.key.replace(/^training\//, '') : dash,
      p.summary ? storedBytesOf(p.summary) : dash,
      p.summary ? p.summary.maskBytes : dash,
      p.summary ? p.summary.trainedBits : dash,
      p.summary ? Math.round(p.summary.seconds) : dash,
      p.runDir,
      p.error ?? '',
    ];
  });
  const metricKeys = [...new Set(points.flatMap((p) => Object.keys(p.summary?.metrics ?? {})))].filter((k) => REPORTED.test(k)).sort();
  const plotted = points.flatMap((p) => {
    const acc = p.summary && accuracyOf(p.summary.metrics);
    return acc ? [{ label: label(p), points: [[Math.log10(storedBytesOf(p.summary!)), acc.value]] as [number, number][] }] : [];
  });
  return renderReport(title, [
    {
      title: 'Points',
      text: `${points.length} points: ${(['done', 'failed', 'running', 'queued', 'unfinished'] as const).map((s) => `${points.filter((p) => p.state === s).length} ${s}`).join(', ')}.${shared.length ? ` Every point has ${shared.join(' ')}.` : ''} Stored bytes: the masks (gzip) plus 4 bytes per trained or probe float.`,
      table: { columns: ['point', 'state', 'overrides', 'accuracy', 'metric', 'stored bytes', 'mask bytes', 'trained bits', 'seconds', 'run folder', 'error'], rows },
    },
    {
      title: 'Accuracy against stored bytes',
      charts: [{ title: 'accuracy vs log10(stored bytes)', series: plotted, xLabel: 'log10(stored bytes)' }],
    },
    {
      title: 'Final metrics',
      table: { columns: ['point', ...metricKeys.map((k) => k.replace(/^training\//, ''))], rows: points.map((p) => [p.index, ...metricKeys.map((k) => p.summary?.metrics[k] ?? dash)]) },
    },
  ]);
}
