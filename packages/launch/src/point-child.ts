/**
 * A `local` launcher child: receives one point over IPC, runs it as `smn train` would (runPoint), and sends back its
 * progress and result. SIGTERM/SIGINT stop the run with a checkpoint, as in `smn train`.
 */
import { SmnError } from '@smn/core';
import { TrainErrorCode } from '@smn/train';
import { pointFromJobData } from './point-data.js';
import { runPoint } from './run-point.js';
import { errorText } from './sweep-state.js';
import type { ChildMessage, ParentMessage } from './_child-protocol.js';

const ac = new AbortController();
const stop = (sig: NodeJS.Signals) => ac.abort(new SmnError(TrainErrorCode.Interrupted, `interrupted by ${sig}`, { details: { signal: sig } }));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const send = (m: ChildMessage) => new Promise<void>((res) => process.send!(m, () => res()));

process.once('message', (msg: ParentMessage) => {
  void (async () => {
    try {
      const { job, config } = pointFromJobData(msg.job);
      const result = await runPoint(job, config, {
        signal: ac.signal,
        ...(msg.backend ? { backend: msg.backend } : {}),
        ...(msg.workers !== undefined ? { workers: msg.workers } : {}),
        onProgress: (progress) => void send({ type: 'progress', progress }),
        onLog: (line) => void send({ type: 'log', line }),
      });
      await send({ type: 'result', result });
    } catch (err) {
      await send({ type: 'failed', error: errorText(err) });
    }
    process.disconnect();
  })();
});
