/**
 * An exclusive lock on a path (a run folder, a file being downloaded), held through a lock file beside it that names
 * its holder (pid, host, start time) and carries a heartbeat (its mtime). A lock whose holder is gone is taken over:
 * at once when the holder was a process of this host (and pid namespace) that no longer runs, after `staleMs` without
 * a heartbeat when it lives elsewhere (shared storage).
 *
 * Why takeover is race-free (docs/decisions.md, "a lock file that survives its holder"):
 * - Every lock file and guard is created whole and exclusively: written to a private temporary file, then
 *   `link()`ed to its name, which fails with EEXIST when the name exists. Readers never see a half-written lock,
 *   and of several creators exactly one wins.
 * - Each lock file carries a random token, never reused. A stale lock with token T may be deleted only by the process
 *   that created the guard `<lock>.steal-T` (again exclusively, so one process per token). That process re-reads the
 *   lock under the guard and deletes it only if it still carries T. While the lock carries T nobody else may delete
 *   it (nobody else holds T's guard, and T's holder is gone), so the check and the delete cannot be interleaved with
 *   another taker; a taker that arrives late finds another token (or none) and deletes nothing. After the delete,
 *   every contender races on the exclusive create again: one wins.
 * - A guard left by a taker killed mid-takeover is itself a lock file and is removed by the same rule (its guard is
 *   `<guard>.steal-<its token>`), so no crash leaves the lock wedged.
 * The remaining assumption is the one every lease makes: a holder on another host that stalls for longer than
 * `staleMs` (or clocks that disagree by that much) is taken for gone. Its `signal` aborts at its next heartbeat.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { link, mkdir, open, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { CoreErrorCode, SmnError } from './errors.js';

/** @deprecated The lock's codes under their 0.1 keys; use {@link CoreErrorCode} (`LockHeld`, …). */
export const LOCK_ERRORS = {
  held: CoreErrorCode.LockHeld,
  timeout: CoreErrorCode.LockTimeout,
  aborted: CoreErrorCode.LockAborted,
  invalid: CoreErrorCode.LockInvalid,
  lost: CoreErrorCode.LockLost,
} as const;

/** What a lock file says about its holder. */
export interface LockInfo {
  /** The lock file. */
  file: string;
  /** Random, unique per acquisition. */
  token: string;
  pid: number;
  host: string;
  /** When it was acquired (ISO 8601). */
  since: string;
  /** Last heartbeat (the lock file's mtime). */
  heartbeat: Date;
  /** Free text the holder gave (`label` option), e.g. the command or the URL being downloaded. */
  label?: string;
  /** Linux: the holder's pid namespace, so two containers with one hostname do not judge each other's pids. */
  pidNamespace?: string;
  /** Linux: the holder's start time in clock ticks, so a reused pid is not taken for the holder. */
  pidStart?: string;
}

export interface LockOptions {
  /** The lock file (default `<path>.lock`). Its folder is created if missing. */
  lockFile?: string;
  /** Shown to whoever finds the lock held. */
  label?: string;
  /** Without a heartbeat for this long, a holder on another host counts as gone (default 120 s). */
  staleMs?: number;
  /** How often the holder refreshes the heartbeat (default `staleMs / 4`). */
  heartbeatMs?: number;
  /** Wait for the holder to finish instead of failing with SMN_LOCK_HELD (default false). */
  wait?: boolean;
  /** With `wait`: give up after this long with SMN_LOCK_TIMEOUT (default: never). */
  timeoutMs?: number;
  /** With `wait`: how often to look again (default 200 ms). */
  pollMs?: number;
  /** Stops waiting with SMN_LOCK_ABORTED. */
  signal?: AbortSignal;
}

/** A held lock. Release it (or `await using`); if the process dies instead, the next taker finds it gone. */
export interface Lock {
  /** The locked path, as given. */
  readonly path: string;
  /** This holder's lock file contents. */
  readonly info: LockInfo;
  /** Aborts (reason: SmnError SMN_LOCK_LOST) when a heartbeat finds the lock file gone or someone else's. */
  readonly signal: AbortSignal;
  /** Stops the heartbeat and deletes the lock file if it is still this holder's. Idempotent. */
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULTS = { staleMs: 120_000, pollMs: 200 };

interface Resolved {
  file: string;
  label: string | undefined;
  staleMs: number;
  heartbeatMs: number;
  wait: boolean;
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal | undefined;
}

function resolveOptions(path: string, o: LockOptions): Resolved {
  const staleMs = o.staleMs ?? DEFAULTS.staleMs;
  for (const [k, v] of Object.entries({ staleMs, heartbeatMs: o.heartbeatMs, timeoutMs: o.timeoutMs, pollMs: o.pollMs })) {
    if (v !== undefined && !(v >= 0)) {
      throw new SmnError(CoreErrorCode.LockOption, `acquireLock(${path}): ${k} must be a number ≥ 0, got ${String(v)}`, { kind: 'usage' });
    }
  }
  return {
    file: o.lockFile ?? `${path}.lock`,
    label: o.label,
    staleMs,
    heartbeatMs: o.heartbeatMs ?? Math.max(50, staleMs / 4),
    wait: o.wait ?? false,
    timeoutMs: o.timeoutMs ?? Infinity,
    pollMs: o.pollMs ?? DEFAULTS.pollMs,
    signal: o.signal,
  };
}

// ---- who we are, and whether a holder still runs ----

function procStart(pid: number | 'self'): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat; fields are counted after the command name, which may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

const SELF = { host: hostname(), pidNamespace: pidNamespace(), pidStart: procStart('self') };

function sameMachine(info: LockInfo): boolean {
  return info.host === SELF.host && (info.pidNamespace ?? '') === (SELF.pidNamespace ?? '');
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder of `info` is gone: a dead (or reused) pid here, or no heartbeat for `staleMs` elsewhere. */
function holderGone(info: LockInfo, staleMs: number): boolean {
  if (sameMachine(info)) {
    if (!pidRuns(info.pid)) return true;
    const start = info.pidStart === undefined ? undefined : procStart(info.pid);
    return start !== undefined && start !== info.pidStart;
  }
  return Date.now() - info.heartbeat.getTime() > staleMs;
}

// ---- lock files ----

type ReadResult = LockInfo | undefined | 'busy';

/** Reads a lock file: its info, `undefined` when absent, 'busy' when another tool is still writing it. */
async function readLockFile(file: string): Promise<ReadResult> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const [st, text] = [await fh.stat(), await fh.readFile('utf8')];
    try {
      const j = JSON.parse(text) as Omit<LockInfo, 'file' | 'heartbeat'>;
      if (typeof j.token === 'string' && Number.isInteger(j.pid) && typeof j.host === 'string') {
        return { ...j, file, heartbeat: st.mtime };
      }
    } catch {
      // judged below
    }
    // Only the no-hard-link fallback writes in place; give such a writer a moment before calling the file foreign.
    if (Date.now() - st.mtimeMs < 2_000) return 'busy';
    throw new SmnError(
      CoreErrorCode.LockInvalid,
      `${file} is not an smn lock file (expected JSON with token, pid and host; found ${JSON.stringify(text.slice(0, 80))}); ` +
        `if no process uses what it locks, delete it`,
      { details: { lockFile: file, found: text.slice(0, 200) } },
    );
  } finally {
    await fh.close();
  }
}

/** Creates `file` whole and exclusively (write a private temporary file, then link it). Undefined if it exists. */
async function createExclusive(file: string, label: string | undefined): Promise<LockInfo | undefined> {
  const token = randomBytes(8).toString('hex');
  const since = new Date();
  const body = { token, pid: process.pid, host: SELF.host, since: since.toISOString(), label, ...pidFields() };
  const text = JSON.stringify(body);
  const tmp = `${file}.${token}.tmp`;
  await writeFile(tmp, text);
  try {
    await link(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return undefined;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // Filesystems without hard links: O_EXCL create, then write (readers wait while it is empty).
    if (!(await createInPlace(file, text))) return undefined;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  return { ...body, label, file, heartbeat: since };
}

function pidFields(): Pick<LockInfo, 'pidNamespace' | 'pidStart'> {
  return { pidNamespace: SELF.pidNamespace, pidStart: SELF.pidStart };
}

async function createInPlace(file: string, text: string): Promise<boolean> {
  try {
    const fh = await open(file, 'wx');
    await fh.writeFile(text).finally(() => fh.close());
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function unlinkQuiet(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Deletes `file` if it still carries `token`, under the guard `<file>.steal-<token>` (see the module comment).
 * Returns without deleting when another process holds the guard; the caller looks again.
 */
async function removeStale(file: string, token: string, o: Resolved, depth = 0): Promise<void> {
  const guard = `${file}.steal-${token}`;
  const mine = await createExclusive(guard, `takeover of ${file}`);
  if (!mine) {
    const other = await readLockFile(guard).catch(() => undefined);
    if (other && other !== 'busy' && depth < 8 && holderGone(other, o.staleMs)) {
      await removeStale(guard, other.token, o, depth + 1);
    } else {
      await sleep(5 + Math.random() * 20);
    }
    return;
  }
  try {
    const cur = await readLockFile(file).catch(() => undefined);
    if (cur && cur !== 'busy' && cur.token === token) await unlinkQuiet(file);
  } finally {
    await unlinkQuiet(guard);
  }
}

/** One attempt: the lock, or the live holder's info. Takes over from gone holders on the way. */
async function tryAcquire(o: Resolved): Promise<{ lock: LockInfo } | { held: LockInfo }> {
  for (;;) {
    const lock = await createExclusive(o.file, o.label);
    if (lock) return { lock };
    const cur = await readLockFile(o.file);
    if (cur === undefined) continue; // released in between: race for it again
    if (cur === 'busy') {
      await sleep(20);
      continue;
    }
    if (!holderGone(cur, o.staleMs)) return { held: cur };
    await removeStale(o.file, cur.token, o);
  }
}

// ---- acquire and hold ----

/**
 * Takes the lock on `path` (its lock file: `<path>.lock`, or `lockFile`). Fails with SMN_LOCK_HELD naming the holder,
 * or with `wait: true` polls until it is free (SMN_LOCK_TIMEOUT after `timeoutMs`, SMN_LOCK_ABORTED on `signal`).
 * Holders that are gone are taken over, race-free among any number of takers.
 *
 * ```ts
 * await using lock = await acquireLock('runs/r1', { label: 'smn train' });
 * // … write into runs/r1; lock.signal aborts if the lock is ever lost
 * ```
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<Lock> {
  const o = resolveOptions(path, options);
  await mkdir(dirname(o.file), { recursive: true });
  const start = Date.now();
  for (;;) {
    if (o.signal?.aborted) throw abortedError(path, o);
    const r = await tryAcquire(o);
    if ('lock' in r) return hold(path, r.lock, o);
    if (!o.wait) throw heldError(CoreErrorCode.LockHeld, path, r.held, o);
    const left = start + o.timeoutMs - Date.now();
    if (left <= 0) throw heldError(CoreErrorCode.LockTimeout, path, r.held, o);
    await sleep(Math.min(o.pollMs, left), o.signal).catch(() => {});
  }
}

/** What the lock file of `path` says now (`lockFile` as in acquireLock), or undefined when it is free. */
export async function readLock(path: string, options: Pick<LockOptions, 'lockFile'> = {}): Promise<LockInfo | undefined> {
  const r = await readLockFile(options.lockFile ?? `${path}.lock`);
  return r === 'busy' ? undefined : r;
}

function hold(path: string, info: LockInfo, o: Resolved): Lock {
  const lost = new AbortController();
  let beating = false;
  let released = false;
  const beat = async (): Promise<void> => {
    const cur = await readLockFile(info.file).catch(() => undefined);
    if (released) return;
    if (cur === undefined || cur === 'busy' || cur.token !== info.token) {
      clearInterval(timer);
      const holder = cur && cur !== 'busy' ? `pid ${cur.pid} on ${cur.host}` : 'nobody (the file is gone)';
      lost.abort(
        new SmnError(CoreErrorCode.LockLost, `lost the lock on ${path}: ${info.file} now names ${holder}; stop writing to ${path}`, {
          details: { path, lockFile: info.file },
        }),
      );
      return;
    }
    const now = new Date();
    await utimes(info.file, now, now).catch(() => {});
  };
  const timer = setInterval(() => {
    if (beating) return;
    beating = true;
    void beat().finally(() => (beating = false));
  }, o.heartbeatMs);
  timer.unref();
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    clearInterval(timer);
    const cur = await readLockFile(info.file).catch(() => undefined);
    if (cur && cur !== 'busy' && cur.token === info.token) await unlinkQuiet(info.file);
  };
  return { path, info, signal: lost.signal, release, [Symbol.asyncDispose]: release };
}

function describeHolder(h: LockInfo): string {
  const where = sameMachine(h) ? `this host (${h.host})` : `host ${h.host}`;
  const ago = Math.max(0, Math.round((Date.now() - h.heartbeat.getTime()) / 1000));
  return `pid ${h.pid} on ${where}${h.label ? ` (${h.label})` : ''}, since ${h.since}, last heartbeat ${ago} s ago`;
}

function heldError(code: string, path: string, h: LockInfo, o: Resolved): SmnError {
  const waited = code === CoreErrorCode.LockTimeout ? `still locked after waiting ${Math.round(o.timeoutMs / 1000)} s` : 'is locked';
  const takeover = sameMachine(h)
    ? 'it is taken over as soon as that process exits'
    : `it is taken over once that host sends no heartbeat for ${Math.round(o.staleMs / 1000)} s`;
  return new SmnError(
    code,
    `${path} ${waited} by ${describeHolder(h)}; lock file ${h.file}. Wait for that process to finish (${takeover}), ` +
      `or stop it; delete ${h.file} by hand only if you are sure it no longer runs`,
    { details: { path, lockFile: h.file, pid: h.pid, host: h.host, since: h.since, heartbeat: h.heartbeat.toISOString(), label: h.label } },
  );
}

function abortedError(path: string, o: Resolved): SmnError {
  return new SmnError(CoreErrorCode.LockAborted, `stopped waiting for the lock on ${path} (${o.file}): aborted`, {
    cause: o.signal?.reason,
    details: { path, lockFile: o.file },
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
