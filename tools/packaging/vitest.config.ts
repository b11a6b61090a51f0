import { packageProject } from '../../vitest.shared.js';

// The packaging test: one globalSetup packs every package and installs the tarballs into a project outside the
// workspace (minutes on 2 cores: builds, npm install, the libtorch addon); the test files then use that project.
// Files run one after another: they share the project, and each phase is timed on its own.
export default packageProject('@smn/packaging-test', {
  globalSetup: ['./test/global-setup.ts'],
  fileParallelism: false,
  testTimeout: 600_000,
  hookTimeout: 600_000,
});
