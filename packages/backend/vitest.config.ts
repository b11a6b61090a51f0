import { packageProject } from '../../vitest.shared.js';

// Backend probes import native addons and wasm; on a loaded 2-core machine that takes seconds, not milliseconds.
export default packageProject('@smn/backend', { testTimeout: 60_000, hookTimeout: 60_000 });
