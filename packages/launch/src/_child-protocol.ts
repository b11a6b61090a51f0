import type { BackendName } from '@smn/backend';
import type { CascadeJobData, PointJobData, PointProgress, PointResult } from './types.js';

/** Parent → child: the one point it runs (`local`), or a cascade's ensemble step (a worker's queue job). */
export interface ParentMessage {
  job?: PointJobData;
  cascade?: CascadeJobData;
  backend?: BackendName;
  workers?: number;
}

/** `local` child → parent. */
export type ChildMessage =
  | { type: 'progress'; progress: PointProgress }
  | { type: 'log'; line: string }
  | { type: 'result'; result: PointResult }
  | { type: 'failed'; error: string };
