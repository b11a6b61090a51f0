// Ownership of a run folder (owned-folder.ts): the path checked before the first write, the folder created one level
// at a time, locked, probed and cleaned of the temporary files of killed writes. Real folders, files and mounts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLock } from '@smn/core';
import { openOwnedFolder, openRunFolder, RUN_FILES, TrainErrorCode } from '../src/index.js';
import { caughtAsync } from '../../core/test/_smn-error.js';

const root = await mkdtemp(join(tmpdir(), 'smn-owned-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
});

const open = (dir: string, create = true) => openOwnedFolder(dir, { create, lockName: 'run.lock', label: 'test', tempDirs: ['embeddings'] });

describe('openOwnedFolder: the path is checked before anything is written', () => {
  it('refuses a file, a path under a file and an empty path with named usage errors', async () => {
    const file = join(root, 'afile');
    await writeFile(file, 'x');
    const a = await caughtAsync(open(file));
    expect([a.code, a.kind]).toEqual([TrainErrorCode.RunDirNotADir, 'usage']);
    expect(a.message).toBe(`the run folder ${file} cannot be used: ${file} is a file, not a folder; choose another folder, or move the file`);
    const b = await caughtAsync(open(join(file, 'sub', 'run')));
    expect(b.code).toBe(TrainErrorCode.RunDirNotADir);
    expect(b.message).toContain(`${file} (above ${join(file, 'sub', 'run')}) is a file, not a folder`);
    const c = await caughtAsync(open(''));
    expect([c.code, c.kind]).toEqual([TrainErrorCode.RunDir, 'usage']);
  });

  it('refuses /proc/x at once (a recursive mkdir there spins forever) and /sys/x', async (ctx) => {
    if (!existsSync('/proc/self')) return ctx.skip('no /proc on this system');
    const e = await caughtAsync(open('/proc/x'));
    expect([e.code, e.kind]).toEqual([TrainErrorCode.RunDirSpecialFs, 'usage']);
    expect(e.message).toContain('/proc, a proc file system');
    if (existsSync('/sys/kernel')) expect((await caughtAsync(open('/sys/x'))).code).toBe(TrainErrorCode.RunDirSpecialFs);
    expect(existsSync('/proc/x')).toBe(false);
  });

  it('a folder to resume must exist (create: false)', async () => {
    const e = await caughtAsync(open(join(root, 'nothing-here'), false));
    expect([e.code, e.kind]).toEqual([TrainErrorCode.RunNotFound, 'usage']);
    expect(existsSync(join(root, 'nothing-here'))).toBe(false);
  });

  it('a read-only folder is SMN_RUN_DIR_NOT_WRITABLE (runtime), and nothing is left there', async (ctx) => {
    const ro = join(root, 'ro');
    await mkdir(ro);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { encoding: 'utf8' });
    if (m.status === 0) {
      mounts.push(ro);
    } else if (process.getuid?.() !== 0) {
      await chmod(ro, 0o555); // a plain user is refused by the mode
    } else {
      return ctx.skip(`root ignores file modes and a read-only tmpfs cannot be mounted here: ${(m.stderr || String(m.error)).trim()}`);
    }
    const e = await caughtAsync(open(join(ro, 'run')));
    expect([e.code, e.kind]).toEqual([TrainErrorCode.RunDirNotWritable, 'runtime']);
    expect(e.message).toMatch(/is not writable: (it is on a read-only file system|permission denied) \(mkdir (EROFS|EACCES)/);
    expect(await readdir(ro)).toEqual([]);
  });
});

describe('openOwnedFolder: one owner, cleaned, and nothing left by a failed start', () => {
  it('creates the missing folders, and close({ discard }) removes those it made that are still empty', async () => {
    const dir = join(root, 'made', 'a', 'b');
    const f = await open(dir);
    expect(existsSync(join(dir, 'run.lock'))).toBe(true);
    expect(await readdir(dir)).toEqual(['run.lock']); // the write probe leaves nothing
    await f.close({ discard: true });
    expect(existsSync(join(root, 'made'))).toBe(false);
    // A folder with a file in it stays.
    const g = await open(dir);
    await writeFile(join(dir, 'config.yaml'), 'x');
    await g.close({ discard: true });
    expect(await readdir(dir)).toEqual(['config.yaml']);
  });

  it('a second owner is refused with SMN_LOCK_HELD naming the first; after close the folder is free', async () => {
    const dir = join(root, 'busy');
    const first = await openRunFolder(dir, { resume: false, label: 'training: first' });
    const e = await caughtAsync(openRunFolder(dir, { resume: false, label: 'training: second' }));
    expect(e.code).toBe('SMN_LOCK_HELD');
    expect(e.message).toContain(`pid ${process.pid} on this host`);
    expect(e.message).toContain('(training: first)');
    expect(e.message).toContain(join(dir, RUN_FILES.lock));
    expect((await readLock(dir, { lockFile: join(dir, RUN_FILES.lock) }))?.label).toBe('training: first');
    await first.close();
    const again = await openRunFolder(dir, { resume: true, label: 'resuming' });
    await again.close();
    expect(existsSync(join(dir, RUN_FILES.lock))).toBe(false);
  });

  it('removes the temporary files of killed writes (also in embeddings/), and nothing else', async () => {
    const dir = join(root, 'leftovers');
    await mkdir(join(dir, 'embeddings'), { recursive: true });
    const stale = ['.last.ckpt.4242.0badc0de.tmp', '.metrics.jsonl.17.deadbeef.tmp', join('embeddings', '.train_raw.npy.99.01234567.tmp')];
    const kept = ['last.ckpt', 'notes.tmp', '.hidden', join('embeddings', 'train_raw.npy')];
    for (const f of [...stale, ...kept]) await writeFile(join(dir, f), 'x');
    const f = await open(dir, false);
    expect([...f.removedTemps].sort()).toEqual(stale.map((s) => join(dir, s)).sort());
    await f.close();
    for (const s of stale) expect(existsSync(join(dir, s)), s).toBe(false);
    for (const k of kept) expect(existsSync(join(dir, k)), k).toBe(true);
  });
});
