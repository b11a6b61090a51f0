import { basename, join } from 'node:path';
import { atomicWriteFile } from '@smn/core';
import { readRunConfig, readRunMetrics, renderReport, resolveConfig, RUN_FILES, runExperiment, runPaths, seriesOf, type ReportSection, type RunResult, type RunSummary } from '@smn/train';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage } from '../flags.js';
import { interruptible, progressEvents, type Interrupt } from '../progress.js';
import { startBackend, timestamp, WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'quickstart',
  usage: ['smn quickstart [--out DIR] [--epochs N] [--ssl-epochs N] [--workers N]'],
  description: `The main job on the embedded default: no download, no GPU. With the shipped Fashion-MNIST subset (2,000 train /
1,000 test images, 10 classes) and the shipped ResNet-18 (pretrained on 5 of those classes, other images), it runs

  linear probe          the frozen backbone, logistic regression on its features (main.train=0 main.probe=1)
  supervised masking    learn a 1-bit mask per weight + a masked random head (--config-name submask)
  full fine-tuning      train the conv weights + a linear head (--config-name baseline)
  self-masking (SMN)    learn a mask without labels with the SwAV loss, then kNN and a probe (submask_lin, swav),
                        on the shipped SwAV backbone (pretrained without labels on the same 5 classes), next to
                        that backbone unmasked

each with 10% of the labels and with all of them, and prints accuracy, trained bits and stored bytes per method.
Run folders and report.html go to DIR (default runs/quickstart-<time>). About 10 minutes on 2 CPU cores.`,
  flags: {
    out: { type: 'string', value: 'DIR', description: 'where the run folders and the report go', defaultText: 'runs/quickstart-<time>' },
    epochs: { type: 'number', value: 'N', integer: true, min: 1, default: 3, description: 'epochs of the supervised runs on all labels; 10% runs get 4x as many' },
    'ssl-epochs': { type: 'number', value: 'N', integer: true, min: 1, default: 30, description: 'epochs of self-supervised masking' },
    workers: WORKERS_FLAG,
  },
});

interface Row {
  method: string;
  labels: string;
  accuracy: number;
  knn?: number;
  trainedBits: number;
  storedBytes: number;
  seconds: number;
  runDir: string;
}

function table(rows: Row[]): string {
  const head = ['method', 'labels', 'test accuracy', 'kNN accuracy', 'trained bits', 'stored bytes', 'time'];
  const body = rows.map((r) => [
    r.method,
    r.labels,
    `${(100 * r.accuracy).toFixed(1)}%`,
    r.knn === undefined ? '-' : `${(100 * r.knn).toFixed(1)}%`,
    r.trainedBits.toLocaleString('en-US'),
    r.storedBytes.toLocaleString('en-US'),
    `${r.seconds.toFixed(0)} s`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** report.html (the table and each run's training curves) and results.json in `out`; returns the report's path. */
async function writeReport(out: string, rows: Row[], results: Map<string, RunResult>): Promise<string> {
  const sections: ReportSection[] = [
    { title: 'Results', table: { columns: ['method', 'labels', 'test accuracy', 'kNN accuracy', 'trained bits', 'stored bytes', 'seconds', 'run'], rows: rows.map((r) => [r.method, r.labels, r.accuracy, r.knn ?? NaN, r.trainedBits, r.storedBytes, Math.round(r.seconds), r.runDir]) } },
  ];
  const curves: ReportSection['charts'] = [];
  for (const [name, res] of results) {
    const recs = await readRunMetrics(res.runDir);
    const s = ['training/val/accuracy', 'training/train/loss', 'training/val/knn_accuracy'].map((k) => seriesOf(recs.filter((r) => typeof r['training/lr/backbone'] === 'number'), k, `${k.split('/').pop()}`)).filter((x) => x.points.length > 1);
    if (s.length) curves.push({ title: name, series: s, xLabel: 'epoch' });
  }
  sections.push({ title: 'Training curves', charts: curves });
  const reportPath = join(out, 'report.html');
  await atomicWriteFile(reportPath, renderReport('smn quickstart: masking vs fine-tuning vs probe on the embedded default', sections));
  await atomicWriteFile(join(out, 'results.json'), JSON.stringify(rows, null, 2) + '\n');
  return reportPath;
}

/** Mask lr of the quickstart's self-masking of the SwAV backbone (docs/experiments.md, the sweep on embedded_swav). */
const SSL_MASK_LR = 10;

/** A finished run of the quickstart (its summary.json is there), or null when interrupted. */
type Done = RunResult & { summary: RunSummary };
type Runner = (name: string, configName: string, overrides: string[]) => Promise<Done | null>;

const rowOf = (method: string, labels: string, res: Done, accuracyKey: string, trainedBits: number, storedBytes: number): Row => ({
  method,
  labels,
  accuracy: res.metrics[accuracyKey]!,
  knn: res.metrics['training/test/knn_accuracy_mem_train'],
  trainedBits,
  storedBytes,
  seconds: res.seconds,
  runDir: res.runDir,
});

/**
 * Probe, supervised masking and fine-tuning with 10% and all labels; counts from each run's summary.json (1 bit per
 * mask entry, 32 per float: the probe's weights and biases, the fine-tuned weights). Null when interrupted.
 */
async function supervisedRows(run: Runner, E: number): Promise<Row[] | null> {
  const rows: Row[] = [];
  for (const subset of ['10p', '']) {
    const tag = subset ? '10%' : '100%';
    const sub = subset ? [`main.dataset_subset=${subset}`] : [];
    const e = subset ? E * 4 : E;
    // Linear probe of the frozen pretrained backbone (docs/method.md#linear-probing).
    const lp = await run(`probe-${tag}`, 'baseline', ['main.train=0', 'main.probe=1', ...sub]);
    if (!lp) return null;
    rows.push(rowOf('linear probe', tag, lp, 'training/probe/accuracy', lp.summary.trainedBits, 4 * lp.summary.probeFloats));
    // Supervised masking (docs/method.md#supervised-masking), short schedule: cosine without warm-up.
    const sm = await run(`submask-${tag}`, 'submask', [...sub, `dl.epochs=${e}`, 'dl.scheduler=cosine']);
    if (!sm) return null;
    rows.push(rowOf('supervised masking', tag, sm, 'training/test/accuracy', sm.summary.trainedBits, sm.summary.maskBytes));
    // Full fine-tuning (docs/method.md#full-fine-tuning).
    const ft = await run(`finetune-${tag}`, 'baseline', [...sub, `dl.epochs=${e}`, 'dl.lr=0.05', 'dl.weight_decay=0.0005']);
    if (!ft) return null;
    rows.push(rowOf('full fine-tuning', tag, ft, 'training/test/accuracy', ft.summary.trainedBits, 4 * ft.summary.trainedFloats));
  }
  return rows;
}

/**
 * A second task on the embedded backbone for the web page (docs/web.md): supervised masking with Fashion-MNIST's
 * classes grouped as 4 (`main.dataset_labels=coarse`), all labels, the supervised rows' schedule. Not a table row: its
 * accuracy is over 4 classes. Null when interrupted.
 */
function coarseTask(run: Runner, E: number): Promise<Done | null> {
  return run('submask-coarse', 'submask', ['main.dataset_labels=coarse', `dl.epochs=${E}`, 'dl.scheduler=cosine']);
}

/**
 * Self-supervised masking (docs/method.md#self-supervised-masking) of the SwAV backbone (model.pret.name=embedded_swav:
 * pretrained without labels on classes 0-4, packages/train/assets/embedded-swav-backbone.json) on all images without
 * labels, then probes with all and with 10% of the labels; the same backbone unmasked (kNN and probe) is its baseline.
 */
async function selfMaskingRows(run: Runner, Essl: number): Promise<Row[] | null> {
  const swavBackbone = ['model.pret.name=embedded_swav'];
  const rows: Row[] = [];
  for (const subset of ['10p', '']) {
    const tag = subset ? '10%' : '100%';
    const lp = await run(`swav-probe-${tag}`, 'baseline', [...swavBackbone, 'main.train=0', 'main.probe=1', ...(subset ? [`main.dataset_subset=${subset}`] : [])]);
    if (!lp) return null;
    rows.push(rowOf('SwAV backbone (unmasked) + probe', tag, lp, 'training/probe/accuracy', lp.summary.trainedBits, 4 * lp.summary.probeFloats));
  }
  const ssl = await run('smn-ssl', 'submask_lin', [
    ...swavBackbone,
    'model.pret.module=swav',
    'main.dataset=multicrop_embedded',
    'dl.scheduler=cosine',
    `dl.epochs=${Essl}`,
    // The mask lr of the sweep in docs/experiments.md (self-masking the SwAV backbone).
    `dl.lr=${SSL_MASK_LR}`,
    'cls.head_lr=0.15',
    'cls.head_wd=0.000001',
    'swav.nmb_prototypes=30',
    // 16-d embeddings and prototypes frozen for the whole run: with 128-d embeddings and 30 prototypes the projection
    // can turn the embeddings away from every prototype, and learnt prototypes collapse onto one another; either
    // way every prediction becomes uniform and the loss sits at log 30 with no signal for the masks
    // (docs/experiments.md, self-masking the SwAV backbone).
    'swav.feat_dim=16',
    'swav.queue_length=256',
    'swav.epoch_queue_starts=1',
    'swav.freeze_prototypes_niters=100000',
    // 28 px images: the reference's 6 small crops would be 12 px, 1×1 after the stem, and pollute BatchNorm
    // statistics; two global crops (scale 0.3-1) learn (docs/experiments.md).
    'swav.nmb_crops=[2]',
    'swav.size_crops=[224]',
    'swav.min_scale_crops=[0.3]',
    'swav.max_scale_crops=[1]',
    'main.probe=1',
  ]);
  if (!ssl) return null;
  const ssl10 = await run('smn-probe-10%', 'submask_lin', [...swavBackbone, 'model.pret.module=swav', 'main.train=0', 'main.probe=1', 'main.dataset_subset=10p', `main.load_checkpoint=${runPaths(ssl.runDir).checkpoint}`, 'main.strict_load_checkpoint=0', 'swav.nmb_prototypes=30', 'swav.feat_dim=16']);
  if (!ssl10) return null;
  // Both rows cost the self-supervised mask: the probes' floats are not counted (as the README's table).
  const { maskedWeights, maskBytes } = ssl.summary;
  return [...rows, rowOf('self-masking + probe', '10%', ssl10, 'training/probe/accuracy', maskedWeights, maskBytes), rowOf('self-masking + probe', '100%', ssl, 'training/probe/accuracy', maskedWeights, maskBytes)];
}

/** Runs one method of the quickstart in `out/<name>`; null when interrupted. Each run holds its folder's lock. */
function runner(ctx: CommandContext, out: string, intr: Interrupt, workers: number | undefined, results: Map<string, RunResult>): Runner {
  // main.update_bn: every method is evaluated with BatchNorm statistics of the unaugmented train images, so the
  // backbone, masked and fine-tuned rows compare like with like (training on augmented crops skews them).
  const common = ['main.dataset=embedded', 'model.pret.name=embedded', 'main.seed=0', 'main.update_bn=1'];
  return async (name, configName, overrides) => {
    if (intr.interrupted()) return null;
    const r = resolveConfig({ configName, overrides: [...common, ...overrides] });
    ctx.err.write(`smn quickstart: ${name}: --config-name ${configName} ${overrides.join(' ')}\n`);
    const events = progressEvents(ctx, `[${name}]`);
    try {
      const res = await runExperiment({ config: r.config, runDir: join(out, name), overrides: r.overrides, signal: intr.signal, workers, events });
      if (!res.completed || !res.summary) return null;
      results.set(name, res);
      return { ...res, summary: res.summary };
    } finally {
      events.done();
    }
  };
}

const command: Command = {
  name: 'quickstart',
  summary: 'run the main job on the embedded data and backbone: masking vs fine-tuning vs probe',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx: CommandContext) {
    let rows: Row[] = [];
    let coarse: Done | null = null;
    let out = '';
    const results = new Map<string, RunResult>();
    const code = await interruptible(ctx, async (intr) => {
      const { epochs: E, 'ssl-epochs': Essl, workers, out: outFlag } = parseFlags(SPEC, ctx.argv).flags;
      out = outFlag ?? join('runs', `quickstart-${timestamp()}`);
      await startBackend(ctx, 'smn quickstart', `runs in ${out}`);
      const run = runner(ctx, out, intr, workers, results);
      const sup = await supervisedRows(run, E);
      const ssl = sup && (await selfMaskingRows(run, Essl));
      coarse = ssl && (await coarseTask(run, E));
      if (!sup || !ssl || !coarse) return 130;
      rows = [...sup, ...ssl];
      return 0;
    });
    if (code !== 0) return code;
    rows.sort((a, b) => (a.labels === b.labels ? 0 : a.labels === '10%' ? -1 : 1));
    ctx.out.write(`\n${table(rows)}\n\n`);
    ctx.out.write('kNN accuracy: test images against the unaugmented train set (k 200, T 0.1) with the backbone the method produced.\n');
    ctx.out.write(`trained bits: 1 per masked weight, 32 per trained float; stored bytes: ${RUN_FILES.masks} (gzip) or float32 weights.\n`);
    const reportPath = await writeReport(out, rows, results);
    const c = coarse!.summary;
    ctx.out.write(
      `second task on the embedded backbone, for the page: supervised masking on 4 coarse groups (main.dataset_labels=coarse): ` +
        `${(100 * c.metrics['training/test/accuracy']!).toFixed(1)}% test accuracy, ${c.maskBytes.toLocaleString('en-US')}-byte mask\n`,
    );
    ctx.out.write(`report: ${reportPath}\n`);
    // Masked runs on one backbone share a page that switches between them (docs/web.md): one export per backbone. The
    // 10% self-masking row is a probe of the 100% run's mask that keeps no checkpoint: that run stands for both.
    const masked = rows.filter((r) => r.method === 'supervised masking' || (r.method === 'self-masking + probe' && r.labels === '100%')).map((r) => r.runDir);
    const byBase = new Map<string, string[]>();
    for (const runDir of [...masked, coarse!.runDir]) {
      const pret = (await readRunConfig(runDir)).model.pret;
      const base = pret.weights ? basename(pret.weights) : pret.name;
      byBase.set(base, [...(byBase.get(base) ?? []), JSON.stringify(runDir)]);
    }
    for (const [base, dirs] of byBase) {
      const web = join(out, byBase.size > 1 ? `web-${base.replace(/[^\w.-]+/g, '_')}` : 'web');
      ctx.out.write(`in a browser (${base} backbone): smn web export ${dirs.join(' ')} --out ${web} && smn web serve ${web}\n`);
    }
    return 0;
  },
};

export default command;
