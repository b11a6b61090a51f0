import { resolve } from 'node:path';
import { z } from 'zod';
import { SmnError } from '@smn/core';
import { configFromYaml, configToYaml, type SmnConfig } from '@smn/train';
import { LaunchErrorCode } from './errors.js';
import type { PointJobData, SweepPoint } from './types.js';

const jobDataSchema = z.strictObject({
  sweepId: z.string().min(1),
  index: z.number().int().min(0),
  configYaml: z.string(),
  runDir: z.string().min(1),
  overrides: z.array(z.string()),
  resume: z.boolean(),
});

/** The data a point travels as: its config as YAML (data, never code) and an absolute run folder. */
export function pointJobData(sweepId: string, index: number, p: SweepPoint): PointJobData {
  return { sweepId, index, configYaml: configToYaml(p.config), runDir: resolve(p.runDir), overrides: [...p.overrides], resume: p.resume };
}

/**
 * Checks a point that came from elsewhere: the fields, then the config with the same schema, conversions and collected
 * problem report as `smn train` (configFromYaml, as for --resume). Throws SMN_LAUNCH_BAD_JOB or SMN_CONFIG_INVALID.
 */
export function pointFromJobData(data: unknown): { job: PointJobData; config: SmnConfig } {
  const parsed = jobDataSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SmnError(LaunchErrorCode.BadJob, `the job is not a point of an smn sweep (${problems}); was it enqueued by enqueueSweep of this version of smn?`, { kind: 'usage' });
  }
  const job = parsed.data;
  return { job, config: configFromYaml(job.configYaml, `point ${job.index} of sweep ${job.sweepId}`) };
}

/** A new sweep id: sortable by time, unique across machines. */
export function newSweepId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${Math.random().toString(36).slice(2, 8)}`;
}
