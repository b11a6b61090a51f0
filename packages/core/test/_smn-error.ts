// The SmnError a call throws, for tests in every package (imported by relative path: '../../core/test/_smn-error.js').
import { isSmnError, type SmnError } from '../src/index.js';

/** The SmnError `fn` throws; anything else thrown is rethrown, and throwing nothing fails the test. */
export function caught(fn: () => unknown): SmnError {
  try {
    fn();
  } catch (e) {
    if (isSmnError(e)) return e;
    throw e;
  }
  throw new Error('expected an SmnError, nothing was thrown');
}

/** The SmnError a promise rejects with (or a function throws or rejects with); as {@link caught}. */
export async function caughtAsync(p: Promise<unknown> | (() => unknown)): Promise<SmnError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isSmnError(e)) return e;
    throw e;
  }
  throw new Error('expected an SmnError, nothing was thrown');
}
