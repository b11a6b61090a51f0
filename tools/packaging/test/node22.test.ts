// (a)–(c) again under Node 22: the npm package node@22 (a Node binary from the npm registry) runs the same consumer
// scripts, tsc, and the installed CLI (through its bin file, and through npx with Node 22 first on PATH).
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { checkCli, checkNodeCheck, checkTypes, runNodeCheck } from './consumer.js';
import { note, run, timed, userEnv } from './helpers.js';

const ctx = inject('packaging');
let node22: string | undefined;
let skipReason = '';

beforeAll(async () => {
  const dir = join(ctx.tmp, 'node22');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "node22", "version": "1.0.0", "private": true }\n');
  const r = await timed(ctx, 'node 22: npm install node@22', () =>
    run('npm', ['install', '--no-audit', '--no-fund', 'node@22'], { cwd: dir, env: userEnv(), timeoutMs: 600_000 }),
  );
  const candidates = [join(dir, 'node_modules', 'node', 'bin', 'node'), join(dir, 'node_modules', '.bin', 'node')];
  const bin = candidates.find((c) => existsSync(c));
  if (r.code !== 0 || !bin) {
    skipReason = `npm install node@22 failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
    return;
  }
  const v = await run(bin, ['--version'], { cwd: dir, env: userEnv() });
  if (v.code !== 0 || !v.stdout.startsWith('v22.')) {
    skipReason = `the node@22 package's binary ${bin} printed '${v.stdout.trim()}' (exit ${v.code}), not a v22 version`;
    return;
  }
  node22 = realpathSync(bin);
  note(ctx, 'node 22', `${v.stdout.trim()} (${node22})`);
});

describe('installed packages on Node 22', () => {
  it('(a) plain node 22 imports every package and computes what the formulas say', async (t) => {
    if (!node22) {
      console.log(`Node 22 tests skipped: ${skipReason}`);
      note(ctx, 'node 22 skipped', skipReason);
      t.skip(skipReason);
      return;
    }
    const c = await timed(ctx, 'node 22: a. plain node', () => runNodeCheck(ctx, node22!, 'node22'));
    expect(c.node).toMatch(/^v22\./);
    checkNodeCheck(ctx, c);
  });

  it('(b) tsc under node 22 type-checks the strict consumer, and the wrong call fails', async (t) => {
    if (!node22) return t.skip(skipReason);
    await timed(ctx, 'node 22: b. tsc', () => checkTypes(ctx, node22!));
  });

  it('(c) the installed smn under node 22: bin file, and npx with node 22 first on PATH', async (t) => {
    if (!node22) return t.skip(skipReason);
    const env = userEnv();
    env.PATH = `${dirname(node22)}:${env.PATH}`;
    // `#!/usr/bin/env node` in dist/bin.js must find Node 22 on that PATH.
    const which = await run('node', ['-p', 'process.version'], { cwd: ctx.project, env });
    expect(which.stdout.trim()).toMatch(/^v22\./);
    const viaNpx = await run('npx', ['smn', '--version'], { cwd: ctx.project, env });
    expect(viaNpx.code).toBe(0);
    expect(viaNpx.stdout.trim()).toBe(ctx.tarballs.find((x) => x.name === '@smn/cli')!.version);
    const r = await timed(ctx, 'node 22: c. smn (help, version, data inspect, train 1 epoch)', () =>
      checkCli(ctx, { label: 'node22', cmd: node22!, prefix: [join(ctx.project, 'node_modules', '@smn', 'cli', 'dist', 'bin.js')], env }),
    );
    note(ctx, 'smn train (node 22, dist/bin.js)', `backend ${r.backend}, ${r.trainSeconds.toFixed(1)} s`);
  });
});
