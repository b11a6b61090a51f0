import { isSmnError, SmnError } from '@smn/core';
import type { FetchProgress } from '@smn/hub';
import { isAbortError, TrainErrorCode, type RunEvents } from '@smn/train';
import type { CommandContext } from './command.js';

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/**
 * Progress display for the run events: a redrawn bar on a terminal, plain lines otherwise (CI logs, pipes).
 * `label` prefixes every line (the run's name).
 */
export function progressEvents(ctx: CommandContext, label: string): RunEvents & { done(): void } {
  const tty = ctx.interactive;
  const err = ctx.err;
  let phase = '';
  let phaseStart = Date.now();
  let lastPlain = 0;
  let open = false;
  const clear = () => {
    if (tty && open) {
      err.write('\r\x1b[2K');
      open = false;
    }
  };
  const bar = (done: number, total: number, extra: string) => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const elapsed = (Date.now() - phaseStart) / 1000;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : NaN;
    if (tty) {
      const w = 24;
      const fill = Math.round(frac * w);
      err.write(`\r\x1b[2K${label} ${phase} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${done}/${total} ${extra} ${fmtTime(elapsed)}<${fmtTime(eta)}`);
      open = true;
    } else if (Date.now() - lastPlain > 10_000 || done === total) {
      lastPlain = Date.now();
      err.write(`${label} ${phase} ${done}/${total} ${extra} elapsed ${fmtTime(elapsed)} eta ${fmtTime(eta)}\n`);
    }
  };
  const downloads = fetchProgress(ctx);
  return {
    onDownload(p) {
      clear();
      downloads.onProgress(p);
    },
    onPhase(p) {
      clear();
      phase = p;
      phaseStart = Date.now();
      lastPlain = 0;
    },
    onProgress(p, done, total) {
      if (p !== phase) {
        phase = p;
        phaseStart = Date.now();
      }
      bar(done, total, '');
    },
    onBatchEnd(info) {
      if (phase !== 'train') {
        phase = 'train';
        phaseStart = Date.now();
      }
      const total = info.batchesInEpoch;
      bar(info.batch, total, `epoch ${info.epoch + 1}/${info.epochs} loss ${info.loss.toFixed(4)}`);
    },
    onEpochEnd(epoch, m) {
      clear();
      const shown = Object.entries(m)
        .filter(([k]) => /train\/loss|val\/accuracy|val\/loss|knn_accuracy|model_analysis\/mean_mask$/.test(k))
        .map(([k, v]) => `${k.replace('training/', '')}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
        .join(' ');
      err.write(`${label} epoch ${epoch + 1}: ${shown}\n`);
      phaseStart = Date.now();
    },
    onLog(line) {
      clear();
      err.write(`${label} ${line}\n`);
    },
    onWarning(w) {
      clear();
      err.write(`smn: warning [${w.code}]: ${w.message}\n`);
    },
    done() {
      clear();
      downloads.done();
    },
  };
}

/**
 * Signals within this long of the first count as that one interruption. Ctrl-C on `pnpm smn train` reaches the process
 * as several signals within milliseconds (the terminal's SIGINT to the whole process group, pnpm's forwarded SIGINT
 * and then SIGTERM, tsx's forwarded SIGINT); were the second taken as "exit now", no checkpoint would be saved.
 */
export const SIGNAL_WINDOW_MS = 2_000;

/** What {@link interruptController} gives a command. */
export interface Interrupt {
  /** Aborts on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Whether a signal came. */
  interrupted(): boolean;
  /**
   * The exit code for an error a command caught: 130 (and the error's message printed) when it is what the
   * interruption made a step throw (a download or data loading stopped, see `isAbortError`), else undefined: a real
   * error, to be reported as such (a checkpoint that could not be saved on the way out is one).
   */
  exitCodeOf(err: unknown): number | undefined;
  dispose(): void;
}

/**
 * An AbortController tied to SIGINT/SIGTERM. The first signal aborts (`doing` says what then happens: a run saves a
 * checkpoint, a download keeps its partial file); further signals within {@link SIGNAL_WINDOW_MS} are the same
 * interruption; one after that exits at once with 130 (what was being written is left as it was: files are written
 * atomically). Every interruption exits 130.
 */
export function interruptController(ctx: CommandContext, doing = 'saving a checkpoint and stopping', windowMs = SIGNAL_WINDOW_MS): Interrupt {
  const ac = new AbortController();
  let first = 0;
  const handler = (sig: NodeJS.Signals) => {
    const now = Date.now();
    if (first === 0) {
      first = now;
      ctx.err.write(`\nsmn: ${sig}: ${doing} (a signal after ${windowMs / 1000} s exits at once)\n`);
      ac.abort(new SmnError(TrainErrorCode.Interrupted, `interrupted by ${sig}`, { details: { signal: sig } }));
    } else if (now - first >= windowMs) {
      ctx.err.write(`\nsmn: ${sig} again: exiting now\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    interrupted: () => first > 0,
    exitCodeOf(err) {
      if (first === 0 || !isAbortError(err, ac.signal)) return undefined;
      ctx.err.write(`smn: stopped: ${isSmnError(err) ? err.message : String((err as Error)?.message ?? err)}\n`);
      return 130;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * Runs a command's work under an interrupt controller installed before anything else, so a signal during the set-up
 * is an interruption too: the error an interruption makes a step throw becomes exit 130, any other error goes on to
 * the CLI's error boundary.
 */
export async function interruptible(ctx: CommandContext, work: (intr: Interrupt) => Promise<number>): Promise<number> {
  const intr = interruptController(ctx);
  try {
    return await work(intr);
  } catch (err) {
    const code = intr.exitCodeOf(err);
    if (code !== undefined) return code;
    throw err;
  } finally {
    intr.dispose();
  }
}

/** 1234567 → "1.2 MB" (decimal units, as download sizes are usually given). */
export function fmtBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Progress display for @smn/hub's `onProgress` (downloads): on a terminal a redrawn bar with bytes, rate and ETA per
 * file; otherwise plain lines (one when a file starts, with its URL; one every 10 s; one when it is complete).
 */
export function fetchProgress(ctx: CommandContext): { onProgress(p: FetchProgress): void; done(): void } {
  const err = ctx.err;
  let current = '';
  let started = 0;
  let lastPlain = 0;
  let open = false;
  const completed = new Set<string>();
  const finishLine = () => {
    if (open) err.write('\n');
    open = false;
  };
  return {
    onProgress(p) {
      const label = `${p.name} ${p.file}`;
      if (label !== current) {
        finishLine();
        current = label;
        started = Date.now();
        lastPlain = started;
        const resumed = p.resumedFrom > 0 ? `, continuing at ${fmtBytes(p.resumedFrom)}` : '';
        if (!ctx.interactive) err.write(`${label}: fetching ${p.url}${resumed}\n`);
      }
      // The hub reports the last chunk and then the verified file: one completion line per file.
      const complete = p.total !== undefined && p.bytes >= p.total && !completed.has(label);
      if (complete) completed.add(label);
      else if (completed.has(label)) return;
      const size = p.total !== undefined ? `${fmtBytes(p.bytes)}/${fmtBytes(p.total)}` : fmtBytes(p.bytes);
      const eta = p.total !== undefined && p.rate > 0 ? (p.total - p.bytes) / p.rate : NaN;
      const elapsed = (Date.now() - started) / 1000;
      const rate = `${fmtBytes(Math.round(p.rate))}/s`;
      if (ctx.interactive) {
        const w = 24;
        const fill = p.total ? Math.round(Math.min(1, p.bytes / p.total) * w) : 0;
        const bar = p.total ? ` [${'#'.repeat(fill)}${'.'.repeat(w - fill)}]` : '';
        err.write(`\r\x1b[2K${label}${bar} ${size} ${rate} ${fmtTime(elapsed)}<${fmtTime(eta)}`);
        open = true;
        if (complete) finishLine();
      } else if (complete) {
        err.write(`${label}: ${fmtBytes(p.bytes)} in ${fmtTime(elapsed)} (${rate})\n`);
      } else if (Date.now() - lastPlain > 10_000) {
        lastPlain = Date.now();
        err.write(`${label}: ${size} ${rate} eta ${fmtTime(eta)}\n`);
      }
    },
    done: finishLine,
  };
}

/**
 * Runs a @smn/hub fetch with the progress display and Ctrl-C wired in: the first SIGINT/SIGTERM aborts it through its
 * AbortSignal (the partial file stays for the next fetch). Returns undefined when it was stopped that way (exit 130).
 */
export async function withFetchProgress<T>(
  ctx: CommandContext,
  fetch: (opts: { signal: AbortSignal; onProgress: (p: FetchProgress) => void }) => Promise<T>,
): Promise<T | undefined> {
  const intr = interruptController(ctx, 'stopping the download (the partial file stays; fetch again to continue)');
  const progress = fetchProgress(ctx);
  try {
    const value = await fetch({ signal: intr.signal, onProgress: (p) => progress.onProgress(p) });
    progress.done();
    return value;
  } catch (err) {
    progress.done();
    // Stopped while downloading (SMN_HUB_ABORTED) or while waiting for another process's download (a lock error).
    if (intr.interrupted() && isSmnError(err)) {
      ctx.err.write(`smn: ${err.message}\n`);
      return undefined;
    }
    throw err;
  } finally {
    intr.dispose();
  }
}
