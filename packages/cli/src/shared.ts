import { useBackend, type BackendChoice } from '@smn/backend';
import type { SmnConfig } from '@smn/train';
import type { CommandContext } from './command.js';
import type { FlagDef } from './flags.js';

/** Helpers more than one command needs. */

/** Local time as `YYYYMMDD-HHMMSS`: run folder names sort by when they started. */
export function timestamp(d: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * Selects the backend and says on stderr which one runs (and why faster ones were skipped). With a run's config:
 * `--backend` when given, else its main.backend, else $SMN_BACKEND / auto; its main.device picks torch's device.
 */
export async function startBackend(ctx: CommandContext, prefix: string, extra = '', config?: Pick<SmnConfig, 'main'>): Promise<BackendChoice> {
  const device = config?.main.device ?? undefined;
  const choice = await useBackend(ctx.backendFlag ?? config?.main.backend ?? ctx.backend, device ? { device } : {});
  const skipped = choice.skipped.length ? ` (skipped: ${choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : '';
  ctx.err.write(`${prefix}: backend ${choice.name}${choice.device && device ? ` (${choice.device})` : ''}${skipped}${extra ? `; ${extra}` : ''}\n`);
  return choice;
}

/**
 * `--workers`, the same for every command that loads data. The loader starts at most one thread per CPU core
 * (`maxWorkers()` of @smn/datasets) and says so on stderr (an SMN_DATA_WORKERS_CAPPED warning) when asked for more.
 */
export const WORKERS_FLAG = {
  type: 'number',
  value: 'N',
  integer: true,
  min: 0,
  default: 1,
  description: 'data-loading worker threads (at most one per CPU core; more is capped with a warning)',
} as const satisfies FlagDef;

/** `--max-runs`, for commands that expand `--multirun` sweeps: the library refuses more than 10,000 runs unless raised. */
export const MAX_RUNS_FLAG = {
  type: 'number',
  value: 'N',
  integer: true,
  min: 1,
  defaultText: '10000',
  description: 'with --multirun: allow a sweep of up to N combinations (SMN_CONFIG_TOO_MANY_RUNS past it)',
} as const satisfies FlagDef;

/** Hydra's own flags, as `python3 main.py` reads them; commands give `config-name` their own description. */
export const HYDRA_FLAGS = {
  'config-name': { type: 'string', value: 'NAME', aliases: ['-cn'], description: 'config to start from' },
  'config-dir': { type: 'string', value: 'DIR', aliases: ['-cd'], multiple: true, description: 'also look for NAME.yaml in DIR' },
  multirun: { type: 'boolean', aliases: ['-m'], description: 'run every combination of comma sweeps (dl.lr=0.1,0.15)' },
} as const satisfies Record<string, FlagDef>;
