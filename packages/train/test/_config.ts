import { expect } from 'vitest';
import type { SmnError } from '@smn/core';
import type { ConfigProblem } from '../src/config/index.js';
import { caught } from '../../core/test/_smn-error.js';

/** The usage error a config call throws, and the problems it lists (`details.problems`). */
export function problemsOf(fn: () => unknown): { err: SmnError; problems: ConfigProblem[] } {
  const err = caught(fn);
  expect(err.kind).toBe('usage');
  return { err, problems: (err.details.problems as ConfigProblem[]) ?? [] };
}
