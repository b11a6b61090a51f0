import { atomicWriteFile } from '@smn/core';
import type { SmnConfig } from '../config/index.js';
import type { MetricRecord } from '../metrics.js';
import { renderReport, seriesOf, type ReportSection } from '../report.js';
import { runPaths } from '../run-folder.js';

/** Writes runDir/report.html: loss, accuracy, kNN and mask-density curves per epoch, and the final metrics. */
export async function writeRunReport(runDir: string, cfg: SmnConfig, records: MetricRecord[]): Promise<void> {
  const keys = new Set(records.flatMap((r) => Object.keys(r)));
  const pick = (...ks: string[]) => ks.filter((k) => keys.has(k)).map((k) => seriesOf(records.filter((r) => r.epoch < cfg.dl.epochs), k, k.replace('training/', '')));
  const charts = [
    { title: 'Loss', series: pick('training/train/loss', 'training/val/loss'), xLabel: 'epoch' },
    { title: 'Accuracy', series: pick('training/val/accuracy', 'training/val/knn_accuracy', 'training/val/knn_accuracy_mem_train'), xLabel: 'epoch' },
    { title: 'Fraction of weights kept (mean_mask)', series: pick('training/val/model_analysis/mean_mask'), xLabel: 'epoch' },
    { title: 'Learning rate', series: pick('training/lr/backbone', 'training/lr/head'), xLabel: 'epoch' },
  ].filter((c) => c.series.some((s) => s.points.length > 0));
  const last = records[records.length - 1];
  const finalRows = last
    ? Object.entries(last)
        .filter(([k, v]) => typeof v === 'number' && k !== 'epoch' && k !== 'step' && !k.includes('model_analysis/') )
        .map(([k, v]) => [k, v as number])
    : [];
  const sections: ReportSection[] = [
    {
      title: 'Run',
      text: `config ${cfg.main.info || ''} · dataset ${cfg.main.dataset}${cfg.main.dataset_labels ? ` (labels: ${cfg.main.dataset_labels})` : ''} · backbone ${cfg.model.pret.name} · module ${cfg.model.pret.module} · backbone mode ${cfg.model.pret.backbone} · head ${cfg.cls.fc} · ${cfg.dl.epochs} epochs · seed ${cfg.main.seed}`,
    },
    { title: 'Curves', charts },
    { title: 'Final metrics', table: { columns: ['metric', 'value'], rows: finalRows } },
  ];
  await atomicWriteFile(runPaths(runDir).report, renderReport(`smn run ${runDir}`, sections));
}
