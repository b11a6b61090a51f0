import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from './_cli.js';

const smn = (...argv: string[]) => runCli(argv);

describe('smn config show', () => {
  // The command imports @smn/train, which loads tfjs and the models: load it once, outside the per-test timeout.
  beforeAll(async () => {
    await import('../src/commands/config.js');
  }, 120_000);

  it('prints the resolved YAML of a README command and lists the ignored keys', async () => {
    const r = await smn(
      'config', 'show', '--config-name', 'submask', 'main.dataset=cifar100', 'model.pret.source=hub',
      'model.pret.name=resnet50', 'main.dataset_subset=10p', 'dl.num_workers=18', 'hydra/launcher=joblib',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const cfg = parse(r.out) as Record<string, Record<string, unknown>>;
    expect(cfg.main).toMatchObject({ model: 'pret', dataset: 'cifar100', dataset_subset: '10p' });
    expect(cfg.dl).toMatchObject({ optimizer: 'sgdc', lr: 50, scheduler: 'cosine_warmup', warmup_epochs: 40, epochs: 150 });
    expect((cfg.model as Record<string, Record<string, unknown>>).pret).toMatchObject({ source: 'hub', name: 'resnet50', shell_mode: 'replace' });
    expect(r.out).toContain('#   dl.num_workers: data-loader worker processes');
    expect(r.out).toContain('#   hydra/launcher:');
  });

  it('--config-name=X, coercion of 0/1 and --json', async () => {
    const r = await smn('config', 'show', '--config-name=baseline', 'model.pret.source=hub', 'model.pret.name=resnet50', 'main.train=0', 'main.probe=1', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.config.main.train).toBe(false);
    expect(j.config.main.probe).toBe(true);
    expect(j.config.dl).toMatchObject({ optimizer: 'sgd', lr: 0.001, weight_decay: 0.0005, scheduler: 'cosine' });
    expect(j.overrides).toEqual(['model.pret.source=hub', 'model.pret.name=resnet50', 'main.train=0', 'main.probe=1']);
    expect(j.ignored).toEqual([]);
  });

  it('unknown keys: exit 2, every problem with its dot path and the nearest keys', async () => {
    const r = await smn('config', 'show', '--config-name', 'submask', 'dl.lrr=0.1', 'main.lr=3', 'dl.epochs=ten');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatchInlineSnapshot(`
      "smn: error [SMN_CONFIG_INVALID]: config 'submask' has 3 problems:
        - dl.lrr: unknown key (from override 'dl.lrr=0.1'); did you mean dl.lr?
        - main.lr: unknown key (from override 'main.lr=3'); did you mean dl.lr?
        - dl.epochs: expected int, got 'ten' (from override 'dl.epochs=ten')
      "
    `);
  });

  it('a sweep without --multirun is an error that suggests it; with --multirun every combination prints', async () => {
    const bad = await smn('config', 'show', '--config-name', 'baseline', 'dl.lr=0.1,0.15');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('add --multirun');
    const ok = await smn('config', 'show', '--config-name', 'baseline', '--multirun', 'dl.lr=0.1,0.15', 'main.dataset_subset=10p,4p', '--json');
    expect(ok.code).toBe(0);
    const runs = JSON.parse(ok.out) as { config: { dl: { lr: number }; main: { dataset_subset: string } } }[];
    expect(runs.map((x) => [x.config.dl.lr, x.config.main.dataset_subset])).toEqual([
      [0.1, '10p'],
      [0.1, '4p'],
      [0.15, '10p'],
      [0.15, '4p'],
    ]);
  });

  it('usage errors: missing --config-name, unknown config, bad subcommand; --help', async () => {
    expect((await smn('config', 'show')).code).toBe(2);
    const unknown = await smn('config', 'show', '--config-name', 'submaks');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("no config named 'submaks'");
    expect(unknown.err).toContain('submask_lin');
    expect((await smn('config', 'frobnicate')).code).toBe(2);
    const help = await smn('config', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('smn config show --config-name NAME');
    const list = await smn('config', 'list');
    expect(list.out.split('\n')).toEqual(expect.arrayContaining(['default', 'baseline', 'submask', 'submask_lin', 'submask_clip', 'submask_clip_p', 'baseline_clip']));
  });
});
