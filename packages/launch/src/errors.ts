/** Error codes of @smn/launch. */
export const LAUNCH_ERRORS = {
  /** The queue launcher or a worker has no Redis URL, or it is not redis:// / rediss://. */
  redisUrl: 'SMN_LAUNCH_REDIS_URL',
  /** Redis did not answer. */
  redisUnreachable: 'SMN_LAUNCH_REDIS_UNREACHABLE',
  /** A job's data is not a point of a sweep (wrong fields): written by something else than enqueueSweep. */
  badJob: 'SMN_LAUNCH_BAD_JOB',
  /** No sweep with that id in this Redis. */
  unknownSweep: 'SMN_LAUNCH_UNKNOWN_SWEEP',
  /** A `local` child exited without a result. */
  childDied: 'SMN_LAUNCH_CHILD_DIED',
  /** `smn sweep report --run-dir DIR` finds no DIR-<k> run folders. */
  noPoints: 'SMN_LAUNCH_NO_POINTS',
  /** `--jobs` or `--concurrency` below 1. */
  badCount: 'SMN_LAUNCH_BAD_COUNT',
} as const;
