/** Error codes raised by @smn/launch (all `SmnError`s from @smn/core); a held run folder is @smn/core's `CoreErrorCode.LockHeld`. */
export const LaunchErrorCode = {
  /** The queue launcher or a worker has no Redis URL, or it is not redis:// / rediss://. Usage (exit 2). */
  RedisUrl: 'SMN_LAUNCH_REDIS_URL',
  /** Redis did not answer. */
  RedisUnreachable: 'SMN_LAUNCH_REDIS_UNREACHABLE',
  /** A job's data is not a point of a sweep or a cascade's ensemble step (wrong fields): written by something else than enqueueSweep / enqueueCascade. Usage. */
  BadJob: 'SMN_LAUNCH_BAD_JOB',
  /** No sweep with that id in this Redis. Usage (exit 2). */
  UnknownSweep: 'SMN_LAUNCH_UNKNOWN_SWEEP',
  /** A child process (a `local` point, a worker's cascade ensemble step) exited without a result. */
  ChildDied: 'SMN_LAUNCH_CHILD_DIED',
  /** `--jobs` or `--concurrency` below 1. Usage (exit 2). */
  BadCount: 'SMN_LAUNCH_BAD_COUNT',
  /** `smn sweep report --run-dir DIR` finds no DIR-<k> run folders. Usage (exit 2). */
  NoPoints: 'SMN_LAUNCH_NO_POINTS',
} as const;

export type LaunchErrorCode = (typeof LaunchErrorCode)[keyof typeof LaunchErrorCode];
