import { expect, it } from 'vitest';

// The names src/index.ts exports at run time (type-only exports do not appear). Changing them changes the public API:
// update this snapshot on purpose (vitest -u) and say so in a changeset (docs/contributing.md).
it('src/index.ts exports these names', async () => {
  expect(Object.keys(await import('../src/index.js')).sort()).toMatchInlineSnapshot(`
    [
      "CASCADE_JOB",
      "LAUNCHERS",
      "LaunchErrorCode",
      "QUEUE_NAME",
      "SWEEP_KEY_PREFIX",
      "accuracyOf",
      "connectRedis",
      "enqueueCascade",
      "enqueueSweep",
      "formatSweepStatus",
      "headlineMetric",
      "jobIdOf",
      "launchCascade",
      "launchSweep",
      "newSweepId",
      "pointFromJobData",
      "pointJobData",
      "readSweepStatus",
      "redactUrl",
      "redisUrlOf",
      "renderSweepReport",
      "reportPointsFromRunDirs",
      "reportPointsOf",
      "runBasic",
      "runLocal",
      "runPoint",
      "runWorker",
      "storedBytesOf",
      "sweepEnded",
      "sweepStatus",
    ]
  `);
});
