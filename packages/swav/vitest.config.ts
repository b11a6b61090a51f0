import { defineProject } from 'vitest/config';

// This package's suite (run alone by `pnpm test` through turbo, or as a project of the root vitest config).
// Real runs on real files take seconds on 2 cores, so timeouts are generous; long tests set their own.
export default defineProject({
  test: {
    name: '@smn/swav',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
