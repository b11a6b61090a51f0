import { describe, expect, it } from 'vitest';
import { SmnError } from '@smn/core';
import { isAbortError, unlessInterrupted } from '../src/index.js';

describe('unlessInterrupted: a part an interrupt cuts short is dropped, never kept half-done', () => {
  it('returns the result, or null when the signal aborted during the part (also when the part stopped with an abort error)', async () => {
    expect(await unlessInterrupted(undefined, async () => 1)).toBe(1);
    const ac = new AbortController();
    expect(await unlessInterrupted(ac.signal, async () => 2)).toBe(2);
    // A pass that returns what it had when the signal came (embedSplit breaks out of its loop).
    expect(await unlessInterrupted(ac.signal, async () => (ac.abort(), 3))).toBeNull();
    const data = new SmnError('SMN_DATA_ABORTED', 'data loading of x was aborted');
    expect(await unlessInterrupted(ac.signal, () => Promise.reject(data))).toBeNull();
  });

  it('a real error stays an error, also during an interruption', async () => {
    const ac = new AbortController();
    ac.abort();
    const full = new SmnError('SMN_CKPT_WRITE', 'disk full');
    await expect(unlessInterrupted(ac.signal, () => Promise.reject(full))).rejects.toBe(full);
  });

  it('isAbortError: the signal reason, SMN_*_ABORTED and DOM AbortError; nothing else', () => {
    const ac = new AbortController();
    ac.abort(new Error('why'));
    expect(isAbortError(ac.signal.reason, ac.signal)).toBe(true);
    expect(isAbortError(new SmnError('SMN_HUB_ABORTED', 'x'))).toBe(true);
    expect(isAbortError(new DOMException('stop', 'AbortError'))).toBe(true);
    expect(isAbortError(new SmnError('SMN_CKPT_WRITE', 'x'))).toBe(false);
    expect(isAbortError(new Error('x'))).toBe(false);
  });
});
