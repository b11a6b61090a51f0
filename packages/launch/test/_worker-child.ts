// A worker process for the tests: runWorker on the given Redis with short lock times (argv: URL NAME [LOCK_MS]), stopped by SIGTERM.
import { runWorker } from '../src/index.js';

const [url, name, lockMs] = process.argv.slice(2);
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort(new Error('SIGTERM')));
const summary = await runWorker({ redis: url!, signal: ac.signal, lockDurationMs: lockMs ? Number(lockMs) : 10_000, stalledIntervalMs: 2_000, lockedRetryMs: 1_000, onLog: (l) => console.log(`[${name}] ${l}`) });
console.log(`[${name}] summary ${JSON.stringify(summary)}`);
process.exit(0);
