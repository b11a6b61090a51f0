/**
 * A `local` launcher child: receives one point over IPC, runs it as `smn train` would (runPoint), and sends back its
 * progress and result. SIGTERM/SIGINT stop the run with a checkpoint, as in `smn train`. A worker runs a cascade's
 * ensemble step here too (runCascadeJob), so that its long computations never hold the worker's event loop. A child
 * whose parent died (the IPC channel closed) stops as on SIGTERM, releasing its folder's lock for the next worker.
 */
import { SmnError } from '@smn/core';
import { TrainErrorCode } from '@smn/train';
import { runCascadeJob } from './cascade.js';
import { pointFromJobData } from './point-data.js';
import { runPoint } from './run-point.js';
import { errorText } from './sweep-state.js';
import type { ChildMessage, ParentMessage } from './_child-protocol.js';

const ac = new AbortController();
const stop = (sig: NodeJS.Signals) => ac.abort(new SmnError(TrainErrorCode.Interrupted, `interrupted by ${sig}`, { details: { signal: sig } }));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', () => stop('SIGTERM'));

// Nothing to tell once the parent is gone (the channel closed): the run has stopped with its checkpoint.
const send = (m: ChildMessage) => new Promise<void>((res) => (process.connected ? process.send!(m, () => res()) : res()));

process.once('message', (msg: ParentMessage) => {
  void (async () => {
    try {
      const common = {
        signal: ac.signal,
        ...(msg.backend ? { backend: msg.backend } : {}),
        ...(msg.workers !== undefined ? { workers: msg.workers } : {}),
        onLog: (line: string) => void send({ type: 'log', line }),
      };
      let result;
      if (msg.cascade) {
        result = await runCascadeJob(msg.cascade, common);
      } else {
        const { job, config } = pointFromJobData(msg.job);
        result = await runPoint(job, config, { ...common, onProgress: (progress) => void send({ type: 'progress', progress }) });
      }
      await send({ type: 'result', result });
    } catch (err) {
      await send({ type: 'failed', error: errorText(err) });
    }
    if (process.connected) process.disconnect();
  })();
});
