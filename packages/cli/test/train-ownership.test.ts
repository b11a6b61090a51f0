// smn train owns its run folder and its interrupts are transactions, with real processes and signals. Processes are
// held with SIGSTOP where another must find them running (no sleeps as synchronisation); signals are sent when the
// process says on stderr that it is where the test wants it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { loadCheckpoint } from '@smn/train';
import { runCli } from './_cli.js';
import { metricsOf, smn, until, writeTinyBackbone } from './_spawn.js';

let root = '';
let weights = '';
let reference: Record<string, unknown>[] = [];
const mounts: string[] = [];

const trainArgs = (dir: string, extra: string[] = []) => [
  '--backend', 'wasm', 'train', '--config-name', 'submask', 'main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`,
  'main.dataset_subset=96', 'dl.batch_size=16', 'dl.epochs=3', 'dl.scheduler=cosine', ...extra, '--workers', '0', '--run-dir', dir,
];
const resumeArgs = (dir: string) => ['--backend', 'wasm', 'train', '--resume', dir, '--workers', '0'];

beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'smn-own-cli-'));
  weights = join(root, 'tiny.safetensors');
  await writeTinyBackbone(weights);
  const r = await smn(trainArgs(join(root, 'reference'))).done;
  expect(r.code, r.err).toBe(0);
  reference = await metricsOf(join(root, 'reference'));
  expect(reference.map((m) => m.epoch)).toEqual([0, 1, 2, 3]);
}, 240_000);
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
});

/** Named, not a bug: an `smn: error [CODE]` line, no stack trace. */
function expectNamed(r: { code: number | null; err: string }, code: string, exit: number): void {
  expect(r.err).toContain(`smn: error [${code}]: `);
  expect(r.err).not.toContain('unexpected error');
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.code).toBe(exit);
}

const noTemps = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('interrupts are transactions', { timeout: 240_000 }, () => {
  it('SIGTERM during a validation: no metric of it, exit 130; --resume removes a leftover temp checkpoint, validates again and ends as an uninterrupted run', async () => {
    const dir = join(root, 'sigterm-validation');
    const p = smn(trainArgs(dir));
    // The first progress line of the test split is the first epoch's validation, one batch of eight in.
    await p.waitFor(/embed test 128\/1000/);
    p.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.err).toBe(130);
    expect(r.err).toContain('checkpoint saved after the training steps of epoch 1, before its validation');
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe(''); // was: val/accuracy of 128 of 1,000 images
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);
    // A checkpoint write killed mid-way leaves its temporary file.
    const leftover = join(dir, '.last.ckpt.999999.0badc0de.tmp');
    await writeFile(leftover, 'half a checkpoint');
    const resumed = await smn(resumeArgs(dir)).done;
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(`removed ${leftover}, left by a write that was killed`);
    expect(existsSync(leftover)).toBe(false);
    expect(await metricsOf(dir)).toEqual(reference);
  });

  it('SIGINT, SIGTERM, SIGINT at once (Ctrl-C through pnpm and tsx): one interruption, the checkpoint is saved, exit 130', async () => {
    const dir = join(root, 'sigint-burst');
    const p = smn(trainArgs(dir));
    await p.waitFor(/epoch 1: /);
    // Stopped, the signals wait and arrive together on SIGCONT, as a forwarded burst does.
    p.kill('SIGSTOP');
    p.kill('SIGINT');
    p.kill('SIGTERM');
    p.kill('SIGCONT');
    p.kill('SIGINT');
    const r = await p.done;
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/interrupted: checkpoint saved (at epoch \d+, batch \d+|after the training steps of epoch \d+)/); // was: exit at the second signal, nothing saved
    expect(r.err).not.toContain('exiting now');
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);
    const resumed = await smn(resumeArgs(dir)).done;
    expect(resumed.code, resumed.err).toBe(0);
    expect(await metricsOf(dir)).toEqual(reference);
  });
});

describe('one owner per run folder', { timeout: 240_000 }, () => {
  it('two smn train --run-dir R at once: the second is refused naming the first (exit 1); metrics.jsonl has each epoch once', async () => {
    const dir = join(root, 'two-runs');
    const a = smn(trainArgs(dir));
    await until(() => existsSync(join(dir, 'run.lock')));
    a.kill('SIGSTOP'); // holds the folder, alive, while the second starts
    const b = await smn(trainArgs(dir, ['main.seed=1'])).done;
    a.kill('SIGCONT');
    expectNamed(b, 'SMN_LOCK_HELD', 1);
    expect(b.err).toContain(`is locked by pid ${a.pid} on this host`);
    const ra = await a.done;
    expect(ra.code, ra.err).toBe(0);
    expect(await metricsOf(dir)).toEqual(reference); // was: two epoch-0 lines and the second run's seed
    expect(await readFile(join(dir, 'config.yaml'), 'utf8')).toMatch(/^ {2}seed: 0$/m);
  });

  it('two smn train --resume R at once: one resumes, the other is refused; the run ends as an uninterrupted one', async () => {
    const dir = join(root, 'two-resumes');
    const first = smn(trainArgs(dir));
    await first.waitFor(/epoch 1: /);
    first.kill('SIGTERM');
    expect((await first.done).code).toBe(130);
    const a = smn(resumeArgs(dir));
    await until(() => existsSync(join(dir, 'run.lock')));
    a.kill('SIGSTOP');
    const b = await smn(resumeArgs(dir)).done;
    a.kill('SIGCONT');
    expectNamed(b, 'SMN_LOCK_HELD', 1);
    expect(b.err).toContain(`pid ${a.pid}`);
    const ra = await a.done;
    expect(ra.code, ra.err).toBe(0);
    expect(await metricsOf(dir)).toEqual(reference); // was: epochs 0, 1, 1, 2, 2
  });

  it('a new run in a folder that holds one is refused (SMN_RUN_EXISTS, exit 2), the run untouched', async () => {
    const dir = join(root, 'reference');
    const before = await stat(join(dir, 'last.ckpt'));
    expectNamed(await runCli(trainArgs(dir)), 'SMN_RUN_EXISTS', 2);
    expect((await stat(join(dir, 'last.ckpt'))).mtimeMs).toBe(before.mtimeMs);
  });
});

describe('the run folder is checked before anything is written', { timeout: 240_000 }, () => {
  it('a config the set-up rejects leaves no folder (was: config.yaml and overrides.yaml in a half-made run folder)', async () => {
    const dir = join(root, 'rejected', 'run');
    expectNamed(await runCli(trainArgs(dir, [`model.pret.weights=${join(root, 'missing.safetensors')}`])), 'SMN_WEIGHTS_MISSING', 1);
    expect(existsSync(join(root, 'rejected'))).toBe(false);
  });

  it('--run-dir that is a file, under a file, or empty: named usage errors (exit 2), no stack', async () => {
    const file = join(root, 'afile');
    await writeFile(file, 'x');
    const a = await runCli(trainArgs(file));
    expectNamed(a, 'SMN_RUN_DIR_NOT_A_DIR', 2);
    expect(a.err).toContain(`${file} is a file, not a folder`);
    const b = await runCli(trainArgs(join(file, 'sub')));
    expectNamed(b, 'SMN_RUN_DIR_NOT_A_DIR', 2);
    expect(b.err).toContain(`${file} (above ${join(file, 'sub')}) is a file`);
    expectNamed(await runCli(trainArgs('')), 'SMN_RUN_DIR', 2);
    expectNamed(await runCli(['train', '--config-name', 'submask', '--run-dir']), 'SMN_USAGE', 2);
    expectNamed(await runCli(['train', '--resume']), 'SMN_USAGE', 2);
  });

  it('--run-dir /proc/x: SMN_RUN_DIR_SPECIAL_FS at once (was: 100% CPU forever, deaf to SIGTERM)', async (ctx) => {
    if (!existsSync('/proc/self')) return ctx.skip('no /proc here');
    const p = smn(trainArgs('/proc/x'));
    const guard = setTimeout(() => p.kill('SIGKILL'), 60_000);
    const r = await p.done;
    clearTimeout(guard);
    expectNamed(r, 'SMN_RUN_DIR_SPECIAL_FS', 2);
  });

  it('--run-dir on a read-only file system: SMN_RUN_DIR_NOT_WRITABLE (exit 1)', async (ctx) => {
    const ro = join(root, 'ro');
    await mkdir(ro);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { encoding: 'utf8' });
    if (m.status !== 0) return ctx.skip(`cannot mount a read-only tmpfs here (needs root or CAP_SYS_ADMIN; root ignores file modes): ${(m.stderr || String(m.error)).trim()}`);
    mounts.push(ro);
    const r = await runCli(trainArgs(join(ro, 'run')));
    expectNamed(r, 'SMN_RUN_DIR_NOT_WRITABLE', 1);
    expect(r.err).toContain('read-only file system (mkdir EROFS');
  });

  it('a disk that fills up while saving a checkpoint: SMN_CKPT_WRITE (exit 1), the previous checkpoint intact, no temporary file left', async (ctx) => {
    // Room for the first checkpoint and the files beside it, not for a second one written beside the first.
    const ckpt = (await stat(join(root, 'reference', 'last.ckpt'))).size;
    const kb = Math.ceil((1.6 * ckpt + (await stat(join(root, 'reference', 'metrics.jsonl'))).size) / 1024) + 64;
    const full = join(root, 'full');
    await mkdir(full);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', full], { encoding: 'utf8' });
    if (m.status !== 0) return ctx.skip(`cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): ${(m.stderr || String(m.error)).trim()}`);
    mounts.push(full);
    const dir = join(full, 'run');
    const r = await smn(trainArgs(dir)).done;
    expectNamed(r, 'SMN_CKPT_WRITE', 1);
    expect(r.err).toContain(`cannot save the checkpoint ${join(dir, 'last.ckpt')} (epoch 2, batch 0): the disk is full (write ENOSPC); the previous last.ckpt is intact`);
    expect((await loadCheckpoint(join(dir, 'last.ckpt'))).meta).toMatchObject({ epoch: 1, batch: 0 });
    expect(noTemps(dir)).toEqual([]);
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);
    // The run continues elsewhere from that checkpoint.
    const moved = join(root, 'moved');
    await cp(dir, moved, { recursive: true });
    const resumed = await smn(resumeArgs(moved)).done;
    expect(resumed.code, resumed.err).toBe(0);
    expect(await metricsOf(moved)).toEqual(reference);
  });
});
