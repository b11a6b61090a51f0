// `pnpm bench [area ...] [--quick] [--backend NAME]`: runs tools/bench/<area>.ts, prints a table per area and writes
// bench-results/<area>.json (results + machine info). With no area, runs every area.
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { atomicWriteFile } from '../../packages/core/src/index.js';
import { machineInfo, type BenchArea, type BenchResult } from './_harness.js';

const here = import.meta.dirname;
const root = resolve(here, '../..');

function listAreas(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_') && f !== 'run.ts')
    .map((f) => f.slice(0, -3))
    .sort();
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));

/** A plain aligned text table of results. */
export function formatTable(results: BenchResult[]): string {
  const rows = results.map((r) => {
    const ex = r.extra ?? {};
    const notes = Object.entries(ex)
      .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
      .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`)
      .join(' ');
    if (r.n === 0) return [r.name, r.backend, '-', '-', '0', notes];
    return [r.name, r.backend, `${fmt(r.median)} ${r.unit}`, `${fmt(r.min)}–${fmt(r.max)}`, String(r.n), notes];
  });
  const head = ['name', 'backend', 'median', 'min–max', 'n', 'notes'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]!))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const all = listAreas();
  if (values.help) {
    console.log(`usage: pnpm bench [area ...] [--quick] [--backend NAME]\nareas: ${all.join(', ')}`);
    return 0;
  }
  const areas = positionals.length > 0 ? positionals : all;
  const unknown = areas.filter((a) => !all.includes(a));
  if (unknown.length > 0) {
    console.error(`unknown bench area(s): ${unknown.join(', ')}; expected one of ${all.join(', ')} (files tools/bench/<area>.ts)`);
    return 2;
  }
  const opts = { quick: values.quick, backend: values.backend ?? process.env['SMN_BACKEND'] ?? 'auto' };
  const outDir = join(root, 'bench-results');
  await mkdir(outDir, { recursive: true });
  const machine = machineInfo();
  console.log(`machine: ${machine['cpu']} ×${machine['cores']}, node ${machine['node']}, torch ${machine['torch'] ?? 'absent'}`);
  let failed = 0;
  for (const area of areas) {
    console.log(`\n== ${area}${opts.quick ? ' (quick)' : ''} ==`);
    const started = new Date().toISOString();
    let results: BenchResult[];
    try {
      const mod = (await import(pathToFileURL(join(here, `${area}.ts`)).href)) as BenchArea;
      results = await mod.run(opts);
    } catch (e) {
      console.error(`area ${area} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      failed++;
      continue;
    }
    console.log(formatTable(results));
    const file = join(outDir, `${area}.json`);
    const body = JSON.stringify({ area, started, finished: new Date().toISOString(), options: opts, machine, results }, null, 2);
    await atomicWriteFile(file, body + '\n');
    console.log(`wrote ${file}`);
  }
  return failed > 0 ? 1 : 0;
}

const code = await main();
// A webgpu area may leave Dawn holding the event loop; results are written, so exit explicitly.
process.exit(code);
