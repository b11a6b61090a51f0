#!/usr/bin/env node
// `prepack` of every package: `pnpm pack` (or publish) in packages/<name> builds that package and what it depends on
// (turbo, cached), then puts the root LICENSE beside it so the tarball carries it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkgDir = process.cwd();
const { name } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
execFileSync(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'build', `--filter=${name}...`, '--output-logs=errors-only'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});
copyFileSync(join(root, 'LICENSE'), join(pkgDir, 'LICENSE'));
