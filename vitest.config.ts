import { defineConfig } from 'vitest/config';

// One vitest project per package: `pnpm vitest --project @smn/knn` runs one suite; tools/packaging packs and installs
// the packages as a user gets them (`pnpm vitest --project @smn/packaging-test`, minutes).
export default defineConfig({
  test: {
    projects: ['packages/*', 'tools/packaging'],
  },
});
