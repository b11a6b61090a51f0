import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * The export condition that points every `@smn/*` package at its TypeScript sources (`src/`) instead of its build
 * (`dist/`), so tests, `pnpm smn` and tsx run the repository as it is, with no build step (docs/decisions.md).
 */
export const SOURCE_CONDITION = '@smn/source';

/**
 * One package's vitest project: its tests resolve `@smn/*` to sources, in vite's resolver and in every Node process
 * the tests start (the test workers pass `--conditions` on to worker threads and to children spawned with
 * `process.execArgv`). Real runs on real files take seconds on 2 cores, so timeouts are generous.
 */
export function packageProject(name: string, test: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions: [SOURCE_CONDITION, 'module', 'browser', 'development|production'] },
    ssr: { resolve: { conditions: [SOURCE_CONDITION, 'module', 'node', 'development|production'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      execArgv: [`--conditions=${SOURCE_CONDITION}`],
      ...test,
    },
  });
}
