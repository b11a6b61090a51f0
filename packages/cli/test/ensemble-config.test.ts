import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveEnsembleRuns } from '@smn/train/config';
import { runCli } from './_cli.js';

const SHIPPED = fileURLToPath(new URL('../configs/ensembling/', import.meta.url));

const smn = (...argv: string[]) => runCli(['--backend', 'cpu', ...argv]);

/** The problem lines of a config error (`  - key: message (from …)`), without the header that names the config. */
async function problemLines(argv: string[]): Promise<string[]> {
  const r = await smn(...argv);
  expect(r.code, r.err).toBe(2);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/^smn: error \[SMN_CONFIG_INVALID\]: (ensemble )?config '\w+' has \d+ problems?:\n/);
  return r.err.split('\n').filter((l) => l.startsWith('  - '));
}

describe('smn ensemble reads its config with the grammar of smn train', () => {
  // Both commands import @smn/train (tfjs, the models): load them once, outside the per-test timeout.
  beforeAll(async () => {
    await import('../src/commands/ensemble.js');
    await import('../src/commands/config.js');
  }, 120_000);

  it('the shipped configs resolve: c100_fixed over the ensembling defaults', () => {
    const [r] = resolveEnsembleRuns({ configName: 'c100_fixed', configDirs: [SHIPPED] });
    expect(r!.config).toMatchObject({
      runs: ['runs/c100-dispatcher', 'runs/c100-expert-0', 'runs/c100-expert-1', 'runs/c100-expert-2', 'runs/c100-expert-3', 'runs/c100-expert-4'],
      cluster_ids: [0, 1, 2, 3, 4],
      clusters: null,
      method: 'replace',
      linear_probe: true,
      pca_niter: 10,
      knn: { k: 200, temperature: 0.1 },
    });
    const [ids] = resolveEnsembleRuns({ configName: 'ensembling', configDirs: [SHIPPED], overrides: ['run_ids=[a,7]', 'cluster_ids=[0]', 'runs_dir=/r'] });
    expect(ids!.config.runs).toEqual(['/r/a', '/r/7']);
  });

  // Each pair: the same mistake in an ensemble override and in a training override, keys aside.
  const SAME_MISTAKES: [ensemble: string, train: string][] = [
    ['a..b=1', 'a..b=1'],
    ['seed=1,2', 'main.seed=1,2'],
    ['seed=abc', 'main.seed=abc'],
    ['+seed=1', '+main.seed=1'],
    ['~seed', '~main.seed'],
    ['seed=', 'main.seed='],
    ['knn.k=[1', 'dl.epochs=[1'],
  ];

  it.each(SAME_MISTAKES)('%s gives the error of smn config show / smn train for %s', async (ens, train) => {
    const a = await problemLines(['ensemble', '--config-name', 'c100_fixed', ens]);
    const b = await problemLines(['config', 'show', '--config-name', 'baseline', train]);
    const keyOf = (o: string) => o.replace(/^[+~]+/, '').split('=')[0]!;
    expect(a).toHaveLength(1);
    expect(a[0]!.replaceAll(keyOf(ens), 'KEY')).toBe(b[0]!.replaceAll(keyOf(train), 'KEY'));
  });

  it('unknown keys name the nearest keys of the ensemble schema, as smn train does for its own', async () => {
    expect(await problemLines(['ensemble', '--config-name', 'c100_fixed', 'knn.kk=5', 'pca_component=8'])).toEqual([
      "  - knn.kk: unknown key (from override 'knn.kk=5'); did you mean knn.k?",
      "  - pca_component: unknown key (from override 'pca_component=8'); did you mean pca_components?",
    ]);
  });

  it('--multirun resolves every combination before loading anything; a sweep without it suggests --multirun', async () => {
    expect(await problemLines(['ensemble', '--config-name', 'c100_fixed', '--multirun', 'method=baseline,pca', 'seed=0,1'])).toEqual([
      "  - method: expected baseline | replace | conditional | unconditional | pca_conditional | pca_unconditional | add_conditional | add_unconditional, got 'pca' (from override 'method=pca')",
    ]);
    const [line] = await problemLines(['ensemble', '--config-name', 'c100_fixed', 'method=baseline,replace']);
    expect(line).toContain('ambiguous value baseline,replace: to sweep over it add --multirun');
  });

  it('a missing config lists the ensemble configs; --config and --config-name exclude each other', async () => {
    const r = await smn('ensemble', '--config-name', 'c100_fixd');
    expect(r.code).toBe(2);
    expect(r.err).toContain("no config named 'c100_fixd'");
    expect(r.err).toContain('available: c100_fixed, ensembling');
    const both = await smn('ensemble', '--config-name', 'c100_fixed', '--config', 'x.yaml');
    expect(both.code).toBe(2);
    expect(both.err).toContain('give exactly one of --config-name NAME or --config FILE.yaml');
  });
});
