import { docsUrl } from '@smn/core';
import { formatSweepStatus, sweepStatus } from '@smn/launch';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';

const SPEC = defineSpec({
  name: 'sweep',
  usage: ['smn sweep status ID [--redis URL] [--json]'],
  description: `Reads a queued sweep (smn train --multirun --launcher queue) from Redis, from any machine: every point's
state (queued, running, done, failed), epoch, latest metric and overrides, and the error of a failed point
(${docsUrl('distributed.md')}). Exits 0 when every point is done, 1 otherwise.`,
  subcommands: { status: 'the state of every point of sweep ID' },
  positionals: [{ name: 'ID', description: 'the sweep id smn train printed', required: true }],
  flags: {
    redis: { type: 'string', value: 'URL', description: 'Redis: redis://[user:password@]host[:port][/db], or rediss:// (TLS)', defaultText: '$SMN_REDIS_URL' },
    json: { type: 'boolean', description: 'print the status as JSON' },
  },
});

const command: Command = {
  name: 'sweep',
  summary: 'the status of a queued sweep, from any machine',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flags, positionals } = parseFlags(SPEC, ctx.argv);
    const id = positionals[0];
    if (!id) throw usageError('smn sweep status needs the sweep ID');
    const status = await sweepStatus(id, flags.redis ? { redis: flags.redis } : {});
    ctx.out.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatSweepStatus(status));
    return status.points.every((p) => p.state === 'done') ? 0 : 1;
  },
};
export default command;
