import type { PointStatus, SweepStatus } from './types.js';

/** Metrics a status line shows first, in this order, when the point has them (the last: a cascade's ensembles). */
const HEADLINE = [/^training\/test\/accuracy$/, /^training\/val\/accuracy$/, /knn_accuracy_mem_train$/, /^training\/train\/loss$/, /^cascade\/conditional\/knn$/];

/** The latest headline metric of a point (final metrics when done, else those of its last epoch end). */
export function headlineMetric(p: PointStatus): [string, number] | undefined {
  const m = p.metrics ?? p.progress?.metrics ?? {};
  for (const re of HEADLINE) {
    const k = Object.keys(m).find((x) => re.test(x));
    if (k !== undefined) return [k.replace('training/', ''), m[k]!];
  }
  return undefined;
}

/**
 * A sweep's status as a plain-text table: point, state, epoch, latest metric, the overrides that tell the points apart
 * (those every point shares are left out) and the error of a failed point.
 */
export function formatSweepStatus(s: SweepStatus): string {
  const shared = s.points.length > 1 ? s.points.slice(1).reduce((acc, p) => acc.filter((o) => p.overrides.includes(o)), s.points[0]!.overrides) : [];
  const counts = (['queued', 'running', 'done', 'failed'] as const).map((st) => `${s.points.filter((p) => p.state === st).length} ${st}`).join(', ');
  const lines = [`sweep ${s.sweepId} (${s.launcher}): ${counts}`];
  for (const p of s.points) {
    const epoch = p.progress ? `epoch ${p.progress.epoch}/${p.progress.epochs}` : '';
    const h = headlineMetric(p);
    const metric = h ? `${h[0]}=${h[1].toFixed(4)}` : '';
    lines.push(`  ${String(p.index).padStart(3)}  ${p.state.padEnd(7)}  ${epoch.padEnd(12)}  ${metric.padEnd(28)}  ${p.overrides.filter((o) => !shared.includes(o)).join(' ')}`.trimEnd());
    if (p.error) lines.push(`       ${p.error.split('\n').join('\n       ')}`);
  }
  return lines.join('\n') + '\n';
}
