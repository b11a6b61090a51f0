import { isSmnError } from '@smn/core';

/**
 * Whether `err` is what a stop through `signal` made a run throw: the signal's reason, an `SMN_*_ABORTED` error
 * (a download or data loading stopped) or a DOM AbortError. The same test as the CLI's interruption handling; kept
 * here so that this package needs nothing from @smn/train beyond runExperiment and the run folder.
 */
export function isAbortError(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted && err === signal.reason) return true;
  if (isSmnError(err)) return err.code.endsWith('_ABORTED');
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}
