import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  CONSUMER_DIR,
  NODE,
  REPO_ROOT,
  describeRun,
  readJsonLines,
  run,
  userEnv,
  type PackagingContext,
  type TarballInfo,
} from './helpers.js';

/**
 * How this run calls pnpm: the pnpm that started it (`npm_execpath`, when `pnpm test` runs us), else the version the
 * root package.json names, through npx (as .ci/run does).
 */
function pnpmCommand(): [string, string[]] {
  const exec = process.env.npm_execpath;
  if (exec && /pnpm/i.test(exec) && existsSync(exec)) {
    return ['.js', '.cjs', '.mjs'].includes(extname(exec)) ? [NODE, [exec]] : [exec, []];
  }
  const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    devEngines?: { packageManager?: { version?: string } };
  };
  return ['npx', ['-y', `pnpm@${root.devEngines?.packageManager?.version ?? 'latest'}`]];
}

let ctx: PackagingContext | undefined;
const setupTimings: { phase: string; ms: number }[] = [];

async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    setupTimings.push({ phase: name, ms: Math.round(performance.now() - t0) });
  }
}

/** Packs every package (its prepack builds it) and installs all tarballs with npm into a fresh project in os.tmpdir(). */
export async function setup(project: TestProject): Promise<void> {
  // For work on the test itself: SMN_PACKAGING_REUSE=<folder kept by SMN_PACKAGING_KEEP=1> skips packing and installing.
  const reuse = process.env.SMN_PACKAGING_REUSE;
  if (reuse) {
    ctx = JSON.parse(readFileSync(join(reuse, 'context.json'), 'utf8')) as PackagingContext;
    for (const f of readdirSync(CONSUMER_DIR)) cpSync(join(CONSUMER_DIR, f), join(ctx.project, f));
    writeFileSync(ctx.timingsFile, '');
    writeFileSync(ctx.notesFile, '');
    console.log(`reusing ${reuse} (SMN_PACKAGING_REUSE): tarballs and install from an earlier run`);
    project.provide('packaging', ctx);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'smn-packaging-'));
  const tarDir = join(tmp, 'tarballs');
  mkdirSync(tarDir);
  const timingsFile = join(tmp, 'timings.jsonl');
  const notesFile = join(tmp, 'notes.jsonl');
  writeFileSync(timingsFile, '');
  writeFileSync(notesFile, '');

  // 0. pnpm pack in each package, as a maintainer publishing it would.
  const [pnpm, pnpmArgs] = pnpmCommand();
  const packEnv = { ...process.env };
  delete packEnv.NODE_OPTIONS;
  const tarballs: TarballInfo[] = [];
  await phase('pack (pnpm pack × every package, builds included)', async () => {
    const dirs = readdirSync(join(REPO_ROOT, 'packages'))
      .filter((d) => existsSync(join(REPO_ROOT, 'packages', d, 'package.json')))
      .sort();
    for (const dir of dirs) {
      const pkgDir = join(REPO_ROOT, 'packages', dir);
      const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean };
      if (manifest.private) continue;
      const before = new Set(readdirSync(tarDir));
      const r = await run(pnpm, [...pnpmArgs, 'pack', '--pack-destination', tarDir], { cwd: pkgDir, env: packEnv, timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(describeRun(`pnpm pack in packages/${dir}`, r));
      const made = readdirSync(tarDir).filter((f) => !before.has(f) && f.endsWith('.tgz'));
      if (made.length !== 1) throw new Error(`pnpm pack in packages/${dir} made ${made.length} tarballs (${made.join(', ')}); expected 1\n${describeRun('pnpm pack', r)}`);
      const file = join(tarDir, made[0]!);
      tarballs.push({ name: manifest.name, version: manifest.version, dir: `packages/${dir}`, file, bytes: statSync(file).size });
    }
  });

  // 1. A user's project: outside the workspace, npm (not pnpm), every tarball at once. @types/node is what any
  // TypeScript-on-Node consumer has; the strict type check (b) needs it for the Node APIs our .d.ts files name.
  const projectDir = join(tmp, 'project');
  mkdirSync(projectDir);
  writeFileSync(
    join(projectDir, 'package.json'),
    `${JSON.stringify({ name: 'smn-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  for (const f of readdirSync(CONSUMER_DIR)) cpSync(join(CONSUMER_DIR, f), join(projectDir, f));
  const install = await phase('npm install (all tarballs, sharp, libtorch addon build)', () =>
    run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...tarballs.map((t) => t.file), '@types/node@^20.19.0'],
      { cwd: projectDir, env: userEnv(), timeoutMs: 1_200_000 },
    ),
  );
  if (install.code !== 0) throw new Error(describeRun(`npm install in ${projectDir}`, install));
  const addonLog = `${install.stdout}\n${install.stderr}`.split('\n').filter((l) => l.includes('[@smn/backend-torch]'));
  const built = existsSync(join(projectDir, 'node_modules', '@smn', 'backend-torch', 'build', 'Release', 'smn_torch.node'));

  ctx = { tmp, project: projectDir, tarballs, addon: { built, log: addonLog }, timingsFile, notesFile };
  writeFileSync(join(tmp, 'context.json'), JSON.stringify(ctx));
  project.provide('packaging', ctx);
}

/** Prints what the closing note needs (tarball sizes, bundle size, timings of each phase), then removes the scratch folder. */
export async function teardown(): Promise<void> {
  if (!ctx) return;
  const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
  const lines: string[] = ['', '=== @smn packaging test ==='];
  lines.push('tarballs (pnpm pack):');
  for (const t of ctx.tarballs) lines.push(`  ${basename(t.file).padEnd(32)} ${String(t.bytes).padStart(9)} B  ${kib(t.bytes).padStart(11)}`);
  lines.push(`  ${'total'.padEnd(32)} ${String(ctx.tarballs.reduce((a, t) => a + t.bytes, 0)).padStart(9)} B`);
  lines.push(`libtorch addon built by npm install: ${ctx.addon.built ? 'yes' : 'no'}`);
  for (const l of ctx.addon.log) lines.push(`  ${l.trim()}`);
  for (const { key, value } of readJsonLines<{ key: string; value: unknown }>(ctx.notesFile)) {
    lines.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  lines.push('timings:');
  const all = [...setupTimings, ...readJsonLines<{ phase: string; ms: number }>(ctx.timingsFile)];
  for (const t of all) lines.push(`  ${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.phase}`);
  lines.push(`  ${(all.reduce((a, t) => a + t.ms, 0) / 1000).toFixed(1).padStart(7)} s  total of the phases`);
  console.log(lines.join('\n'));
  if (process.env.SMN_PACKAGING_KEEP === '1' || process.env.SMN_PACKAGING_REUSE) console.log(`kept ${ctx.tmp}`);
  else rmSync(ctx.tmp, { recursive: true, force: true });
}
