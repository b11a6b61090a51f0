/**
 * HTTP through undici: proxies from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (Node 20's fetch reads none of them), and
 * redirects followed here so that the headers of every hop are seen (Hugging Face sends an LFS file's sha256 as
 * `X-Linked-Etag` on the redirect to its CDN).
 */
import { SmnError } from '@smn/core';
import { fetch, ProxyAgent, type Dispatcher, type Response } from 'undici';
import { HubErrorCode } from './errors.js';

export interface Answer {
  res: Response;
  /** The URL that answered (after redirects). */
  url: string;
  /** sha256 announced by a Hugging Face hop (`X-Linked-Etag`), when it is one. */
  linkedSha256: string | undefined;
}

const proxies = new Map<string, ProxyAgent>();

function envOf(env: Record<string, string | undefined>, name: string): string | undefined {
  return env[name] || env[name.toLowerCase()] || undefined;
}

/** Whether NO_PROXY (comma or space separated: `*`, hosts, `.domain` or `domain` suffixes, optional `:port`) covers `u`. */
export function bypassesProxy(u: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return noProxy.split(/[\s,]+/).filter(Boolean).some((item) => {
    if (item === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(item.toLowerCase())!;
    const name = m[1]!.replace(/^\*?\./, '');
    if (m[2] && m[2] !== port) return false;
    return host === name || host.endsWith(`.${name}`);
  });
}

/** The proxy dispatcher for `url` under `env`, or undefined for a direct connection. */
function dispatcherFor(url: URL, env: Record<string, string | undefined>): Dispatcher | undefined {
  const proxy = url.protocol === 'https:' ? envOf(env, 'HTTPS_PROXY') : envOf(env, 'HTTP_PROXY');
  if (!proxy || bypassesProxy(url, envOf(env, 'NO_PROXY'))) return undefined;
  let agent = proxies.get(proxy);
  if (!agent) proxies.set(proxy, (agent = new ProxyAgent(proxy)));
  return agent;
}

function linkedSha256(res: Response): string | undefined {
  const tag = res.headers.get('x-linked-etag')?.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  return tag && /^[0-9a-f]{64}$/.test(tag) ? tag : undefined;
}

/** Whether an error from `request` is worth another attempt (a dropped or stalled connection, not a refusal). */
export function isRetryable(err: unknown): boolean {
  const d = (err as SmnError).details as { retryable?: boolean } | undefined;
  return Boolean(d?.retryable);
}

const FATAL_NET = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED', 'UND_ERR_INVALID_ARG']);

/** Finds the system error code under undici's "fetch failed" (`cause`, possibly nested or aggregated). */
function errnoOf(err: unknown): string | undefined {
  for (let e = err as { code?: string; cause?: unknown; errors?: unknown[] } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET' && !e.code.startsWith('ABORT')) return e.code;
    e = (e.cause ?? e.errors?.[0]) as typeof e;
  }
  return (err as { cause?: { code?: string } })?.cause?.code;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
};

/** A named network error for `url` (`retryable` in details when another attempt may succeed). */
export function networkError(url: string, err: unknown, hint: string): SmnError {
  const code = errnoOf(err);
  const reason = code ? `${REASONS[code] ?? 'network error'} (${code})` : (err as Error)?.message ?? String(err);
  return new SmnError(HubErrorCode.Network, `cannot download ${url}: ${reason}. ${hint}`, {
    cause: err,
    details: { url, code, retryable: !code || !FATAL_NET.has(code) },
  });
}

/** GET `url`, following up to 10 redirects. Network failures become SMN_HUB_NETWORK naming the URL. */
export async function request(
  url: string,
  o: { env: Record<string, string | undefined>; headers?: Record<string, string>; signal: AbortSignal; hint: string },
): Promise<Answer> {
  let current = url;
  let linked: string | undefined;
  for (let hop = 0; hop <= 10; hop++) {
    const target = new URL(current);
    let res: Response;
    try {
      res = await fetch(target, {
        headers: o.headers,
        signal: o.signal,
        redirect: 'manual',
        dispatcher: dispatcherFor(target, o.env),
      });
    } catch (err) {
      if (o.signal.aborted) throw o.signal.reason;
      throw networkError(current, err, o.hint);
    }
    linked ??= linkedSha256(res);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || !location) return { res, url: current, linkedSha256: linked };
    await res.body?.cancel().catch(() => {});
    current = new URL(location, target).href;
  }
  throw new SmnError(HubErrorCode.Http, `${url}: more than 10 redirects; the server (or SMN_MIRROR) loops`, { details: { url } });
}
