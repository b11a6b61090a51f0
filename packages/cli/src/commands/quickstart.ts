import { join } from 'node:path';
import { atomicWriteFile } from '@smn/core';
import { readMetrics, renderReport, resolveConfig, runExperiment, seriesOf, type ReportSection, type RunResult } from '@smn/train';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage } from '../flags.js';
import { interruptController, progressEvents } from '../progress.js';
import { startBackend, timestamp, WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'quickstart',
  usage: ['smn quickstart [--out DIR] [--epochs N] [--ssl-epochs N] [--workers N]'],
  description: `The main job on the embedded default: no download, no GPU. With the shipped Fashion-MNIST subset (2,000 train /
1,000 test images, 10 classes) and the shipped ResNet-18 (pretrained on 5 of those classes, other images), it runs

  linear probe          the frozen backbone, logistic regression on its features (main.train=0 main.probe=1)
  supervised masking    learn a 1-bit mask per weight + a masked random head (--config-name submask)
  full fine-tuning      train the conv weights + a linear head (--config-name baseline)
  self-masking (SMN)    learn a mask without labels with the SwAV loss, then kNN and a probe (submask_lin, swav)

each with 10% of the labels and with all of them, and prints accuracy, trained bits and stored bytes per method.
Run folders and report.html go to DIR (default runs/quickstart-<time>). About 10 minutes on 2 CPU cores.`,
  flags: {
    out: { type: 'string', value: 'DIR', description: 'where the run folders and the report go', defaultText: 'runs/quickstart-<time>' },
    epochs: { type: 'number', value: 'N', integer: true, min: 1, default: 3, description: 'epochs of the supervised runs on all labels; 10% runs get 4x as many' },
    'ssl-epochs': { type: 'number', value: 'N', integer: true, min: 1, default: 10, description: 'epochs of self-supervised masking' },
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
    const recs = await readMetrics(join(res.runDir, 'metrics.jsonl'));
    const s = ['training/val/accuracy', 'training/train/loss', 'training/val/knn_accuracy'].map((k) => seriesOf(recs.filter((r) => typeof r['training/lr/backbone'] === 'number'), k, `${k.split('/').pop()}`)).filter((x) => x.points.length > 1);
    if (s.length) curves.push({ title: name, series: s, xLabel: 'epoch' });
  }
  sections.push({ title: 'Training curves', charts: curves });
  const reportPath = join(out, 'report.html');
  await atomicWriteFile(reportPath, renderReport('smn quickstart: masking vs fine-tuning vs probe on the embedded default', sections));
  await atomicWriteFile(join(out, 'results.json'), JSON.stringify(rows, null, 2) + '\n');
  return reportPath;
}

const command: Command = {
  name: 'quickstart',
  summary: 'run the main job on the embedded data and backbone: masking vs fine-tuning vs probe',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx: CommandContext) {
    const { epochs: E, 'ssl-epochs': Essl, workers, out: outFlag } = parseFlags(SPEC, ctx.argv).flags;
    const out = outFlag ?? join('runs', `quickstart-${timestamp()}`);
    await startBackend(ctx, 'smn quickstart', `runs in ${out}`);
    const intr = interruptController(ctx);
    // main.update_bn: every method is evaluated with BatchNorm statistics of the unaugmented train images, so the
    // backbone, masked and fine-tuned rows compare like with like (training on augmented crops skews them).
    const common = ['main.dataset=embedded', 'model.pret.name=embedded', 'main.seed=0', 'main.update_bn=1'];
    const rows: Row[] = [];
    const results = new Map<string, RunResult>();

    const run = async (name: string, configName: string, overrides: string[]): Promise<RunResult | null> => {
      const r = resolveConfig({ configName, overrides: [...common, ...overrides] });
      const runDir = join(out, name);
      ctx.err.write(`smn quickstart: ${name}: --config-name ${configName} ${overrides.join(' ')}\n`);
      const events = progressEvents(ctx, `[${name}]`);
      const res = await runExperiment({ config: r.config, runDir, overrides: r.overrides, signal: intr.signal, workers, events });
      events.done();
      if (!res.completed) return null;
      results.set(name, res);
      return res;
    };
    try {
      const frac = ['10p', ''];
      for (const subset of frac) {
        const tag = subset ? '10%' : '100%';
        const sub = subset ? [`main.dataset_subset=${subset}`] : [];
        const e = subset ? E * 4 : E;
        // Linear probe of the frozen pretrained backbone (SPEC §5.D).
        const lp = await run(`probe-${tag}`, 'baseline', ['main.train=0', 'main.probe=1', ...sub]);
        if (!lp) return 130;
        const numClasses = lp.numClasses;
        const feat = lp.featureDim;
        rows.push({ method: 'linear probe', labels: tag, accuracy: lp.metrics['training/probe/accuracy']!, knn: lp.metrics['training/test/knn_accuracy_mem_train'], trainedBits: (feat + 1) * numClasses * 32, storedBytes: (feat + 1) * numClasses * 4, seconds: lp.seconds, runDir: lp.runDir });
        // Supervised masking (SPEC §5.A), short schedule: cosine without warm-up.
        const sm = await run(`submask-${tag}`, 'submask', [...sub, `dl.epochs=${e}`, 'dl.scheduler=cosine']);
        if (!sm) return 130;
        rows.push({ method: 'supervised masking', labels: tag, accuracy: sm.metrics['training/test/accuracy']!, knn: sm.metrics['training/test/knn_accuracy_mem_train'], trainedBits: sm.maskedEntries + feat * numClasses, storedBytes: sm.maskBytes, seconds: sm.seconds, runDir: sm.runDir });
        // Full fine-tuning (SPEC §5.C).
        const ft = await run(`finetune-${tag}`, 'baseline', [...sub, `dl.epochs=${e}`, 'dl.lr=0.05', 'dl.weight_decay=0.0005']);
        if (!ft) return 130;
        rows.push({ method: 'full fine-tuning', labels: tag, accuracy: ft.metrics['training/test/accuracy']!, knn: ft.metrics['training/test/knn_accuracy_mem_train'], trainedBits: ft.trainedEntries * 32, storedBytes: ft.trainedEntries * 4, seconds: ft.seconds, runDir: ft.runDir });
      }
      // Self-supervised masking (SPEC §5.E) on all images without labels, then kNN and probes.
      const ssl = await run('smn-ssl', 'submask_lin', [
        'model.pret.module=swav',
        'main.dataset=multicrop_embedded',
        'dl.scheduler=cosine',
        `dl.epochs=${Essl}`,
        // lr 5 instead of the supervised 50: on this small set, masks that change slowly keep what the backbone knows
        // and add what SwAV finds (docs/experiments.md has the sweep).
        'dl.lr=5',
        'cls.head_lr=0.15',
        'cls.head_wd=0.000001',
        'swav.nmb_prototypes=30',
        'swav.queue_length=256',
        'swav.epoch_queue_starts=1',
        'swav.freeze_prototypes_niters=32',
        // 28 px images: the reference's 6 small crops would be 12 px, 1×1 after the stem, and pollute BatchNorm
        // statistics; two global crops (scale 0.3-1) learn (docs/experiments.md).
        'swav.nmb_crops=[2]',
        'swav.size_crops=[224]',
        'swav.min_scale_crops=[0.3]',
        'swav.max_scale_crops=[1]',
        'main.probe=1',
      ]);
      if (!ssl) return 130;
      const sslDir = ssl.runDir;
      rows.push({ method: 'self-masking + probe', labels: '100%', accuracy: ssl.metrics['training/probe/accuracy']!, knn: ssl.metrics['training/test/knn_accuracy_mem_train'], trainedBits: ssl.maskedEntries, storedBytes: ssl.maskBytes, seconds: ssl.seconds, runDir: sslDir });
      const ssl10 = await run('smn-probe-10%', 'submask_lin', ['model.pret.module=swav', 'main.train=0', 'main.probe=1', 'main.dataset_subset=10p', `main.load_checkpoint=${join(sslDir, 'last.ckpt')}`, 'main.strict_load_checkpoint=0', 'swav.nmb_prototypes=30']);
      if (!ssl10) return 130;
      rows.splice(rows.length - 1, 0, { method: 'self-masking + probe', labels: '10%', accuracy: ssl10.metrics['training/probe/accuracy']!, knn: ssl10.metrics['training/test/knn_accuracy_mem_train'], trainedBits: ssl.maskedEntries, storedBytes: ssl.maskBytes, seconds: ssl10.seconds, runDir: ssl10.runDir });
    } finally {
      intr.dispose();
    }
    rows.sort((a, b) => (a.labels === b.labels ? 0 : a.labels === '10%' ? -1 : 1));
    const txt = table(rows);
    ctx.out.write(`\n${txt}\n\n`);
    ctx.out.write('kNN accuracy: test images against the unaugmented train set (k 200, T 0.1) with the backbone the method produced.\n');
    ctx.out.write('trained bits: 1 per masked weight, 32 per trained float; stored bytes: masks.smnmask (gzip) or float32 weights.\n');

    const reportPath = await writeReport(out, rows, results);
    ctx.out.write(`report: ${reportPath}\n`);
    return 0;
  },
};
export default command;
