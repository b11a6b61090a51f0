import type { BackendName } from '@smn/backend';
import type { PointJobData, PointProgress, PointResult } from './types.js';

/** Parent → `local` child: the one point it runs. */
export interface ParentMessage {
  job: PointJobData;
  backend?: BackendName;
  workers?: number;
}

/** `local` child → parent. */
export type ChildMessage =
  | { type: 'progress'; progress: PointProgress }
  | { type: 'log'; line: string }
  | { type: 'result'; result: PointResult }
  | { type: 'failed'; error: string };
