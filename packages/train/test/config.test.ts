import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  configFromYaml,
  configKeys,
  configToYaml,
  expandSweeps,
  IGNORED_KEYS,
  parseHydraArgs,
  parseOverride,
  parseValue,
  renderConfigDocs,
  resolveConfig,
} from '../src/config/index.js';
import { problemsOf } from './_config.js';

const tmp = mkdtempSync(join(tmpdir(), 'smn-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('shipped configs carry the reference defaults (its dataclasses and conf/*.yaml)', () => {
  it('default: every dataclass default', () => {
    const { config: c } = resolveConfig({ configName: 'default' });
    expect(c.main).toMatchObject({
      task: 'train', model: 'clip', info: '', dataset: 'mnist', dataset_subset: '', dataset_subset_labels: '',
      dataset_subset_clusters_file: '', dataset_subset_cluster: 0, data_root: 'data', checkpoint_path: 'data/models/checkpoints',
      load_checkpoint: '', strict_load_checkpoint: true, resume_checkpoint: '', train: true, test: true, validate: true,
      probe: false, seed: 0, run_dir: null, backend: null, device: null,
    });
    expect(c.model.pret).toEqual({
      source: 'hub', repo: 'facebookresearch/swav:main', name: 'resnet50', weights: null, submask_scale: true, head: 'train',
      backbone: 'mask', train_layers: ['conv'], pretrained_head: false, pretrained_backbone: true, head_type: 'linear',
      init_scores_mean: 0.01, init_scores_std: 0, init_scores_magnitude: false, init_scores_shuffle: false,
      kaiming_scores_init: false, prune_criterion: 'threshold', prune_k: 0, prune_progressive: false, prune_k_start: 0.9,
      prune_unit: 'epoch', module: 'classifier', shell_mode: 'copy',
    });
    expect(c.model.clip).toEqual({
      code: 'openai/clip-vit-base-patch32', submask: false, submask_scale: false, submask_backbone: true, submask_head: true,
      freeze_backbone: false, scores_init: 'default_scores_init', module: 'prompt',
    });
    expect(c.model.timm).toMatchObject({ name: 'resnet18', pretrained: true, init_scores_mean: 0.01, prune_criterion: 'threshold', prune_unit: 'epoch' });
    expect(c.model.repro).toEqual({ name: 'NetBaseline', submask: false, scale: false });
    expect(c.dl).toEqual({
      shuffle: true, batch_size: 128, epochs: 100, batch_accum: 1, optimizer: 'adam', lr: 1e-4, weight_decay: 0,
      betas: [0.9, 0.98], eps: 1e-6, momentum: 0, scheduler: 'none', scheduler_step: 50, scheduler_gamma: 0.1, eta_min: 0,
      cooldown: 50, warmup_epochs: 10, analyze_train_every: 1, analyze_val_every: 1, analyze_sample_size: 2,
    });
    expect(c.cls).toEqual({
      loss: 'cross_entropy', fc: '', fc_score_init: 1, mem_train_every_epoch: false, knn_eval: true, head_lr: 1, head_wd: 1,
      head_scale_lr: true, head_scale_wd: true, mlp_depth: 2, mlp_hidden_dim: -1, size_scale_wd: false, multihead_heads: 4,
      knn_analysis: true,
    });
    expect(c.swav).toEqual({
      nmb_crops: [2, 6], size_crops: [224, 96], min_scale_crops: [0.14, 0.05], max_scale_crops: [1, 0.14], nmb_prototypes: 3000,
      feat_dim: 128, queue_length: 3840, epoch_queue_starts: 15, crops_for_assign: [0, 1], temperature: 0.1,
      freeze_prototypes_niters: 5005, epsilon: 0.05, sinkhorn_iterations: 3, fc: 'linear', prototypes: 'linear',
    });
    expect(c.lp).toEqual({ tol: 1e-3, max_iter: 500, lambda_scaled: 0.01 });
  });

  it('the inheritance chain gives the reference YAML values for dl.* and cls.*', () => {
    const get = (n: string) => resolveConfig({ configName: n }).config;
    const baseline = get('baseline');
    expect(baseline.dl).toMatchObject({ batch_size: 64, epochs: 150, optimizer: 'sgd', lr: 0.001, weight_decay: 5e-4, momentum: 0.9, scheduler: 'cosine' });
    expect(baseline.model.pret).toMatchObject({ source: 'timm', name: 'resnet18', backbone: 'train', head_type: 'identity', train_layers: ['conv', 'downsample'] });
    expect(baseline.main).toMatchObject({ model: 'pret', dataset: 'cifar10pgn' });
    expect(baseline.cls.fc).toBe('linear');

    const submask = get('submask');
    expect(submask.dl).toMatchObject({ optimizer: 'sgdc', lr: 50, weight_decay: 0, scheduler: 'cosine_warmup', warmup_epochs: 40, epochs: 150, batch_size: 64 });
    expect(submask.model.pret).toMatchObject({ backbone: 'mask', init_scores_mean: 1, shell_mode: 'replace', train_layers: ['conv', 'downsample'] });
    expect(submask.cls).toMatchObject({ fc: 'masked', fc_score_init: 1 });

    const lin = get('submask_lin');
    expect(lin.cls).toMatchObject({ fc: 'linear', head_lr: 0.0007, head_wd: 0.0001, head_scale_lr: false, head_scale_wd: false });
    expect(lin.dl.optimizer).toBe('sgdc');

    const clip = get('submask_clip');
    expect(clip.dl).toMatchObject({ epochs: 32, lr: 10, scheduler: 'cosine', optimizer: 'sgdc', warmup_epochs: 40 });
    expect(clip.model.pret).toMatchObject({ source: 'clip', name: 'openai/clip-vit-base-patch32', train_layers: ['k_proj', 'v_proj', 'q_proj', 'out_proj', 'mlp.fc1', 'mlp.fc2'] });
    expect(get('submask_clip_p').cls.fc).toBe('pret_submasked');

    const bclip = get('baseline_clip');
    expect(bclip.dl).toMatchObject({ optimizer: 'adamw', lr: 5e-4, weight_decay: 0.2, epochs: 32, scheduler: 'cosine', betas: [0.9, 0.98], eps: 1e-6 });
  });

  it("every command of the seed README resolves (with the reference's names), sweeps expanded", () => {
    const commands = [
      '--config-name submask --multirun main.dataset=cifar100 model.pret.source=hub model.pret.name=resnet50 main.dataset_subset=10p',
      '--config-name submask_clip_p --multirun main.dataset=cifar100',
      '--config-name baseline --multirun main.dataset=cifar100 model.pret.source=hub model.pret.name=resnet50 dl.lr=0.15 dl.weight_decay=0.000001 main.dataset_subset=10p',
      '--config-name=baseline model.pret.source=hub model.pret.name=resnet50 main.train=0 main.probe=1 main.dataset_subset=10p',
      '--config-name=submask_lin model.pret.source=hub model.pret.name=resnet50 model.pret.module=swav main.dataset=multicrop_cifar100 dl.scheduler=cosine cls.head_lr=0.15 cls.head_wd=0.000001 swav.queue_length=512 swav.epoch_queue_starts=30 swav.nmb_prototypes=500 dl.scheduler=cosine',
      '--config-name=submask_lin model.pret.source=hub model.pret.name=resnet50 model.pret.module=swav main.dataset=multicrop_cifar100 dl.scheduler=cosine cls.head_lr=0.15 cls.head_wd=0.000001 swav.queue_length=512 swav.epoch_queue_starts=6 swav.nmb_prototypes=500 dl.scheduler=cosine main.dataset_subset_clusters_file=notebook/output_clusters.pt main.dataset_subset_cluster=3 dl.epochs=30 main.load_checkpoint=abc123/last.ckpt main.strict_load_checkpoint=0',
      '--config-name=submask_lin model.pret.source=hub model.pret.name=resnet50 model.pret.module=swav main.dataset=multicrop_cifar100 swav.nmb_prototypes=500 dl.scheduler=cosine main.train=0 main.load_checkpoint=abc123/last.ckpt cls.force_analysis_cpu=1',
    ];
    const results = commands.map((c) => {
      const a = parseHydraArgs(c.split(' '));
      expect(a.rest).toEqual([]);
      return expandSweeps(a.overrides).map((o) => resolveConfig({ configName: a.configName!, overrides: o }));
    });
    expect(results.map((r) => r.length)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    const probe = results[3]![0]!.config;
    expect([probe.main.train, probe.main.probe, probe.main.dataset_subset, probe.model.pret.name]).toEqual([false, true, '10p', 'resnet50']);
    const ssl = results[4]![0]!.config;
    expect(ssl.cls).toMatchObject({ head_lr: 0.15, head_wd: 1e-6, head_scale_lr: false });
    expect(ssl.swav).toMatchObject({ queue_length: 512, epoch_queue_starts: 30, nmb_prototypes: 500 });
    expect(ssl.dl.scheduler).toBe('cosine');
    const expert = results[5]![0]!.config;
    expect(expert.main).toMatchObject({ dataset_subset_cluster: 3, strict_load_checkpoint: false, load_checkpoint: 'abc123/last.ckpt' });
    expect(results[6]![0]!.ignored).toEqual(['cls.force_analysis_cpu']);
  });

  it('the schema covers every key of the YAML files and has a description for each', () => {
    for (const [path, info] of configKeys()) expect(info.description.length, path).toBeGreaterThan(10);
    expect(configKeys().size).toBeGreaterThan(100);
  });
});

describe('override grammar (Hydra)', () => {
  it('parses values like Hydra', () => {
    expect(parseValue('0.15')).toBe(0.15);
    expect(parseValue('1e-6')).toBe(1e-6);
    expect(parseValue('-3')).toBe(-3);
    expect(parseValue('True')).toBe(true);
    expect(parseValue('false')).toBe(false);
    expect(parseValue('null')).toBe(null);
    expect(parseValue('10p')).toBe('10p');
    expect(parseValue('abc/last.ckpt')).toBe('abc/last.ckpt');
    expect(parseValue("'a,b'")).toBe('a,b');
    expect(parseValue('"it\\"s"')).toBe('it"s');
    expect(parseValue('[conv, downsample]')).toEqual(['conv', 'downsample']);
    expect(parseValue('[[1,2],[]]')).toEqual([[1, 2], []]);
    expect(parseValue('{a: 1, b: [x]}')).toEqual({ a: 1, b: ['x'] });
    expect(parseValue('')).toBe('');
    expect(parseValue('inf')).toBe(Infinity);
  });

  it('recognises the operators and sweeps', () => {
    expect(parseOverride('dl.lr=0.1')).toMatchObject({ op: 'set', key: 'dl.lr', value: { value: 0.1, raw: '0.1' } });
    expect(parseOverride('+main.foo=1')).toMatchObject({ op: 'add', key: 'main.foo' });
    expect(parseOverride('++dl.lr=1')).toMatchObject({ op: 'force', key: 'dl.lr' });
    expect(parseOverride('~model.pret.weights')).toMatchObject({ op: 'delete', key: 'model.pret.weights' });
    expect(parseOverride('dl.lr=0.1,0.15').sweep).toEqual(['0.1', '0.15']);
    expect(parseOverride('a=[1,2]').sweep).toBeUndefined();
    expect(parseOverride("a='x,y'").sweep).toBeUndefined();
    expect(parseOverride('a=choice(x, y)').sweep).toEqual(['x', 'y']);
    expect(parseOverride('a=range(1,7,2)').sweep).toEqual(['1', '3', '5']);
    expect(() => parseOverride('dl.lr')).toThrowError(/expected key=value/);
    expect(() => parseOverride('dl..lr=1')).toThrowError(/not a key/);
    expect(() => parseOverride('a=[1,2')).toThrowError(/expected ',' or '\]'/);
    expect(() => parseOverride("a='open")).toThrowError(/unterminated/);
    expect(() => parseOverride('a=glob(*)')).toThrowError(/not supported/);
  });

  it('expandSweeps: the cartesian product, first override slowest, prefixes kept', () => {
    expect(expandSweeps(['dl.lr=0.1,0.15', 'main.x=1', '++main.dataset_subset=10p,4p,1p'])).toEqual([
      ['dl.lr=0.1', 'main.x=1', '++main.dataset_subset=10p'],
      ['dl.lr=0.1', 'main.x=1', '++main.dataset_subset=4p'],
      ['dl.lr=0.1', 'main.x=1', '++main.dataset_subset=1p'],
      ['dl.lr=0.15', 'main.x=1', '++main.dataset_subset=10p'],
      ['dl.lr=0.15', 'main.x=1', '++main.dataset_subset=4p'],
      ['dl.lr=0.15', 'main.x=1', '++main.dataset_subset=1p'],
    ]);
    expect(expandSweeps([])).toEqual([[]]);
  });

  it('parseHydraArgs separates config flags, overrides and other flags', () => {
    expect(parseHydraArgs(['--config-name', 'submask', '-m', 'dl.lr=1', '~a.b', '--json', '--run-dir', 'runs/x', '--config-dir=/c'])).toEqual({
      configName: 'submask',
      configDirs: ['/c'],
      multirun: true,
      overrides: ['dl.lr=1', '~a.b'],
      rest: ['--json', '--run-dir', 'runs/x'],
    });
    expect(parseHydraArgs(['--config-name=baseline']).configName).toBe('baseline');
    expect(() => parseHydraArgs(['--config-name'])).toThrowError(/needs a value/);
  });

  it('applies overrides in order, with type conversion as OmegaConf', () => {
    const r = resolveConfig({
      configName: 'submask',
      overrides: [
        'dl.lr=1', 'dl.lr=2', 'main.train=0', 'main.probe=yes', 'main.dataset_subset=10', 'main.info=1.0', 'dl.epochs=3',
        'dl.warmup_epochs=1', // submask's 40 warm-up epochs must fit in dl.epochs
        'model.pret.train_layers=[conv]', 'model.pret.weights=w.safetensors', 'dl.betas=[0.8,0.9]', 'main.dataset=embedded',
        'model.pret.name=embedded', 'main.seed=7', 'main.run_dir=runs/a', 'main.backend=cpu',
      ],
    });
    expect(r.config.dl).toMatchObject({ lr: 2, epochs: 3, betas: [0.8, 0.9] });
    expect(r.config.main).toMatchObject({ train: false, probe: true, dataset_subset: '10', info: '1.0', dataset: 'embedded', seed: 7, run_dir: 'runs/a', backend: 'cpu' });
    expect(r.config.model.pret).toMatchObject({ train_layers: ['conv'], weights: 'w.safetensors', name: 'embedded' });
    expect(r.overrides).toHaveLength(16);
  });

  it('+ adds only missing keys, ++ adds or sets, ~ deletes nullable keys (read as null)', () => {
    expect(resolveConfig({ configName: 'baseline', overrides: ['++dl.lr=0.5'] }).config.dl.lr).toBe(0.5);
    const r = resolveConfig({ configName: 'baseline', overrides: ['model.pret.weights=a.pth', '~model.pret.weights=a.pth'] });
    expect(r.config.model.pret.weights).toBe(null);
    const { problems } = problemsOf(() =>
      resolveConfig({ configName: 'baseline', overrides: ['+dl.lr=0.5', '~dl.lr', 'model.pret.weights=a', '~model.pret.weights=b', '+main.nope=1'] }),
    );
    expect(problems.map((p) => [p.path, p.message.split(':')[0]])).toEqual([
      ['dl.lr', 'cannot add'],
      ['dl.lr', 'cannot delete'],
      ['model.pret.weights', 'cannot delete'],
      ['main.nope', 'unknown key'],
    ]);
    expect(problems[0]!.message).toContain('++dl.lr=');
  });

  it('collects all problems with dot paths, sources and the nearest keys', () => {
    const { err, problems } = problemsOf(() =>
      resolveConfig({
        configName: 'submask',
        overrides: ['dl.lrr=0.1', 'model.pret.nmae=x', 'dl.scheduler=cosin', 'dl.epochs=1.5', 'main.train=maybe', 'cls.fc=masked,linear', 'dl.lr.x=1', 'hydra/launcher=joblib', 'foo/bar=1'],
      }),
    );
    expect(err.code).toBe('SMN_CONFIG_INVALID');
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(byPath['dl.lrr']!.suggestions![0]).toBe('dl.lr');
    expect(byPath['model.pret.nmae']!.suggestions![0]).toBe('model.pret.name');
    expect(byPath['dl.scheduler']!.message).toBe("expected none | cosine | cosine_warmup | cosine_cooldown | step, got 'cosin'");
    expect(byPath['dl.scheduler']!.source).toBe("override 'dl.scheduler=cosin'");
    expect(byPath['dl.epochs']!.message).toBe('expected int, got 1.5');
    expect(byPath['main.train']!.message).toBe("expected bool, got 'maybe'");
    expect(byPath['cls.fc']!.message).toContain('--multirun');
    expect(byPath['foo/bar']!.message).toContain('config groups');
    expect(problems).toHaveLength(8);
    expect(err.message.split('\n')[0]).toBe("config 'submask' has 8 problems:");
    expect(err.message).toContain('  - dl.lrr: unknown key');
  });

  it("main.dataset_labels: '' by default, coarse accepted, any other value a usage error listing the groupings", () => {
    expect(resolveConfig({ configName: 'submask' }).config.main.dataset_labels).toBe('');
    expect(resolveConfig({ configName: 'submask', overrides: ['main.dataset_labels=coarse'] }).config.main.dataset_labels).toBe('coarse');
    const { err, problems } = problemsOf(() => resolveConfig({ configName: 'submask', overrides: ['main.dataset_labels=fine'] }));
    expect(err.code).toBe('SMN_CONFIG_INVALID');
    expect(err.kind).toBe('usage');
    expect(problems.map((p) => [p.path, p.message])).toEqual([['main.dataset_labels', "expected '' | coarse, got 'fine'"]]);
  });
});

describe('config files', () => {
  it('a user config dir: extends, _self_, ignored keys in files, aliases, unknown keys with their file', () => {
    const dir = join(tmp, 'user');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'mine.yaml'), 'extends: submask\ndl:\n  lr: 7\n  num_workers: 18\nmain:\n  data_path: /datasets\nhydra:\n  run:\n    dir: x\n');
    writeFileSync(join(dir, 'early_self.yaml'), 'defaults:\n  - _self_\n  - baseline\ndl:\n  lr: 123\n');
    writeFileSync(join(dir, 'typo.yaml'), 'defaults: [default]\ndl:\n  lrate: 1\n  epochs: many\n');
    const r = resolveConfig({ configName: 'mine', configDirs: [dir] });
    expect(r.config.dl.lr).toBe(7);
    expect(r.config.dl.optimizer).toBe('sgdc');
    expect(r.config.main.data_root).toBe('/datasets');
    expect(r.ignored).toEqual(['dl.num_workers', 'hydra']);
    expect(r.warnings[0]).toContain('main.data_path');
    // _self_ first: the parent overrides the file's own keys, as in Hydra.
    expect(resolveConfig({ configName: 'early_self', configDirs: [dir] }).config.dl.lr).toBe(0.001);
    const { problems } = problemsOf(() => resolveConfig({ configName: 'typo', configDirs: [dir] }));
    expect(problems.map((p) => p.path).sort()).toEqual(['dl.epochs', 'dl.lrate']);
    expect(problems.find((p) => p.path === 'dl.lrate')!.source).toMatch(/typo\.yaml$/);
    expect(problems.find((p) => p.path === 'dl.lrate')!.suggestions).toContain('dl.lr');
  });

  it('missing configs, cycles and broken YAML are usage errors naming the file', () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.yaml'), 'defaults: [b]\n');
    writeFileSync(join(dir, 'b.yaml'), 'extends: a\n');
    writeFileSync(join(dir, 'orphan.yaml'), 'defaults: [nowhere]\n');
    writeFileSync(join(dir, 'broken.yaml'), 'dl:\n  lr: [1, 2\n');
    writeFileSync(join(dir, 'dup.yaml'), 'dl:\n  lr: 1\n  lr: 2\n');
    expect(() => resolveConfig({ configName: 'a', configDirs: [dir] })).toThrowError(/loops: a → b → a/);
    expect(() => resolveConfig({ configName: 'orphan', configDirs: [dir] })).toThrowError(/no config named 'nowhere' \(parent of 'orphan'\)/);
    expect(() => resolveConfig({ configName: 'broken', configDirs: [dir] })).toThrowError(/broken\.yaml is not valid YAML/);
    expect(() => resolveConfig({ configName: 'dup', configDirs: [dir] })).toThrowError(/dup\.yaml is not valid YAML/);
    expect(() => resolveConfig({ configName: 'submaks' })).toThrowError(/available: .*submask/);
  });

  it('the ignored-key list covers the Neptune and worker keys of the reference', () => {
    for (const k of ['main.logging_mode', 'main.mvp', 'main.force_cpu', 'main.outputs', 'dl.num_workers', 'dl.num_workers_auto', 'dl.multiprocessing_context']) {
      expect(IGNORED_KEYS[k], k).toBeTruthy();
    }
    const r = resolveConfig({ configName: 'baseline', overrides: ['main.mvp=0', 'dl.num_workers=4', 'hydra.launcher.n_jobs=4', '~main.outputs'] });
    expect(r.ignored).toEqual(['main.mvp', 'dl.num_workers', 'hydra.launcher.n_jobs', 'main.outputs']);
  });
});

describe('docs/config.md', () => {
  it('is up to date (regenerate with: pnpm tsx tools/gen-config-docs.ts)', () => {
    const committed = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
    expect(committed === renderConfigDocs(), 'docs/config.md is stale: run pnpm tsx tools/gen-config-docs.ts').toBe(true);
  });
});

describe('config.yaml round trip', () => {
  it('configToYaml → configFromYaml gives the same config; a broken file lists its problems', () => {
    const { config } = resolveConfig({ configName: 'submask_clip_p', overrides: ['dl.eta_min=1e-7', 'main.info=a: b', 'model.pret.weights=x.pth'] });
    const text = configToYaml(config);
    expect(text).toContain('train_layers: [ k_proj, v_proj, q_proj, out_proj, mlp.fc1, mlp.fc2 ]');
    expect(configFromYaml(text)).toEqual(config);
    const broken = text.replace('lr: 10', 'lr: ten').replace('epochs: 32', 'epochs: 32\n  epoch: 3');
    const { err, problems } = problemsOf(() => configFromYaml(broken, 'runs/x/config.yaml'));
    expect(err.message.split('\n')[0]).toBe('runs/x/config.yaml has 2 problems:');
    expect(problems.map((p) => p.path).sort()).toEqual(['dl.epoch', 'dl.lr']);
  });
});

