import { docsUrl } from '@smn/core';
import { runWorker } from '@smn/launch';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage } from '../flags.js';
import { interruptController } from '../progress.js';
import { WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'worker',
  usage: ['smn worker --redis URL [--concurrency N]'],
  description: `Takes the runs of queued sweeps and cascades (smn train --multirun --launcher queue, smn cascade --launcher
queue) from Redis and runs them with the same code as smn train (a cascade's last job: its ensembles, as smn cascade),
until Ctrl-C or SIGTERM; start one on every machine that should train. Each job carries a
resolved config and its run folder (an absolute path: put run folders on a filesystem every worker mounts at the
same path). A config that fails smn train's checks fails alone, its message on the job (smn sweep status ID).
Progress (epoch, step, latest metrics) goes to the job. Ctrl-C/SIGTERM saves the running point's checkpoint and puts
its job back in the queue; a worker killed with SIGKILL (or a machine that dies) loses its job to another worker
after about two minutes, and that worker continues from the run folder's last.ckpt (${docsUrl('distributed.md')}).`,
  flags: {
    redis: { type: 'string', value: 'URL', description: 'Redis: redis://[user:password@]host[:port][/db], or rediss:// (TLS)', defaultText: '$SMN_REDIS_URL' },
    concurrency: { type: 'number', value: 'N', integer: true, min: 1, default: 1, description: 'runs at once in this process (on CPU backends, one worker per machine is faster)' },
    workers: WORKERS_FLAG,
  },
  sections: [{ title: 'Examples', text: `  redis-server --bind 0.0.0.0 --protected-mode no   # on one machine\n  SMN_REDIS_URL=redis://head:6379 smn worker          # on every machine` }],
});

const command: Command = {
  name: 'worker',
  summary: 'run queued sweep points and cascade runs from Redis (--launcher queue) on this machine',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const intr = interruptController(ctx, 'saving the running checkpoints and giving their jobs back');
    try {
      const { flags } = parseFlags(SPEC, ctx.argv);
      const s = await runWorker({
        ...(flags.redis ? { redis: flags.redis } : {}),
        concurrency: flags.concurrency,
        workers: flags.workers,
        backend: ctx.backendFlag ?? ctx.backend,
        signal: intr.signal,
        onLog: (line) => ctx.err.write(`smn worker: ${line}\n`),
      });
      ctx.err.write(`smn worker: stopped: ${s.done} done, ${s.failed} failed, ${s.givenBack} given back\n`);
      return intr.interrupted() ? 130 : 0;
    } finally {
      intr.dispose();
    }
  },
};
export default command;
