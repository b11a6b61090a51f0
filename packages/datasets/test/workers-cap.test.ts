// Bounds: a loader never starts more worker threads than the process has cores (`--workers 100000` used to start
// ~2,000 threads and 8 GB in 40 s); asking for more starts one per core and says so.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLoader, createWorkerPool, loadDataset, maxWorkers, type Batch, type DatasetWarning } from '../src/index.js';
import { tempDir, writeIdxPair } from './helpers.js';

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

// Worker threads load the TypeScript sources through tsx at start-up: seconds on a busy 2-core machine.
describe('worker count capped at the cores', { timeout: 120_000 }, () => {
  it('maxWorkers() is os.availableParallelism()', () => {
    expect(maxWorkers()).toBe(Math.max(1, availableParallelism()));
  });

  it('createWorkerPool(100000) starts maxWorkers() threads and reports SMN_DATA_WORKERS_CAPPED', async () => {
    const warnings: DatasetWarning[] = [];
    const pool = createWorkerPool(100_000, { onWarning: (w) => warnings.push(w) });
    try {
      expect(pool.size).toBe(maxWorkers());
      await pool.ready();
    } finally {
      await pool.close();
    }
    expect(warnings).toEqual([
      {
        code: 'SMN_DATA_WORKERS_CAPPED',
        message: `100000 data-loading worker threads were asked for; using ${maxWorkers()}, one per CPU core this process may use (more only add memory)`,
        details: { requested: 100_000, used: maxWorkers() },
      },
    ]);
  });

  it('createLoader({ workers: 100000 }) runs the epoch on maxWorkers() threads; without onWarning it is a process warning', async () => {
    const root = tempDir();
    writeIdxPair(join(root, 'mnist'), 't10k', 9, 6, 6, false);
    const ds = await loadDataset('mnist', { dataRoot: root, split: 'test' });
    const seen: Error[] = [];
    const listener = (w: Error) => seen.push(w);
    process.on('warning', listener);
    let loader;
    try {
      loader = createLoader(ds, { batchSize: 4, workers: 100_000, transform: { preset: 'eval', size: 6 } });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', listener);
    }
    expect(loader.workers).toBe(maxWorkers());
    const capped = seen.filter((w) => (w as { code?: string }).code === 'SMN_DATA_WORKERS_CAPPED');
    expect(capped.map((w) => w.message)).toEqual([expect.stringContaining(`100000 data-loading worker threads were asked for; using ${maxWorkers()}`)]);
    const batches = await collect(loader);
    expect(batches.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // A request within the cap is used as is, silently.
    const warnings: DatasetWarning[] = [];
    expect(createLoader(ds, { batchSize: 4, workers: 1, transform: 'eval', onWarning: (w) => warnings.push(w) }).workers).toBe(1);
    expect(warnings).toEqual([]);
  });
});
