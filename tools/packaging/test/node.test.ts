// (a)–(c) on the Node that runs the tests (Node 20 in CI), in the project npm installed the tarballs into.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { checkCli, checkNodeCheck, checkTypes, runNodeCheck } from './consumer.js';
import { NODE, describeRun, note, run, timed, userEnv } from './helpers.js';

const ctx = inject('packaging');

describe(`installed packages on Node ${process.version}`, () => {
  it('npm installed each @smn package once, from its tarball, with every dependency and peer it needs', async () => {
    const lock = JSON.parse(readFileSync(join(ctx.project, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; resolved?: string }>;
    };
    const smn = Object.entries(lock.packages).filter(([path]) => path.includes('node_modules/@smn/'));
    expect(Object.fromEntries(smn.map(([path, p]) => [path, { version: p.version, resolved: p.resolved }]))).toEqual(
      Object.fromEntries(
        ctx.tarballs.map((t) => [`node_modules/${t.name}`, { version: t.version, resolved: `file:${relative(ctx.project, t.file)}` }]),
      ),
    );
    // `npm ls --all` exits non-zero on a missing or invalid dependency or peer (absent optional ones are fine).
    const ls = await run('npm', ['ls', '--all'], { cwd: ctx.project, env: userEnv(), timeoutMs: 120_000 });
    expect(ls.code, describeRun('npm ls --all', ls)).toBe(0);
  });

  it('(a) plain node imports every package and computes what the formulas say', async () => {
    const c = await timed(ctx, `a. plain node (${process.version}): imports, .smnmask, safetensors, kNN, Sinkhorn`, () => runNodeCheck(ctx, NODE, 'node20'));
    expect(c.node).toBe(process.version);
    checkNodeCheck(ctx, c);
  });

  it('(b) a strict nodenext TypeScript consumer type-checks against the published .d.ts, and a wrong call fails', async () => {
    await timed(ctx, 'b. tsc strict nodenext consumer (skipLibCheck false, must-fail)', () => checkTypes(ctx, NODE));
  });

  it('(c) npx smn: --help, --version, data inspect, one epoch of train', async () => {
    // npm linked the bin, so npx runs the installed CLI (and never looks for a package named smn in the registry).
    expect(existsSync(join(ctx.project, 'node_modules', '.bin', 'smn'))).toBe(true);
    const r = await timed(ctx, 'c. npx smn (help, version, data inspect, train 1 epoch)', () =>
      checkCli(ctx, { label: 'node20', cmd: 'npx', prefix: ['smn'], env: userEnv() }),
    );
    note(ctx, `smn train (npx, ${process.version})`, `backend ${r.backend}, ${r.trainSeconds.toFixed(1)} s`);
  });
});

describe('@smn/backend-torch install script without libtorch', () => {
  it('exits 0, builds nothing and says why (npm rebuild with LIBTORCH naming an empty folder)', async () => {
    const empty = join(ctx.tmp, 'no-libtorch');
    mkdirSync(empty, { recursive: true });
    const addon = join(ctx.project, 'node_modules', '@smn', 'backend-torch', 'build', 'Release', 'smn_torch.node');
    const before = existsSync(addon) ? statSync(addon).mtimeMs : null;
    const r = await timed(ctx, 'npm rebuild @smn/backend-torch without libtorch', () =>
      run('npm', ['rebuild', '@smn/backend-torch', '--foreground-scripts'], { cwd: ctx.project, env: userEnv({ LIBTORCH: empty }), timeoutMs: 300_000 }),
    );
    expect(r.code, describeRun('npm rebuild @smn/backend-torch (LIBTORCH=empty folder)', r)).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(`[@smn/backend-torch] libtorch not found, building nothing`);
    expect(existsSync(addon) ? statSync(addon).mtimeMs : null).toBe(before);
  });
});
