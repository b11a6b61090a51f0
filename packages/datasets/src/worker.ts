/** Worker thread body: receives batches of samples, decodes + transforms them, posts the float views back. */
import { parentPort } from 'node:worker_threads';
import { runSample, transferables, transformFor, type TaskItem, type TaskResult } from './sample-task.js';
import type { PresetSpec } from './types.js';

interface TaskMessage {
  id: number;
  items: TaskItem[];
  spec: PresetSpec;
  seed: number;
  epoch: number;
  source: string;
}

const port = parentPort;
if (port) {
  port.on('message', (msg: TaskMessage) => {
    void (async () => {
      const fn = transformFor(msg.spec);
      const results: TaskResult[] = await Promise.all(msg.items.map((item) => runSample(item, fn, msg.seed, msg.epoch, msg.source)));
      port.postMessage({ id: msg.id, results }, results.flatMap(transferables));
    })();
  });
  port.postMessage({ ready: true });
}
