import { packageProject } from '../../vitest.shared.js';

// The page's tests: tiny runs trained once per file, exported with smn web export, served on 127.0.0.1 and driven in
// Debian's headless chromium (skipped, saying why, without it).
export default packageProject('@smn/web-demo', { testTimeout: 600_000, hookTimeout: 600_000 });
