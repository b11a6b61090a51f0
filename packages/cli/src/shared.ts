import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SmnError } from '@smn/core';
import { useBackend, type BackendChoice } from '@smn/backend';
import { configFromYaml, type SmnConfig } from '@smn/train';
import type { CommandContext } from './command.js';
import type { FlagDef } from './flags.js';

/** Helpers more than one command needs. */

/** Local time as `YYYYMMDD-HHMMSS`: run folder names sort by when they started. */
export function timestamp(d: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Selects the backend and says on stderr which one runs (and why faster ones were skipped). */
export async function startBackend(ctx: CommandContext, prefix: string, extra = ''): Promise<BackendChoice> {
  const choice = await useBackend(ctx.backend);
  const skipped = choice.skipped.length ? ` (skipped: ${choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : '';
  ctx.err.write(`${prefix}: backend ${choice.name}${skipped}${extra ? `; ${extra}` : ''}\n`);
  return choice;
}

/** The config.yaml a run folder was started with; `code` and `doing` make the error say which command needed it. */
export async function readRunConfig(dir: string, code: string, doing: string): Promise<SmnConfig> {
  const p = join(dir, 'config.yaml');
  if (!existsSync(p)) throw new SmnError(code, `cannot ${doing} ${dir}: no config.yaml there (is it a run folder?)`, { kind: 'usage', details: { file: p } });
  return configFromYaml(await readFile(p, 'utf8'), p);
}

/** `--workers`, the same for every command that loads data. */
export const WORKERS_FLAG = { type: 'number', value: 'N', integer: true, min: 0, default: 1, description: 'data-loading worker threads' } as const satisfies FlagDef;

/** Hydra's own flags, as `python3 main.py` reads them; commands give `config-name` their own description. */
export const HYDRA_FLAGS = {
  'config-name': { type: 'string', value: 'NAME', aliases: ['-cn'], description: 'config to start from' },
  'config-dir': { type: 'string', value: 'DIR', aliases: ['-cd'], multiple: true, description: 'also look for NAME.yaml in DIR' },
  multirun: { type: 'boolean', aliases: ['-m'], description: 'run every combination of comma sweeps (dl.lr=0.1,0.15)' },
} as const satisfies Record<string, FlagDef>;
