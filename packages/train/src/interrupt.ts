import { isSmnError } from '@smn/core';

/**
 * Whether `err` is what a step throws because `signal` aborted it: the signal's own reason, a DOM `AbortError`
 * (fetch), or an smn `SMN_*_ABORTED` (the data loader, a download, kNN, a lock wait). Other errors are real failures
 * and are reported even during an interruption.
 */
export function isAbortError(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted && err === signal.reason) return true;
  if (isSmnError(err)) return err.code.endsWith('_ABORTED');
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}

/**
 * Runs a part of a run that an interrupt may cut short (a validation pass, the final test): its result, or null when
 * `signal` aborted during it (its result, computed on part of the data, must not be used). An interrupt is thus a
 * transaction boundary: what it cut short is done again on resume, never kept half-done.
 */
export async function unlessInterrupted<T>(signal: AbortSignal | undefined, part: () => Promise<T>): Promise<T | null> {
  try {
    const r = await part();
    return signal?.aborted ? null : r;
  } catch (err) {
    if (signal?.aborted && isAbortError(err, signal)) return null;
    throw err;
  }
}
