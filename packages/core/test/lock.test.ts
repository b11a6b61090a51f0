import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, LOCK_ERRORS, readLock, type SmnError } from '../src/index.js';
import { caughtAsync } from './_smn-error.js';

// Contenders are real Node processes. They run lock.ts bundled by esbuild (core's test dependency), so no TypeScript
// loader is needed in the children.

let dir: string;
let childScript: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smn-lock-'));
  await build({
    entryPoints: [fileURLToPath(new URL('../src/lock.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(dir, 'lock.mjs'),
    logLevel: 'silent',
  });
  childScript = join(dir, 'contender.mjs');
  // argv: target, barrier file (wait until it exists, so contenders start together). Prints one JSON line; a winner
  // holds the lock until its stdin closes.
  await writeFile(
    childScript,
    `import { existsSync } from 'node:fs';
import { acquireLock } from './lock.mjs';
const [target, barrier] = process.argv.slice(2);
while (barrier && !existsSync(barrier)) await new Promise((r) => setTimeout(r, 2));
try {
  const lock = await acquireLock(target, { label: 'contender ' + process.pid });
  console.log(JSON.stringify({ ok: true, pid: process.pid }));
  process.stdin.on('data', () => {});
  process.stdin.on('end', async () => { await lock.release(); process.exit(0); });
} catch (err) {
  console.log(JSON.stringify({ ok: false, pid: process.pid, code: err.code, message: err.message }));
  process.exit(0);
}
`,
  );
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Outcome {
  ok: boolean;
  pid: number;
  code?: string;
  message?: string;
}

function contender(target: string, barrier = ''): { child: ChildProcessWithoutNullStreams; outcome: Promise<Outcome> } {
  const child = spawn(process.execPath, [childScript, target, barrier], { cwd: dir });
  children.push(child);
  const outcome = new Promise<Outcome>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Outcome);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`contender exited (${code}) without an outcome: ${err}`)));
  });
  return { child, outcome };
}

function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.on('exit', () => resolve()));
}

/** A pid that just ended on this host. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => c.on('exit', resolve));
  return c.pid!;
}

/** A lock file as another holder would have left it: our own format, with fields replaced. */
async function plantLock(file: string, patch: Record<string, unknown>, ageMs = 0): Promise<void> {
  const probe = join(dir, `probe-${Math.random()}`);
  const l = await acquireLock(probe);
  const body = { ...JSON.parse(await readFile(`${probe}.lock`, 'utf8')), ...patch };
  await l.release();
  await writeFile(file, JSON.stringify(body));
  const t = new Date(Date.now() - ageMs);
  await utimes(file, t, t);
}

describe('acquireLock between processes', () => {
  it('two processes contend: one wins, the other gets SMN_LOCK_HELD naming the holder', async () => {
    const target = join(dir, 'run-a');
    const barrier = join(dir, 'go-a');
    const a = contender(target, barrier);
    const b = contender(target, barrier);
    await writeFile(barrier, '');
    const outcomes = await Promise.all([a.outcome, b.outcome]);
    const winners = outcomes.filter((o) => o.ok);
    expect(winners).toHaveLength(1);
    const loser = outcomes.find((o) => !o.ok)!;
    expect(loser.code).toBe(LOCK_ERRORS.held);
    expect(loser.message).toContain(`pid ${winners[0]!.pid} on this host (${hostname()})`);
    expect(loser.message).toContain(`lock file ${target}.lock`);
    expect(loser.message).toContain(`contender ${winners[0]!.pid}`);
    expect(loser.message).toMatch(/since \d{4}-\d\d-\d\dT/);
    const winner = [a, b].find((c) => c.child.pid === winners[0]!.pid)!;
    winner.child.stdin.end();
    await exited(winner.child);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('a holder killed with SIGKILL is taken over at once on the same host', async () => {
    const target = join(dir, 'run-b');
    const holder = contender(target);
    expect((await holder.outcome).ok).toBe(true);
    const err = await caughtAsync(acquireLock(target));
    expect(err.code).toBe(LOCK_ERRORS.held);
    holder.child.kill('SIGKILL');
    await exited(holder.child);
    const lock = await acquireLock(target);
    expect((await readLock(target))?.pid).toBe(process.pid);
    await lock.release();
  });

  it('many takers after a killed holder: exactly one wins, the others name the winner', async () => {
    const target = join(dir, 'run-c');
    const holder = contender(target);
    expect((await holder.outcome).ok).toBe(true);
    holder.child.kill('SIGKILL');
    await exited(holder.child);
    const barrier = join(dir, 'go-c');
    const takers = Array.from({ length: 6 }, () => contender(target, barrier));
    await writeFile(barrier, '');
    const outcomes = await Promise.all(takers.map((t) => t.outcome));
    const winners = outcomes.filter((o) => o.ok);
    expect(winners).toHaveLength(1);
    for (const o of outcomes.filter((x) => !x.ok)) {
      expect(o.code).toBe(LOCK_ERRORS.held);
      expect(o.message).toContain(`pid ${winners[0]!.pid} `);
    }
    for (const t of takers) t.child.stdin.end();
    await Promise.all(takers.map((t) => exited(t.child)));
    const left = (await readdir(dir)).filter((f) => f.startsWith('run-c'));
    expect(left).toEqual([]);
  });
});

describe('acquireLock takeover rules', () => {
  it('takes over a foreign-host lock only once its heartbeat is stale', async () => {
    const target = join(dir, 'run-d');
    await plantLock(`${target}.lock`, { host: 'other-host', pid: 1, label: 'smn train on other-host' }, 5_000);
    const err = await caughtAsync(acquireLock(target, { staleMs: 60_000 }));
    expect(err.code).toBe(LOCK_ERRORS.held);
    expect(err.message).toContain('pid 1 on host other-host (smn train on other-host)');
    expect(err.message).toContain('once that host sends no heartbeat for 60 s');
    const lock = await acquireLock(target, { staleMs: 2_000 });
    expect((await readLock(target))?.host).toBe(hostname());
    await lock.release();
  });

  it('many takers in one process after a dead holder, started a few ms apart: exactly one wins, every round', async () => {
    const target = join(dir, 'run-e');
    const dead = await deadPid();
    for (let round = 0; round < 10; round++) {
      await plantLock(`${target}.lock`, { pid: dead });
      // Staggered starts interleave the read / judge / delete / create steps of different takers.
      const takers = Array.from({ length: 30 }, (_, i) =>
        new Promise((r) => setTimeout(r, (i * 7) % 11)).then(() => acquireLock(target)),
      );
      const results = await Promise.allSettled(takers);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as SmnError).code).toBe(LOCK_ERRORS.held);
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
      expect((await readdir(dir)).filter((f) => f.startsWith('run-e'))).toEqual([]);
    }
  });

  it('a takeover guard left by a killed taker does not wedge the lock', async () => {
    const target = join(dir, 'run-f');
    await plantLock(`${target}.lock`, { pid: await deadPid(), token: 'aaaaaaaaaaaaaaaa' });
    await plantLock(`${target}.lock.steal-aaaaaaaaaaaaaaaa`, { pid: await deadPid(), token: 'bbbbbbbbbbbbbbbb' });
    const lock = await acquireLock(target);
    expect((await readLock(target))?.token).toBe(lock.info.token);
    await lock.release();
    expect((await readdir(dir)).filter((f) => f.startsWith('run-f'))).toEqual([]);
  });

  it('refuses a lock file it did not write, naming it', async () => {
    const target = join(dir, 'run-g');
    await writeFile(`${target}.lock`, 'not json');
    const t = new Date(Date.now() - 10_000);
    await utimes(`${target}.lock`, t, t);
    const err = await caughtAsync(acquireLock(target));
    expect(err.code).toBe(LOCK_ERRORS.invalid);
    expect(err.message).toContain(`${target}.lock is not an smn lock file`);
  });
});

describe('acquireLock waiting and holding', () => {
  it('waits for the holder, gives up after timeoutMs, and stops on abort', async () => {
    const target = join(dir, 'run-h');
    const first = await acquireLock(target);
    const timeout = await caughtAsync(acquireLock(target, { wait: true, timeoutMs: 300, pollMs: 50 }));
    expect(timeout.code).toBe(LOCK_ERRORS.timeout);
    expect(timeout.message).toContain('still locked after waiting');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const aborted = await caughtAsync(acquireLock(target, { wait: true, pollMs: 50, signal: ac.signal }));
    expect(aborted.code).toBe(LOCK_ERRORS.aborted);
    setTimeout(() => void first.release(), 200);
    const second = await acquireLock(target, { wait: true, pollMs: 50 });
    expect((await readLock(target))?.token).toBe(second.info.token);
    await second[Symbol.asyncDispose]();
    expect(await readLock(target)).toBeUndefined();
  });

  it('refreshes the heartbeat and aborts its signal when the lock file is taken away', async () => {
    const target = join(dir, 'run-i');
    const lock = await acquireLock(target, { heartbeatMs: 50 });
    const t = new Date(Date.now() - 60_000);
    await utimes(`${target}.lock`, t, t);
    await new Promise((r) => setTimeout(r, 200));
    expect(Date.now() - (await readLock(target))!.heartbeat.getTime()).toBeLessThan(30_000);
    await plantLock(`${target}.lock`, { host: 'other-host' });
    await new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve(), { once: true }));
    expect((lock.signal.reason as SmnError).code).toBe(LOCK_ERRORS.lost);
    expect((lock.signal.reason as SmnError).message).toContain('on other-host');
    await lock.release();
    expect((await readLock(target))?.host).toBe('other-host');
  });
});
