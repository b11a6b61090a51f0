import { Redis } from 'ioredis';
import { docsUrl, SmnError } from '@smn/core';
import { LaunchErrorCode } from './errors.js';

/** BullMQ queue of the runs, shared by every sweep of one Redis. */
export const QUEUE_NAME = 'smn-runs';
/** Key prefix of a sweep's own record (its points' count and launch time): `smn:sweep:<id>`. */
export const SWEEP_KEY_PREFIX = 'smn:sweep:';

/** The Redis URL: the given one, else SMN_REDIS_URL; redis:// or rediss:// (TLS), with user and password if any. */
export function redisUrlOf(url?: string): string {
  const u = url ?? process.env.SMN_REDIS_URL;
  if (!u) {
    throw new SmnError(LaunchErrorCode.RedisUrl, `the queue launcher and smn worker need Redis: pass --redis redis://HOST:6379 or set SMN_REDIS_URL (${docsUrl('distributed.md')})`, { kind: 'usage' });
  }
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new SmnError(LaunchErrorCode.RedisUrl, `the Redis URL ${JSON.stringify(u)} is not a URL; expected redis://[user:password@]host[:port][/db] or rediss://...`, { kind: 'usage' });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new SmnError(LaunchErrorCode.RedisUrl, `the Redis URL ${redactUrl(u)} has scheme ${parsed.protocol}; expected redis:// or rediss:// (TLS)`, { kind: 'usage' });
  }
  return u;
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * A connection for BullMQ. `maxRetriesPerRequest: null` is what BullMQ's workers require (their blocking reads
 * must wait through reconnects instead of failing).
 */
export async function connectRedis(url?: string): Promise<Redis> {
  const u = redisUrlOf(url);
  const redis = new Redis(u, { maxRetriesPerRequest: null, lazyConnect: true });
  // Without a listener, ioredis prints every failed reconnect; the first failure is reported below instead.
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new SmnError(LaunchErrorCode.RedisUnreachable, `cannot reach Redis at ${redactUrl(u)}: ${(err as Error).message}; is redis-server running there (${docsUrl('distributed.md')})?`, { cause: err });
  }
  return redis;
}
