import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { createResNet, resnetStateDict, writeSafetensors } from '@smn/models';
import { readRunSummary, resolveConfig, runExperiment } from '../src/index.js';
import { forwardTrainSamples } from '../src/experiment/evaluate.js';
import { checkResumeConfig, runTarget } from '../src/experiment/open-run.js';
import { setUpExperiment, type Experiment } from '../src/experiment/setup.js';

let weights = '';
let root = '';
beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'smn-parts-'));
  weights = join(root, 'tiny.safetensors');
  const m = createResNet({ depth: 18, width: 4, stem: 'imagenet', numClasses: 0, seed: 3 });
  await writeSafetensors(weights, resnetStateDict(m));
  m.dispose();
}, 120_000);

const cfgOf = (name: string, extra: string[] = []) =>
  resolveConfig({
    configName: name,
    overrides: ['main.dataset=embedded', 'model.pret.name=embedded', `model.pret.weights=${weights}`, 'main.dataset_subset=64', 'dl.batch_size=32', 'dl.epochs=1', 'dl.scheduler=cosine', ...extra],
  }).config;

const ctx = (exp: Experiment) => ({ exp, workers: 0, events: {}, onBadSample: () => {} });
const host = (m: ReadonlyMap<string, tf.Variable>) => Object.fromEntries([...m].map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('the epoch-end sample forward (dl.analyze_sample_size)', () => {
  it('moves BatchNorm running statistics by one batch, changes no weight, and repeats for the same seed and epoch', async () => {
    const run = async (epoch: number, extra: string[] = []) => {
      const exp = await setUpExperiment(cfgOf('submask', extra));
      const before = { buffers: host(exp.buffers), vars: host(exp.vars.all) };
      const n = await forwardTrainSamples(ctx(exp), epoch, { epoch, batch: 2, step: 2 });
      const after = { buffers: host(exp.buffers), vars: host(exp.vars.all) };
      exp.dispose();
      return { n, before, after };
    };
    const tensors = tf.memory().numTensors;
    const a = await run(0);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(a.n).toBe(2);
    expect(a.after.vars).toEqual(a.before.vars);
    expect(a.after.buffers['bn1.num_batches_tracked']).toEqual([a.before.buffers['bn1.num_batches_tracked']![0]! + 1]);
    const mean0 = a.before.buffers['bn1.running_mean']!;
    const mean1 = a.after.buffers['bn1.running_mean']!;
    expect(mean1.some((v, i) => Math.abs(v - mean0[i]!) > 1e-6)).toBe(true);
    // Same seed and epoch: the same samples with the same augmentation, so the same statistics, bit for bit.
    expect((await run(0)).after.buffers).toEqual(a.after.buffers);
    // Another epoch or seed draws other samples.
    expect((await run(1)).after.buffers['bn1.running_mean']).not.toEqual(mean1);
    expect((await run(0, ['main.seed=1'])).after.buffers['bn1.running_mean']).not.toEqual(mean1);
    // 0 turns it off.
    const off = await run(0, ['dl.analyze_sample_size=0']);
    expect(off.n).toBe(0);
    expect(off.after.buffers).toEqual(off.before.buffers);
  }, 120_000);

  it('a whole run: main.update_bn=1 still recomputes the statistics afterwards, so the final test does not see the samples', async () => {
    const on = await runExperiment({ config: cfgOf('submask', ['main.update_bn=1']), runDir: join(root, 'bn-on'), workers: 0 });
    const off = await runExperiment({ config: cfgOf('submask', ['main.update_bn=1', 'dl.analyze_sample_size=0']), runDir: join(root, 'bn-off'), workers: 0 });
    // The masks and the recomputed statistics are the same: so are the final test's numbers.
    for (const k of ['training/test/accuracy', 'training/test/loss', 'training/test/knn_accuracy_mem_train', 'training/test/model_analysis/mean_mask']) {
      expect(on.metrics[k], k).toBe(off.metrics[k]);
    }
    const s = await readRunSummary(on.runDir);
    expect(s).toEqual(on.summary);
    expect(s.maskedWeights).toBe(on.maskedEntries);
    expect(s.maskedWeights + s.headMaskedWeights + s.trainedFloats).toBe(on.maskedEntries + on.trainedEntries);
    expect(s.headMaskedWeights).toBe(32 * 10); // the masked random head: feature width × classes
    expect(s.trainedBits).toBe(s.maskedWeights + s.headMaskedWeights + 32 * s.trainedFloats);
    expect(s.metrics['training/test/accuracy']).toBe(on.metrics['training/test/accuracy']);
  }, 300_000);
});

describe('which folder a run uses and what it refuses (main.run_dir, main.resume_checkpoint, main.task, main.model)', () => {
  it('runDir, else the folder of main.resume_checkpoint (resuming), else main.run_dir', () => {
    const c = (extra: string[]) => resolveConfig({ configName: 'submask', overrides: extra }).config;
    expect(runTarget({ config: c([]), runDir: 'runs/a' })).toEqual({ runDir: 'runs/a', resume: false });
    expect(runTarget({ config: c(['main.run_dir=runs/b']) })).toEqual({ runDir: 'runs/b', resume: false });
    expect(runTarget({ config: c(['main.run_dir=runs/b']), runDir: 'runs/a' })).toEqual({ runDir: 'runs/a', resume: false });
    expect(runTarget({ config: c(['main.resume_checkpoint=runs/c/last.ckpt', 'main.run_dir=runs/b']) })).toEqual({ runDir: 'runs/c', resume: true });
    expect(runTarget({ config: c(['main.resume_checkpoint=runs/c']), runDir: 'runs/c/' })).toEqual({ runDir: 'runs/c/', resume: true });
    expect(() => runTarget({ config: c(['main.resume_checkpoint=runs/c']), runDir: 'runs/d' })).toThrowError(/resumes the run in runs\/c, but the run folder given is runs\/d/);
    expect(() => runTarget({ config: c([]) })).toThrowError(expect.objectContaining({ code: 'SMN_RUN_DIR', kind: 'usage' }));
    expect(() => runTarget({ config: c(['main.task=summary']), runDir: 'x' })).toThrowError(expect.objectContaining({ code: 'SMN_CONFIG_TASK', kind: 'usage' }));
    expect(() => runTarget({ config: resolveConfig({ configName: 'default' }).config, runDir: 'x' })).toThrowError(/main\.model=clip is a path of the reference that does not work there/);
  });

  it('a resume must use the run own config, but for where and on what it runs', () => {
    const c = (extra: string[]) => resolveConfig({ configName: 'submask', overrides: extra }).config;
    expect(() => checkResumeConfig(c([]), c(['main.resume_checkpoint=runs/x', 'main.backend=cpu', 'main.device=cpu', 'main.run_dir=y']), 'runs/x')).not.toThrow();
    // 60, not fewer: submask's 40 warm-up epochs must fit in dl.epochs for the config to resolve.
    expect(() => checkResumeConfig(c([]), c(['dl.lr=1', 'dl.epochs=60']), 'runs/x')).toThrowError(
      expect.objectContaining({ code: 'SMN_RESUME_CONFIG', message: expect.stringContaining('dl.epochs (60 here, 150 in the run), dl.lr (1 here, 50 in the run)') }),
    );
  });
});
