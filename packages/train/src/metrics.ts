import { appendFile, readFile } from 'node:fs/promises';

/** One line of metrics.jsonl: the reference's metric names (`training/val/accuracy`, ...) with epoch and step. */
export interface MetricRecord {
  epoch: number;
  step: number;
  time: string;
  [key: string]: number | string;
}

/** Appends metric records to `metrics.jsonl`; on resume, records past the resumed epoch are dropped by the reader. */
export class MetricsLog {
  readonly records: MetricRecord[] = [];
  constructor(readonly path: string | undefined) {}

  async log(epoch: number, step: number, values: Record<string, number>): Promise<MetricRecord> {
    const rec: MetricRecord = { epoch, step, time: new Date().toISOString(), ...values };
    this.records.push(rec);
    if (this.path) await appendFile(this.path, `${JSON.stringify(rec)}\n`);
    return rec;
  }

  /** The last value logged under `key`, if any. */
  last(key: string): number | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const v = this.records[i]![key];
      if (typeof v === 'number') return v;
    }
    return undefined;
  }
}

/** Reads metrics.jsonl, tolerating a torn last line (a crash mid-append), keeping records with epoch ≤ maxEpoch. */
export async function readMetrics(path: string, maxEpoch = Infinity): Promise<MetricRecord[]> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const out: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as MetricRecord;
      if (rec.epoch <= maxEpoch) out.push(rec);
    } catch {
      // torn write at the end of the file after a kill: ignore
    }
  }
  return out;
}
