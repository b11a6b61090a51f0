// The CLI's error boundary: file-system and parse errors that escape a command are named errors with the path and a
// fix (exit 2 for a path the user gave, 1 for the machine), never "unexpected error" with a stack. Real files and
// mounts: ENOTDIR/EEXIST from an output path under a file, EACCES from a read-only folder (as a non-root user: root
// bypasses permissions), EROFS and ENOSPC on small tmpfs mounts where this test may mount them.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { namedError } from '../src/error-boundary.js';
import { CliErrorCode } from '../src/errors.js';
import { runCli } from './_cli.js';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'smn-boundary-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(tmp, { recursive: true, force: true });
});

const preview = (out: string) => ['data', 'preview', '--dataset', 'embedded', '--preset', 'eval', '--n', '4', '--out', out];

/** Named, not a bug: one `smn: error [CODE]` line naming the path, no stack trace. */
function expectNamed(r: { code: number; err: string }, code: string, exit: number, ...parts: string[]): void {
  expect(r.err).toMatch(new RegExp(`^smn: error \\[${code}\\]: `));
  expect(r.err).not.toContain('unexpected error');
  expect(r.err).not.toMatch(/\n\s+at /);
  for (const p of parts) expect(r.err).toContain(p);
  expect(r.code).toBe(exit);
}

/** Mounts a tmpfs at a new folder (`opts`: mount options), or returns why it cannot. */
function mountTmpfs(name: string, opts: string): { dir: string } | { why: string } {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return { why: `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${(r.stderr || String(r.error)).trim()}` };
  mounts.push(dir);
  return { dir };
}

// Each CLI call loads the dataset and sharp in-process: seconds on a busy 2-core machine.
describe('errors that escape a command are named', { timeout: 120_000 }, () => {
  it('data preview --out afile/p.png: SMN_FS_NOT_A_DIR naming the file in the way, exit 2 (was EEXIST with a stack)', async () => {
    const file = join(tmp, 'afile');
    writeFileSync(file, 'x');
    expectNamed(await runCli(preview(join(file, 'p.png'))), CliErrorCode.FsNotADir, 2, `${file} is a file, not a folder (mkdir EEXIST)`);
    expectNamed(await runCli(preview(join(file, 'sub', 'p.png'))), CliErrorCode.FsNotADir, 2, `a part of ${join(file, 'sub')} is a file, not a folder (mkdir ENOTDIR)`);
  });

  it('an output folder without write permission: SMN_FS_PERMISSION, exit 1', async () => {
    const ro = join(tmp, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    if (process.getuid?.() !== 0) {
      expectNamed(await runCli(preview(join(ro, 'p.png'))), CliErrorCode.FsPermission, 1, `permission denied on ${join(ro, 'p.png')}`);
      return;
    }
    // Root writes anyway: run the CLI as 'nobody' (uid 65534), whom the folder's mode refuses.
    chmodSync(tmp, 0o755);
    const r = spawnSync(process.execPath, [...process.execArgv, '--import', 'tsx', BIN, ...preview(join(ro, 'p.png'))], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
      env: { ...process.env, HOME: tmp },
    });
    expectNamed({ code: r.status ?? -1, err: r.stderr }, CliErrorCode.FsPermission, 1, `permission denied on ${join(ro, 'p.png')}`, '(open EACCES)');
  });

  it('a read-only file system: SMN_FS_READ_ONLY, exit 1', async (ctx) => {
    const m = mountTmpfs('rofs', 'ro,size=64k');
    if ('why' in m) return ctx.skip(m.why);
    expectNamed(await runCli(preview(join(m.dir, 'p.png'))), CliErrorCode.FsReadOnly, 1, `${join(m.dir, 'p.png')} is on a read-only file system`, '(open EROFS)');
  });

  it('a full disk: SMN_FS_NO_SPACE, exit 1, and the file already there is intact', async (ctx) => {
    const m = mountTmpfs('full', 'size=64k');
    if ('why' in m) return ctx.skip(m.why);
    const keep = join(m.dir, 'keep.png');
    writeFileSync(keep, 'old');
    try {
      writeFileSync(join(m.dir, 'filler'), new Uint8Array(1 << 20));
    } catch {
      // ENOSPC: the filler took what was left.
    }
    const r = await runCli(preview(keep));
    expectNamed(r, CliErrorCode.FsNoSpace, 1, `no space left on the disk of ${keep}`, 'ENOSPC');
    expect(readFileSync(keep, 'utf8')).toBe('old');
    expect(readdirSync(m.dir).sort()).toEqual(['filler', 'keep.png']); // the temporary file was removed
  });
});

describe('namedError maps real errors', () => {
  const errorOf = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    throw new Error('nothing was thrown');
  };

  it('ENOENT is SMN_FS_NOT_FOUND (usage), with the path; EISDIR is SMN_FS_IS_A_DIR', () => {
    const missing = join(tmp, 'missing.json');
    const e = namedError(errorOf(() => readFileSync(missing)))!;
    expect([e.code, e.kind]).toEqual([CliErrorCode.FsNotFound, 'usage']);
    expect(e.message).toBe(`${missing} does not exist (open ENOENT); check the path (and create its folder first if it is an output)`);
    expect(e.details).toMatchObject({ path: missing, errno: 'ENOENT', syscall: 'open' });
    expect(namedError(errorOf(() => readFileSync(tmp)))!.code).toBe(CliErrorCode.FsIsADir);
  });

  it('JSON and YAML parse errors are named; a plain bug is not', () => {
    const json = namedError(errorOf(() => JSON.parse('{"a": ')))!;
    expect([json.code, json.kind]).toEqual([CliErrorCode.ParseJson, 'runtime']);
    expect(json.message).toMatch(/^a JSON file does not parse \(.*JSON.*\); it is damaged or cut short/);
    const yaml = namedError(errorOf(() => parseYaml('a: [1, 2')))!;
    expect([yaml.code, yaml.kind]).toEqual([CliErrorCode.ParseYaml, 'usage']);
    const bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]';
    expect(namedError(errorOf(() => parseYaml(bomb)))!.code).toBe(CliErrorCode.ParseYaml);
    expect(namedError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeUndefined();
    expect(namedError(errorOf(() => execFileSync('false')))).toBeUndefined();
  });

  it('a file-system error carried as the cause of a plain error is named too', () => {
    const cause = errorOf(() => readFileSync(join(tmp, 'nope')));
    expect(namedError(new Error('loading failed', { cause }))!.code).toBe(CliErrorCode.FsNotFound);
  });
});
