export { launchSweep, sweepStatus } from './launch.js';
export { runBasic } from './basic.js';
export { launchCascade, enqueueCascade, CASCADE_JOB, type CascadeLaunchResult } from './cascade.js';
export { runLocal } from './local.js';
export { enqueueSweep, readSweepStatus, sweepEnded, jobIdOf } from './queue.js';
export { runWorker, type WorkerOptions, type WorkerSummary } from './worker.js';
export { runPoint, type RunPointOptions } from './run-point.js';
export { pointJobData, pointFromJobData, newSweepId } from './point-data.js';
export { connectRedis, redisUrlOf, redactUrl, QUEUE_NAME, SWEEP_KEY_PREFIX } from './redis.js';
export { formatSweepStatus, headlineMetric } from './format.js';
export { renderSweepReport, reportPointsOf, reportPointsFromRunDirs, accuracyOf, storedBytesOf, type SweepReportPoint } from './report.js';
export { LaunchErrorCode } from './errors.js';
export {
  LAUNCHERS,
  type LauncherName,
  type SweepPoint,
  type PointJobData,
  type PointProgress,
  type PointState,
  type PointStatus,
  type PointResult,
  type SweepStatus,
  type CascadeJobData,
  type LaunchOptions,
  type LaunchResult,
} from './types.js';
