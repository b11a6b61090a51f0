// A worker process for the tests: runWorker on the given Redis with short lock times, stopped by SIGTERM.
import { runWorker } from '../src/index.js';

const [url, name] = process.argv.slice(2);
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort(new Error('SIGTERM')));
const summary = await runWorker({ redis: url!, signal: ac.signal, lockDurationMs: 10_000, stalledIntervalMs: 2_000, lockedRetryMs: 1_000, onLog: (l) => console.log(`[${name}] ${l}`) });
console.log(`[${name}] summary ${JSON.stringify(summary)}`);
process.exit(0);
