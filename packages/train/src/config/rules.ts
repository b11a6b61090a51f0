/**
 * Rules of the training config that the schema cannot state, checked when a config resolves, so that
 * `smn config show` refuses what `smn train` would refuse (and before a run folder is made): the lr schedule's keys
 * against each other (by the scheduler's own validation) and the `main.dataset_subset` grammar.
 */
import { isSmnError } from '@smn/core';
import { parseSubsetSpec } from '@smn/datasets';
import { lrAt, scheduleOptionsFromConfig, type ScheduleConfigKeys } from '../optim/schedule.js';
import type { Tree } from './compose.js';
import { dlSchema } from './schema.js';
import type { ConfigProblem } from './resolve.js';
import { TrainErrorCode } from '../errors.js';

/** How to fix each schedule key, added to the scheduler's message (the README's `dl.epochs=2` hit the first). */
const SCHEDULE_FIX: Record<string, string> = {
  'dl.warmup_epochs':
    'dl.warmup_epochs counts epochs inside dl.epochs: lower it with dl.warmup_epochs=N ' +
    '(1 ≤ N < dl.epochs), or use dl.scheduler=cosine for short runs',
  'dl.cooldown': 'lower it with dl.cooldown=N (0 ≤ N < dl.epochs), or use dl.scheduler=cosine for short runs',
};

function scheduleProblems(dl: unknown): ConfigProblem[] {
  // Types and ranges of single keys are the schema's to report (once); only a section it accepts is checked here.
  const parsed = dlSchema.safeParse(dl);
  if (!parsed.success) return [];
  try {
    // Epoch 0 runs the scheduler's whole validation without simulating every epoch.
    lrAt(0, scheduleOptionsFromConfig(parsed.data as ScheduleConfigKeys));
    return [];
  } catch (err) {
    if (!isSmnError(err) || err.code !== TrainErrorCode.ScheduleInvalid) return [];
    const path = typeof err.details.key === 'string' ? err.details.key : 'dl.scheduler';
    const fix = SCHEDULE_FIX[path];
    return [{ path, message: fix ? `${err.message}; ${fix}` : err.message }];
  }
}

function subsetProblems(main: unknown): ConfigProblem[] {
  const spec = (main as Record<string, unknown> | null)?.dataset_subset;
  if (typeof spec !== 'string' || spec === '') return [];
  try {
    parseSubsetSpec(spec);
    return [];
  } catch (err) {
    return [{ path: 'main.dataset_subset', message: (err as Error).message }];
  }
}

/** Every cross-key problem of a converted training config tree (see {@link ConfigSpec.check}). */
export function trainConfigProblems(tree: Tree): ConfigProblem[] {
  return [...scheduleProblems(tree.dl), ...subsetProblems(tree.main)];
}
