import { formatSweepStatus, type SweepStatus } from '@smn/launch';
import type { CommandContext } from './command.js';

export interface SweepTable {
  /** A new status (launchSweep / launchCascade's onStatus). */
  onStatus(s: SweepStatus): void;
  /** A line to show above the table (a point's log). */
  log(line: string): void;
  /** The sweep ended (or stopped being followed): the last table stays on screen. Call it before printing anything else. */
  done(s: SweepStatus): void;
}

/** Least time between two redraws on a terminal, and between two progress-only tables in plain mode. */
const TTY_REDRAW_MS = 250;
const PLAIN_EVERY_MS = 10_000;

/**
 * The table of a followed sweep (@smn/launch's formatSweepStatus: queued / running / done / failed, epoch, latest
 * metric). On a terminal it is redrawn in place (cursor up, clear to the end of the screen) whenever a point changes
 * state, and at most every 250 ms for progress; log lines are printed above it. Elsewhere (CI logs, pipes) the table is
 * printed when a point changes state, and at most every 10 s for progress alone.
 */
export function sweepTable(ctx: CommandContext): SweepTable {
  const err = ctx.err;
  const tty = ctx.interactive;
  let drawn = 0;
  let lastStates = '';
  let lastTime = 0;
  let last: SweepStatus | undefined;
  // A terminal that does not say its width (0, as some pseudo-terminals) gets 120 columns.
  const columns = () => Math.max(20, (err as { columns?: number }).columns || 120);
  const erase = () => {
    if (drawn > 0) err.write(`\x1b[${drawn}A\r\x1b[J`);
    drawn = 0;
  };
  const draw = (s: SweepStatus) => {
    // Lines cut at the terminal's width: a wrapped line would make the cursor-up count wrong.
    const lines = formatSweepStatus(s).trimEnd().split('\n').map((l) => (l.length > columns() - 1 ? `${l.slice(0, columns() - 2)}…` : l));
    erase();
    err.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  return {
    onStatus(s) {
      last = s;
      const states = s.points.map((p) => p.state).join();
      const changed = states !== lastStates;
      if (!changed && Date.now() - lastTime < (tty ? TTY_REDRAW_MS : PLAIN_EVERY_MS)) return;
      lastStates = states;
      lastTime = Date.now();
      if (tty) draw(s);
      else err.write(formatSweepStatus(s));
    },
    log(line) {
      if (!tty) return void err.write(`${line}\n`);
      erase();
      err.write(`${line}\n`);
      if (last) draw(last);
    },
    done(s) {
      if (tty) draw(s);
      else err.write(formatSweepStatus(s));
    },
  };
}
