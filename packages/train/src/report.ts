import type { MetricRecord } from './metrics.js';

export interface Series {
  label: string;
  points: [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

/** A line chart as a standalone SVG image (no scripts, no external assets). */
export function lineChartSvg(title: string, series: Series[], opts: { xLabel?: string; width?: number; height?: number } = {}): string {
  const W = opts.width ?? 560;
  const H = opts.height ?? 300;
  const m = { l: 56, r: 150, t: 30, b: 40 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="10" y="30" font-family="sans-serif" font-size="13">${esc(title)}: no data</text></svg>`;
  }
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x1 === x0) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  // A flat series gets a range of ±10% around its value (an accuracy of 0.8 spans 0.72–0.88, not −0.3–1.3).
  if (y1 === y0) [y0, y1] = y0 === 0 ? [-0.5, 0.5] : [y0 - Math.abs(y0) * 0.1, y1 + Math.abs(y1) * 0.1];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<text x="${sx(t)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  if (opts.xLabel) parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (p.length === 0) return;
    const d = p.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.8"/>`);
    if (p.length === 1) parts.push(`<circle cx="${sx(p[0]![0])}" cy="${sy(p[0]![1])}" r="3" fill="${c}"/>`);
    parts.push(`<rect x="${W - m.r + 10}" y="${m.t + i * 16}" width="10" height="10" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r + 24}" y="${m.t + i * 16 + 9}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Series of `key` per epoch from metric records (last value of each epoch). */
export function seriesOf(records: MetricRecord[], key: string, label = key): Series {
  const byEpoch = new Map<number, number>();
  for (const r of records) {
    const v = r[key];
    if (typeof v === 'number') byEpoch.set(r.epoch, v);
  }
  return { label, points: [...byEpoch.entries()].sort((a, b) => a[0] - b[0]) };
}

function img(svg: string): string {
  return `<img alt="chart" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"/>`;
}

export interface ReportSection {
  title: string;
  charts?: { title: string; series: Series[]; xLabel?: string }[];
  table?: { columns: string[]; rows: (string | number)[][] };
  text?: string;
}

/** A self-contained HTML report: charts are inline SVG images, tables are plain HTML. */
export function renderReport(title: string, sections: ReportSection[]): string {
  const body = sections
    .map((s) => {
      const charts = (s.charts ?? []).map((c) => img(lineChartSvg(c.title, c.series, c.xLabel ? { xLabel: c.xLabel } : {}))).join('\n');
      const table = s.table
        ? `<table><thead><tr>${s.table.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${s.table.rows
            .map((r) => `<tr>${r.map((v) => `<td>${esc(typeof v === 'number' ? fmtNum(v) : v)}</td>`).join('')}</tr>`)
            .join('')}</tbody></table>`
        : '';
      const text = s.text ? `<p>${esc(s.text)}</p>` : '';
      return `<section><h2>${esc(s.title)}</h2>${text}${table}<div class="charts">${charts}</div></section>`;
    })
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font-family:sans-serif;margin:24px;max-width:1200px} table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right} th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
.charts img{margin:6px;border:1px solid #eee}
</style></head><body><h1>${esc(title)}</h1><p>Generated ${new Date().toISOString()}</p>${body}</body></html>\n`;
}

export function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return v.toPrecision(4);
}
