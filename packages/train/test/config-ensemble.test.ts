import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ENSEMBLE_CONFIG,
  ensembleConfigSchema,
  nearestKeys,
  resolveConfig,
  resolveEnsembleRuns,
  resolveRuns,
  resolveRunsWith,
  TRAIN_CONFIG,
  type ConfigProblem,
} from '../src/config/index.js';
import { problemsOf } from './_config.js';

const tmp = mkdtempSync(join(tmpdir(), 'smn-config-ensemble-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The defaults every ensemble config is composed over (the CLI ships the same keys in configs/ensembling/).
const DEFAULTS = `runs: []
run_ids: []
runs_dir: runs
cluster_ids: []
clusters: null
method: replace
linear_probe: 1
baseline_index: 0
pca_components: null
pca_niter: 10
seed: 0
num_classes: null
knn:
  k: 200
  temperature: 0.1
`;

const dirs = [join(tmp, 'conf')];
mkdirSync(dirs[0]!, { recursive: true });
writeFileSync(join(dirs[0]!, 'ensembling.yaml'), DEFAULTS);
writeFileSync(join(dirs[0]!, 'three.yaml'), 'runs: [d, e0, e1]\ncluster_ids: [0, 1]\n');

describe('the ensemble config (ENSEMBLE_CONFIG)', () => {
  it('is composed over its defaults even without defaults: [ensembling]; YAML values are converted; run_ids name runs', () => {
    const file = join(tmp, 'mine.yaml');
    writeFileSync(file, 'run_ids: [a, 7]\nruns_dir: /r\ncluster_ids: [3]\nlinear_probe: 0\nknn: { k: 20 }\nlp: { solver: auto }\nhydra: { run: { dir: x } }\n');
    const [r] = resolveEnsembleRuns({ configFile: file, configDirs: dirs, overrides: ['method=pca_conditional', 'subset_cluster=2'] });
    expect(r!.config).toMatchObject({ runs: ['/r/a', '/r/7'], cluster_ids: [3], method: 'pca_conditional', linear_probe: false, knn: { k: 20, temperature: 0.1 } });
    expect(r!.ignored).toEqual(['lp', 'hydra', 'subset_cluster']);
    expect(r!.files.map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual(['ensembling.yaml', 'mine.yaml']);
  });

  it('collects every problem at once: the schema, the rules across keys, unknown keys with the nearest ones', () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'runs: [d, e0]\ncluster_ids: [0, 1]\ndispatcher: 1\ndataset_subset: 10p\nknn: { k: 0, tempreature: 1 }\n');
    const { err, problems } = problemsOf(() => resolveEnsembleRuns({ configFile: file, configDirs: dirs, overrides: ['method=pca', 'pca_component=8'] }));
    expect(err.code).toBe('SMN_CONFIG_INVALID');
    expect(err.message.split('\n')[0]).toBe(`ensemble config ${file} has 7 problems:`);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(Object.keys(byPath).sort()).toEqual(['cluster_ids', 'dataset_subset', 'dispatcher', 'knn.k', 'knn.tempreature', 'method', 'pca_component']);
    expect(byPath['pca_component']!.suggestions![0]).toBe('pca_components');
    expect(byPath['knn.tempreature']!.suggestions![0]).toBe('knn.temperature');
    expect(byPath['knn.tempreature']!.source).toBe(file);
    expect(byPath['cluster_ids']!).toEqual({ path: 'cluster_ids', message: '2 ids for 1 experts (runs after the dispatcher); they must match one to one', source: file });
    expect(byPath['method']!.source).toBe("override 'method=pca'");
    expect(problemsOf(() => resolveEnsembleRuns({ configName: 'ensembling', configDirs: dirs })).problems.map((p) => p.message)).toEqual([
      'expected a non-empty list of run folders (dispatcher first), or run_ids',
    ]);
  });

  it('nearestKeys searches the schema it is given', () => {
    expect(nearestKeys('knn.kk', 3, ensembleConfigSchema)[0]).toBe('knn.k');
    expect(nearestKeys('dl.lrr')[0]).toBe('dl.lr');
  });
});

describe('one grammar: the ensemble and training configs answer the same override the same way', () => {
  const trainProblem = (o: string) => problemsOf(() => resolveConfig({ configName: 'baseline', overrides: [o] })).problems;
  const ensembleProblem = (o: string) => problemsOf(() => resolveEnsembleRuns({ configName: 'three', configDirs: dirs, overrides: [o] })).problems;

  it.each([
    ['seed=abc', 'main.seed=abc'],
    ['seed=1.5', 'main.seed=1.5'],
    ['knn.k=0', 'dl.epochs=0'],
    ['seed=0,1', 'main.seed=0,1'],
    ['+seed=1', '+main.seed=1'],
    ['~seed', '~main.seed'],
    ['~clusters=x', '~model.pret.weights=x'],
    ['seed=[1', 'main.seed=[1'],
    ['a/b=1', 'a/b=1'],
  ])('%s ~ %s', (ens, train) => {
    const keyOf = (o: string) => o.replace(/^[+~]+/, '').split('=')[0]!;
    const norm = (ps: ConfigProblem[], o: string) => ps.map((p) => ({ ...p, path: 'KEY', message: p.message.replaceAll(keyOf(o), 'KEY'), source: p.source?.replaceAll(keyOf(o), 'KEY') }));
    const e = norm(ensembleProblem(ens), ens);
    expect(e).toHaveLength(1);
    expect(e).toEqual(norm(trainProblem(train), train));
  });

  it('hydra.* is ignored by both; --multirun expands sweeps in the same order (first override slowest)', () => {
    expect(resolveEnsembleRuns({ configName: 'three', configDirs: dirs, overrides: ['hydra.run.dir=x'] })[0]!.ignored).toEqual(['hydra.run.dir']);
    expect(resolveConfig({ configName: 'baseline', overrides: ['hydra.run.dir=x'] }).ignored).toEqual(['hydra.run.dir']);
    const ens = resolveRunsWith(ENSEMBLE_CONFIG, { configName: 'three', configDirs: dirs, multirun: true, overrides: ['seed=1,2', 'pca_niter=range(3,5)'] });
    const train = resolveRuns({ configName: 'baseline', multirun: true, overrides: ['main.seed=1,2', 'dl.epochs=range(3,5)'] });
    expect(ens.map((r) => [r.config.seed, r.config.pca_niter])).toEqual(train.map((r) => [r.config.main.seed, r.config.dl.epochs]));
    expect(ens.map((r) => r.overrides)).toEqual([['seed=1', 'pca_niter=3'], ['seed=1', 'pca_niter=4'], ['seed=2', 'pca_niter=3'], ['seed=2', 'pca_niter=4']]);
    expect(resolveRunsWith(TRAIN_CONFIG, { configName: 'baseline' })[0]!.config).toEqual(resolveConfig({ configName: 'baseline' }).config);
  });
});
