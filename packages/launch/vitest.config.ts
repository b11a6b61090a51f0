import { packageProject } from '../../vitest.shared.js';

// This package's suite (run alone by `pnpm test` through turbo, or as a project of the root vitest config).
export default packageProject('@smn/launch');
