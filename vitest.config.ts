import { defineConfig } from 'vitest/config';

// One vitest project per package: `pnpm vitest --project @smn/knn` runs one suite.
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
