// What a config can cost and what `smn config show` accepts: sweeps are counted before they are expanded and
// refused past a stated number of runs; a YAML alias bomb, a missing --config-dir and a FIFO named x.yaml are named
// errors; and values `smn train` would refuse (schedule, dataset_subset) are refused when the config resolves.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeConfig, configFromYaml, countSweeps, expandSweeps, listConfigNames, MAX_RUNS, resolveConfig, resolveRuns, type ConfigProblem } from '../src/config/index.js';
import { caught } from '../../core/test/_smn-error.js';

const tmp = mkdtempSync(join(tmpdir(), 'smn-config-bounds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Eight overrides of ten values each: 10^8 combinations. */
const HUGE_SWEEP = ['dl.lr', 'dl.weight_decay', 'dl.momentum', 'dl.eta_min', 'cls.head_lr', 'cls.head_wd', 'cls.fc_score_init', 'swav.epsilon'].map(
  (k) => `${k}=${Array.from({ length: 10 }, (_, i) => (i + 1) / 100).join(',')}`,
);

describe('sweeps are counted before they are expanded', () => {
  it('countSweeps multiplies the choices without expanding', () => {
    expect(countSweeps(HUGE_SWEEP).runs).toBe(1e8);
    expect(countSweeps(['dl.lr=0.1,0.2', 'main.seed=1', 'main.dataset_subset=10p,4p,1p']).factors).toEqual([
      { key: 'dl.lr', choices: 2 },
      { key: 'main.dataset_subset', choices: 3 },
    ]);
  });

  it('10^8 combinations are refused at once with SMN_CONFIG_TOO_MANY_RUNS saying how many and how to allow them', () => {
    const before = process.memoryUsage().heapUsed;
    const err = caught(() => resolveRuns({ configName: 'submask', overrides: HUGE_SWEEP, multirun: true }));
    expect(err.code).toBe('SMN_CONFIG_TOO_MANY_RUNS');
    expect(err.kind).toBe('usage');
    expect(err.message).toBe(
      'the sweep has 100,000,000 combinations (dl.lr: 10 × dl.weight_decay: 10 × dl.momentum: 10 × dl.eta_min: 10 × cls.head_lr: 10 × ' +
        'cls.head_wd: 10 × cls.fc_score_init: 10 × swav.epsilon: 10); at most 10,000 run unless asked: pass --max-runs 100000000 ' +
        '(maxRuns in the API) to run them all, or sweep fewer values',
    );
    expect(err.details).toMatchObject({ runs: 1e8, limit: MAX_RUNS });
    // Nothing was expanded: the heap did not grow by the GBs 10^8 override lists take (a loose bound, not a timing).
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 2 ** 20);
  });

  it('maxRuns raises or lowers the limit', () => {
    const sweep = ['dl.lr=0.1,0.2,0.3', 'main.seed=1,2'];
    expect(caught(() => expandSweeps(sweep, { maxRuns: 5 })).details).toMatchObject({ runs: 6, limit: 5 });
    expect(expandSweeps(sweep, { maxRuns: 6 })).toHaveLength(6);
    expect(resolveRuns({ configName: 'baseline', overrides: sweep, multirun: true, maxRuns: 6 })).toHaveLength(6);
  });
});

describe('config files', () => {
  it('a YAML alias bomb is SMN_CONFIG_PARSE naming the file (was a ReferenceError with a stack trace)', () => {
    const dir = join(tmp, 'bomb');
    mkdirSync(dir);
    const lines = ['defaults: [default]', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]`);
    writeFileSync(join(dir, 'bomb.yaml'), `${lines.join('\n')}\n`);
    const err = caught(() => composeConfig('bomb', [dir]));
    expect(err.code).toBe('SMN_CONFIG_PARSE');
    expect(err.kind).toBe('usage');
    expect(err.message).toMatch(/bomb\.yaml cannot be read as YAML: its aliases \(\*name\) expand more than 100 times/);
    const err2 = caught(() => configFromYaml(lines.slice(1).join('\n'), 'runs/x/config.yaml'));
    expect(err2.code).toBe('SMN_CONFIG_PARSE');
    expect(err2.message).toMatch(/^runs\/x\/config\.yaml cannot be read as YAML: its aliases/);
  });

  it('--config-dir that does not exist or is a file is SMN_CONFIG_DIR_NOT_FOUND (was silently skipped)', () => {
    const missing = join(tmp, 'nope');
    const err = caught(() => resolveConfig({ configName: 'submask', configDirs: [missing] }));
    expect(err.code).toBe('SMN_CONFIG_DIR_NOT_FOUND');
    expect(err.kind).toBe('usage');
    expect(err.message).toBe(`config folder ${missing} (--config-dir) does not exist; expected a folder of NAME.yaml files`);
    const file = join(tmp, 'afile');
    writeFileSync(file, 'x');
    expect(caught(() => listConfigNames([file])).message).toContain(`config folder ${file} (--config-dir) is not a folder`);
  });

  it('a config that is a FIFO is refused without reading it', () => {
    const dir = join(tmp, 'fifo');
    mkdirSync(dir);
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    const err = caught(() => composeConfig('pipe', [dir]));
    expect(err.code).toBe('SMN_CONFIG_NOT_FOUND');
    expect(err.message).toContain('pipe.yaml is not a regular file; expected a YAML file');
  });
});

describe('config show refuses what train refuses', () => {
  const problems = (overrides: string[], configName = 'submask'): ConfigProblem[] => {
    const err = caught(() => resolveConfig({ configName, overrides }));
    expect(err.code).toBe('SMN_CONFIG_INVALID');
    return err.details.problems as ConfigProblem[];
  };

  it("the README's dl.epochs=2 on submask names dl.warmup_epochs (40), where it came from, and the fix", () => {
    const [p] = problems(['dl.epochs=2']);
    expect(p!.path).toBe('dl.warmup_epochs');
    expect(p!.message).toBe(
      'dl.warmup_epochs (40) must be smaller than dl.epochs (2) for dl.scheduler=cosine_warmup; dl.warmup_epochs counts epochs inside ' +
        'dl.epochs: lower it with dl.warmup_epochs=N (1 ≤ N < dl.epochs), or use dl.scheduler=cosine for short runs',
    );
    expect(p!.source).toMatch(/submask\.yaml$/);
    expect(resolveConfig({ configName: 'submask', overrides: ['dl.epochs=2', 'dl.warmup_epochs=1'] }).config.dl.epochs).toBe(2);
  });

  it('dl.warmup_epochs=0 with cosine_warmup and main.dataset_subset=-5p are refused together', () => {
    const ps = problems(['dl.warmup_epochs=0', 'main.dataset_subset=-5p']);
    expect(ps.map((p) => p.path)).toEqual(['dl.warmup_epochs', 'main.dataset_subset']);
    expect(ps[0]!.message).toContain('dl.warmup_epochs must be an integer >= 1, got 0');
    expect(ps[1]!.message).toContain("dataset_subset '-5p' is not valid");
    expect(ps[1]!.source).toBe("override 'main.dataset_subset=-5p'");
    expect(problems(['main.dataset_subset=0p'])[0]!.message).toContain('keeps no sample');
    // Valid subsets and other schedulers still resolve.
    expect(resolveConfig({ configName: 'baseline', overrides: ['main.dataset_subset=b10p', 'dl.warmup_epochs=0'] }).config.main.dataset_subset).toBe('b10p');
  });
});
