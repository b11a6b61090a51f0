/** Everything @smn/hub reads from the environment, read once per call so tests and hosts can pass their own `env`. */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { SmnError } from '@smn/core';
import { HubErrorCode } from './errors.js';
import type { HubOptions } from './types.js';

export interface Settings {
  env: Record<string, string | undefined>;
  cacheDir: string;
  offline: boolean;
  /** Why offline (the variable that says so), for messages. */
  offlineBy: string | undefined;
  /** SMN_MIRROR: scheme, host and an optional path prefix put in front of every registry URL's path. */
  mirror: URL | undefined;
  /** HF_ENDPOINT (default https://huggingface.co), without a trailing slash. */
  hfEndpoint: string;
  hfEndpointSet: boolean;
}

const HF_HOST = 'https://huggingface.co';
const TRUE = new Set(['1', 'true', 'yes', 'on']);

function truthy(v: string | undefined): boolean {
  return v !== undefined && TRUE.has(v.trim().toLowerCase());
}

/** The cache folder: `cacheDir` option, else SMN_CACHE, else `$XDG_CACHE_HOME/smn`, else `~/.cache/smn`. */
export function cacheDir(opts: HubOptions = {}): string {
  const env = opts.env ?? process.env;
  if (opts.cacheDir) return resolve(opts.cacheDir);
  if (env.SMN_CACHE) return resolve(env.SMN_CACHE);
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'smn');
}

function parseBase(name: string, value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    u = new URL('invalid:');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SmnError(HubErrorCode.Usage, `${name}=${value} is not an http(s) URL; expected e.g. ${name}=https://mirror.example.org`, {
      kind: 'usage',
      details: { variable: name, found: value },
    });
  }
  return u;
}

export function settingsOf(opts: HubOptions & { offline?: boolean } = {}): Settings {
  const env = opts.env ?? process.env;
  const offlineBy = opts.offline !== undefined ? (opts.offline ? 'the offline option' : undefined)
    : truthy(env.SMN_OFFLINE) ? 'SMN_OFFLINE' : truthy(env.HF_HUB_OFFLINE) ? 'HF_HUB_OFFLINE' : undefined;
  const hf = env.HF_ENDPOINT?.trim();
  return {
    env,
    cacheDir: cacheDir(opts),
    offline: offlineBy !== undefined,
    offlineBy,
    mirror: env.SMN_MIRROR?.trim() ? parseBase('SMN_MIRROR', env.SMN_MIRROR.trim()) : undefined,
    hfEndpoint: (hf ? parseBase('HF_ENDPOINT', hf).href : HF_HOST).replace(/\/+$/, ''),
    hfEndpointSet: Boolean(hf),
  };
}

/** A Hugging Face file's canonical URL (the registry's form, which identifies it in the cache manifest). */
export function hfUrl(repo: string, revision: string, path: string): string {
  return `${HF_HOST}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * The URL actually requested for a registry URL. Hugging Face URLs go to HF_ENDPOINT when it is set, as
 * huggingface_hub does; otherwise SMN_MIRROR replaces scheme and host of every URL (the mirror's own path, if any,
 * goes in front of the original path).
 */
export function requestUrl(s: Settings, registryUrl: string): string {
  if (s.hfEndpointSet && registryUrl.startsWith(`${HF_HOST}/`)) return s.hfEndpoint + registryUrl.slice(HF_HOST.length);
  if (!s.mirror) return registryUrl;
  const u = new URL(registryUrl);
  const prefix = s.mirror.pathname.replace(/\/+$/, '');
  return `${s.mirror.origin}${prefix}${u.pathname}${u.search}`;
}
