import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rmdir, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SmnError, acquireLock, isSmnError, type Lock } from '@smn/core';
import { TrainErrorCode } from './errors.js';

/** Magic numbers (statfs f_type) of Linux pseudo file systems: what is written there is not kept, or not a file. */
const SPECIAL_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0xcafe4a11: 'bpf',
  0x6165676c: 'pstore',
  0x62656570: 'configfs',
  0x42494e4d: 'binfmt_misc',
  0xde5e81e4: 'efivarfs',
};

/**
 * Names of the temporary files of `atomicWriteFile` (`.<name>.<pid>.<8 hex>.tmp`) and of the write probe below. Under
 * the folder's lock no other process writes there, so any such file is left by a writer that was killed.
 */
const ATOMIC_TEMP = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;
/** acquireLock's private file (`<lock>.<16 hex>.tmp`) lives for microseconds; one a minute old was left by a killed taker. */
const LOCK_TEMP = /\.[0-9a-f]{16}\.tmp$/;
const LOCK_TEMP_AGE_MS = 60_000;

/** A folder this process owns until `close`: created (what was missing), checked writable, locked, cleaned. */
export interface OwnedFolder {
  readonly dir: string;
  readonly lock: Lock;
  /** Aborts (SMN_LOCK_LOST) when the lock is found taken over: stop writing. */
  readonly lost: AbortSignal;
  /** Temporary files of killed writes found and removed when the folder was opened. */
  readonly removedTemps: readonly string[];
  /** Releases the lock; with `discard`, removes the folders this open created that are still empty. Idempotent. */
  close(opts?: { discard?: boolean }): Promise<void>;
}

export interface OpenOwnedFolderOptions {
  /** Create the folder (and the folders above it) when missing; otherwise a missing folder is SMN_RUN_NOT_FOUND. */
  create: boolean;
  /** Name of the lock file inside the folder. */
  lockName: string;
  /** Shown to whoever finds the folder locked. */
  label: string;
  /** Subfolders whose leftover temporary files are removed too. */
  tempDirs?: readonly string[];
  /** What the folder is for, in messages ("run folder", "cascade folder"). */
  what?: string;
}

/**
 * Takes ownership of the folder `dir` before anything is written there: checks the path (not a file, not under one,
 * not on /proc or another pseudo file system), creates what is missing one level at a time (a recursive mkdir spins
 * forever on /proc), takes its lock (`acquireLock`, so a second process is refused with SMN_LOCK_HELD naming the
 * holder, and one that died is taken over), proves the folder writable with a write, a rename and a delete, and
 * removes the temporary files of writes that were killed (a `.last.ckpt.<pid>.<hex>.tmp` of a kill -9 mid-save).
 */
export async function openOwnedFolder(dir: string, opts: OpenOwnedFolderOptions): Promise<OwnedFolder> {
  const what = opts.what ?? 'run folder';
  if (dir.trim() === '') throw new SmnError(TrainErrorCode.RunDir, `the ${what} is an empty path; give a folder (smn train: --run-dir DIR)`, { kind: 'usage' });
  const missing = await surveyPath(dir, what);
  if (missing.length && !opts.create) {
    throw new SmnError(TrainErrorCode.RunNotFound, `the ${what} ${dir} does not exist; check the path (smn train --resume takes the folder of a run)`, { kind: 'usage', details: { path: dir } });
  }
  const created = await createMissing(missing, dir, what);
  let lock: Lock;
  try {
    lock = await acquireLock(dir, { lockFile: join(dir, opts.lockName), label: opts.label });
  } catch (err) {
    await removeEmpty(created);
    throw isSmnError(err) ? err : notWritable(err, dir, what);
  }
  const close = async (o: { discard?: boolean } = {}) => {
    await lock.release();
    if (o.discard) await removeEmpty(created);
  };
  try {
    await probeWrite(dir, what);
    const removedTemps = await removeLeftovers(dir, opts.tempDirs ?? [], opts.lockName);
    return { dir, lock, lost: lock.signal, removedTemps, close };
  } catch (err) {
    await close({ discard: true });
    throw err;
  }
}

const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * The folders of `dir` that do not exist yet, outermost first, after checking that the nearest existing one is a
 * folder on a real file system.
 */
async function surveyPath(dir: string, what: string): Promise<string[]> {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    try {
      const st = await stat(p);
      if (!st.isDirectory()) {
        const where = p === resolve(dir) ? `${dir} is a file, not a folder` : `${p} (above ${dir}) is a file, not a folder`;
        throw new SmnError(TrainErrorCode.RunDirNotADir, `the ${what} ${dir} cannot be used: ${where}; choose another folder, or move the file`, { kind: 'usage', details: { path: dir, file: p } });
      }
      await checkFileSystem(p, dir, what);
      return missing;
    } catch (err) {
      const code = errnoOf(err);
      // ENOTDIR: a part above is a file; go up until it is found and named.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw isSmnError(err) ? err : notWritable(err, dir, what);
      missing.unshift(p);
      const parent = dirname(p);
      if (parent === p) throw notWritable(err, dir, what);
      p = parent;
    }
  }
}

async function checkFileSystem(p: string, dir: string, what: string): Promise<void> {
  let type: number;
  try {
    type = (await statfs(p)).type;
  } catch {
    return; // no statfs here (not Linux, or not allowed): the write probe still checks the folder
  }
  const fs = SPECIAL_FS[type];
  if (fs) {
    throw new SmnError(TrainErrorCode.RunDirSpecialFs, `the ${what} ${dir} is on ${p}, a ${fs} file system (the kernel's, not a disk): nothing can be kept there; choose a folder on a disk`, {
      kind: 'usage',
      details: { path: dir, fileSystem: fs },
    });
  }
}

/** mkdir of each missing folder, one level at a time; returns those this call created, outermost first. */
async function createMissing(missing: readonly string[], dir: string, what: string): Promise<string[]> {
  const created: string[] = [];
  for (const p of missing) {
    try {
      await mkdir(p);
      created.push(p);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST' && (await stat(p).then((s) => s.isDirectory(), () => false))) continue; // made by another process meanwhile
      await removeEmpty(created);
      if (errnoOf(err) === 'EEXIST') throw new SmnError(TrainErrorCode.RunDirNotADir, `the ${what} ${dir} cannot be used: ${p} is a file, not a folder; choose another folder`, { kind: 'usage', details: { path: dir, file: p } });
      throw notWritable(err, dir, what);
    }
  }
  return created;
}

/** Removes the folders of `created` (outermost first) that are empty; others, and errors, are left alone. */
async function removeEmpty(created: readonly string[]): Promise<void> {
  for (const p of [...created].reverse()) await rmdir(p).catch(() => {});
}

/** A file written, renamed and deleted in `dir`: the folder takes files, as every write of a run needs. */
async function probeWrite(dir: string, what: string): Promise<void> {
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const a = join(dir, `.smn-probe.${tag}.tmp`);
  const b = join(dir, `.smn-probe-renamed.${tag}.tmp`);
  try {
    await writeFile(a, 'smn write probe\n');
    await rename(a, b);
    await unlink(b);
  } catch (err) {
    await unlink(a).catch(() => {});
    await unlink(b).catch(() => {});
    throw notWritable(err, dir, what);
  }
}

const WHY: Record<string, string> = {
  EROFS: 'it is on a read-only file system',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted there',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is full',
  ENOENT: 'the file system does not keep new files there',
};

function notWritable(err: unknown, dir: string, what: string): SmnError {
  const e = err as NodeJS.ErrnoException;
  const code = errnoOf(err);
  const why = (code && WHY[code]) ?? e?.message ?? String(err);
  return new SmnError(
    TrainErrorCode.RunDirNotWritable,
    `the ${what} ${dir} is not writable: ${why}${code ? ` (${e.syscall ?? 'write'} ${code}${e.path ? ` ${e.path}` : ''})` : ''}; choose a folder on a writable disk, or fix its permissions`,
    { cause: err, details: { path: dir, ...(code ? { errno: code } : {}) } },
  );
}

/** Deletes leftover temporary files in `dir` and its `sub` folders; returns their paths. */
async function removeLeftovers(dir: string, sub: readonly string[], lockName: string): Promise<string[]> {
  const removed: string[] = [];
  for (const d of [dir, ...sub.map((s) => join(dir, s))]) {
    const names = await readdir(d).catch(() => [] as string[]);
    for (const name of names) {
      const p = join(d, name);
      const lockTemp = d === dir && name.startsWith(`${lockName}.`) && LOCK_TEMP.test(name);
      if (!ATOMIC_TEMP.test(name) && !lockTemp) continue;
      if (lockTemp && Date.now() - (await stat(p).then((s) => s.mtimeMs, () => Date.now())) < LOCK_TEMP_AGE_MS) continue;
      await unlink(p).then(
        () => removed.push(p),
        () => {},
      );
    }
  }
  return removed;
}
