import { resolve } from 'node:path';
import { atomicWriteFile, docsUrl } from '@smn/core';
import { formatSweepStatus, renderSweepReport, reportPointsFromRunDirs, reportPointsOf, sweepStatus } from '@smn/launch';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';

const SPEC = defineSpec({
  name: 'sweep',
  usage: ['smn sweep status ID [--redis URL] [--json]', 'smn sweep report ID [--redis URL] [--out FILE]', 'smn sweep report --run-dir DIR [--out FILE]'],
  description: `Reads a queued sweep (smn train --multirun --launcher queue, or smn cascade --launcher queue) from Redis,
from any machine (${docsUrl('distributed.md')}).

  status   every point's state (queued, running, done, failed), epoch, latest metric and overrides, and the error of
           a failed point. Exits 0 when every point is done, 1 otherwise.
  report   an HTML report (like a run's report.html): every point with its overrides, accuracy, stored bytes and final
           metrics, and a plot of accuracy against stored bytes (masks + 4 bytes per trained or probe float; log10).
           Reads each point's summary.json from its run folder. With --run-dir DIR instead of ID it needs no Redis:
           the points are the folders DIR-0, DIR-1, ... (any launcher), told apart by the config keys that differ.`,
  subcommands: { status: 'the state of every point of sweep ID', report: 'an HTML report of sweep ID (or of the folders DIR-<k>)' },
  positionals: [{ name: 'ID', description: 'the sweep id smn train printed' }],
  flags: {
    redis: { type: 'string', value: 'URL', description: 'Redis: redis://[user:password@]host[:port][/db], or rediss:// (TLS)', defaultText: '$SMN_REDIS_URL' },
    json: { type: 'boolean', description: 'status: print the status as JSON' },
    out: { type: 'string', value: 'FILE', description: 'report: the HTML file', defaultText: 'sweep-ID.html, or DIR-report.html with --run-dir' },
    'run-dir': { type: 'string', value: 'DIR', description: "report: the sweep's --run-dir; reads DIR-<k> without Redis" },
  },
});

const command: Command = {
  name: 'sweep',
  summary: 'the status or HTML report of a sweep, from any machine',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flags, subcommand, positionals } = parseFlags(SPEC, ctx.argv);
    const id = positionals[0];
    const redis = flags.redis ? { redis: flags.redis } : {};
    if (subcommand === 'report') {
      const runDir = flags['run-dir'];
      if (!id === !runDir) throw usageError('smn sweep report needs the sweep ID (read from Redis) or --run-dir DIR (the folders DIR-<k>), one of them');
      const points = runDir ? await reportPointsFromRunDirs(runDir) : await reportPointsOf(await sweepStatus(id!, redis));
      const out = resolve(flags.out ?? (runDir ? `${runDir}-report.html` : `sweep-${id}.html`));
      await atomicWriteFile(out, renderSweepReport(`smn sweep ${id ?? runDir}`, points));
      ctx.out.write(`${out}\n`);
      return 0;
    }
    if (!id) throw usageError('smn sweep status needs the sweep ID');
    if (flags['run-dir'] || flags.out) throw usageError('--run-dir and --out are flags of smn sweep report');
    const status = await sweepStatus(id, redis);
    ctx.out.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatSweepStatus(status));
    return status.points.every((p) => p.state === 'done') ? 0 : 1;
  },
};
export default command;
