// `smn config show` under hostile input: a sweep of 10^8 combinations, a YAML alias bomb and a missing --config-dir
// are named errors (exit 2, no stack) before any memory is spent; --max-runs allows a larger sweep.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './_cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'smn-cli-bounds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sweep = (key: string, n: number) => `${key}=${Array.from({ length: n }, (_, i) => i + 1).join(',')}`;
const KEYS = ['main.seed', 'dl.batch_size', 'dl.epochs', 'cls.mlp_depth', 'cls.multihead_heads', 'swav.nmb_prototypes', 'swav.feat_dim', 'lp.max_iter'];

function expectNamed(r: { code: number; err: string }, code: string): void {
  expect(r.err).toMatch(new RegExp(`^smn: error \\[${code}\\]: `));
  expect(r.err).not.toContain('unexpected error');
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.code).toBe(2);
}

describe('smn config show bounds', () => {
  it('--multirun over 10^8 combinations: SMN_CONFIG_TOO_MANY_RUNS with the count and --max-runs (was 4.2 GB, then a crash)', async () => {
    const r = await runCli(['config', 'show', '--config-name', 'baseline', '--multirun', ...KEYS.map((k) => sweep(k, 10))]);
    expectNamed(r, 'SMN_CONFIG_TOO_MANY_RUNS');
    expect(r.err).toContain('the sweep has 100,000,000 combinations (main.seed: 10 × dl.batch_size: 10 ×');
    expect(r.err).toContain('pass --max-runs 100000000');
    expect(r.out).toBe('');
  });

  it('--max-runs lowers or raises the limit', async () => {
    const args = ['config', 'show', '--config-name', 'baseline', '--multirun', '--json', sweep('main.seed', 3), 'dl.lr=0.1,0.2'];
    expectNamed(await runCli([...args, '--max-runs', '5']), 'SMN_CONFIG_TOO_MANY_RUNS');
    const ok = await runCli([...args, '--max-runs', '6']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toHaveLength(6);
  });

  it('a YAML alias bomb: SMN_CONFIG_PARSE naming the file, exit 2', async () => {
    const dir = join(tmp, 'bomb');
    mkdirSync(dir);
    const names = 'abcdefghi';
    const lines = ['defaults: [baseline]', 'x: &a [y, y, y, y, y, y, y, y, y, y]'];
    for (let i = 1; i < names.length; i++) lines.push(`x${i}: &${names[i]} [${Array(10).fill(`*${names[i - 1]}`).join(', ')}]`);
    writeFileSync(join(dir, 'bomb.yaml'), `${lines.join('\n')}\n`);
    const r = await runCli(['config', 'show', '--config-dir', dir, '--config-name', 'bomb']);
    expectNamed(r, 'SMN_CONFIG_PARSE');
    expect(r.err).toContain('bomb.yaml cannot be read as YAML: its aliases (*name) expand more than 100 times');
  });

  it('--config-dir /nonexistent: SMN_CONFIG_DIR_NOT_FOUND, exit 2 (was accepted)', async () => {
    const missing = join(tmp, 'nonexistent');
    const r = await runCli(['config', 'show', '--config-name', 'baseline', '--config-dir', missing]);
    expectNamed(r, 'SMN_CONFIG_DIR_NOT_FOUND');
    expect(r.err).toContain(`config folder ${missing} (--config-dir) does not exist`);
    expectNamed(await runCli(['config', 'list', '--config-dir', missing]), 'SMN_CONFIG_DIR_NOT_FOUND');
  });

  it("values train refuses: submask dl.epochs=2 names dl.warmup_epochs and the fix; main.dataset_subset=-5p", async () => {
    const r = await runCli(['config', 'show', '--config-name', 'submask', 'dl.epochs=2', 'main.dataset_subset=-5p']);
    expectNamed(r, 'SMN_CONFIG_INVALID');
    expect(r.err).toContain('- dl.warmup_epochs: dl.warmup_epochs (40) must be smaller than dl.epochs (2) for dl.scheduler=cosine_warmup');
    expect(r.err).toContain('dl.warmup_epochs=N (1 ≤ N < dl.epochs)');
    expect(r.err).toContain("- main.dataset_subset: dataset_subset '-5p' is not valid");
  });
});
