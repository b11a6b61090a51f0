/**
 * One URL into a partial file, resumable: what is on disk is kept and continued with `Range: bytes=N-` (guarded by
 * `If-Range` with the validator the first answer gave, so a changed file restarts instead of splicing two
 * versions). A 206 whose Content-Range starts at N continues; a 200 starts over from byte 0.
 */
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { SmnError } from '@smn/core';
import { HubErrorCode } from './errors.js';
import { isRetryable, networkError, request } from './http.js';
import type { Response } from 'undici';

export interface DownloadJob {
  url: string;
  /** `<final>.partial`; its validator lives in `<final>.partial.json`. */
  partial: string;
  /** Identity of the file (its registry URLs): a partial file of another identity is discarded. */
  identity: string;
  env: Record<string, string | undefined>;
  /** Total from the registry, for progress when the server sends no length. */
  sizeHint: number | undefined;
  signal: AbortSignal | undefined;
  retries: number;
  stallMs: number;
  /** Continues the hint of network errors ("… or place the file at …"). */
  hint: string;
  onProgress: ((bytes: number, total: number | undefined, rate: number, resumedFrom: number) => void) | undefined;
}

export interface Downloaded {
  size: number;
  /** sha256 a Hugging Face hop announced for the file. */
  linkedSha256: string | undefined;
}

interface Sidecar {
  identity: string;
  validator?: string;
}

const sidecarOf = (job: DownloadJob): string => `${job.partial}.json`;

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

/** Bytes already on disk that belong to this file (0 when none or of another identity). */
async function resumableBytes(job: DownloadJob): Promise<{ start: number; validator: string | undefined }> {
  const side = await readFile(sidecarOf(job), 'utf8').then((t) => JSON.parse(t) as Sidecar, () => undefined);
  const start = side?.identity === job.identity ? await sizeOf(job.partial) : 0;
  return { start, validator: start > 0 ? side?.validator : undefined };
}

/** A strong ETag or Last-Modified, usable in If-Range. */
function validatorOf(res: Response): string | undefined {
  const etag = res.headers.get('etag');
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers.get('last-modified') ?? undefined;
}

function parseContentRange(v: string | null): { start: number; total: number | undefined } | undefined {
  const m = v ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(v.trim()) : null;
  return m ? { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) } : undefined;
}

function httpError(job: DownloadJob, res: Response): SmnError {
  const s = res.status;
  const why =
    s === 404 ? 'not found (404): the file is not at this address; check the registry entry, SMN_MIRROR or HF_ENDPOINT'
    : s === 401 || s === 403 ? `refused (${s}): the server wants credentials or does not serve this file`
    : `HTTP ${s} ${res.statusText}`;
  return new SmnError(HubErrorCode.Http, `cannot download ${job.url}: ${why}. ${job.hint}`, {
    details: { url: job.url, status: s, retryable: s >= 500 || s === 408 || s === 429 },
  });
}

/** Downloads `job.url` into `job.partial`, continuing what is there; retries dropped connections and 5xx answers. */
export async function download(job: DownloadJob): Promise<Downloaded> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptOnce(job);
    } catch (err) {
      if (job.signal?.aborted) throw await abortedError(job);
      if (!isRetryable(err) || attempt >= job.retries) throw err;
      await new Promise((r) => setTimeout(r, Math.min(8_000, 500 * 2 ** attempt)));
    }
  }
}

async function abortedError(job: DownloadJob): Promise<SmnError> {
  const bytes = await sizeOf(job.partial);
  return new SmnError(HubErrorCode.Aborted, `download of ${job.url} stopped at ${bytes} bytes; ${job.partial} is kept and the next fetch continues from there`, {
    cause: job.signal?.reason,
    details: { url: job.url, partial: job.partial, bytes },
  });
}

async function attemptOnce(job: DownloadJob): Promise<Downloaded> {
  const stall = new AbortController();
  const signal = job.signal ? AbortSignal.any([job.signal, stall.signal]) : stall.signal;
  let { start, validator } = await resumableBytes(job);
  const headers: Record<string, string> = {};
  if (start > 0) headers.range = `bytes=${start}-`;
  if (start > 0 && validator) headers['if-range'] = validator;
  let timer = setTimeout(() => stall.abort(), job.stallMs);
  try {
    const ans = await request(job.url, { env: job.env, headers, signal, hint: job.hint });
    const { res } = ans;
    let total: number | undefined;
    if (res.status === 206) {
      const cr = parseContentRange(res.headers.get('content-range'));
      if (!cr || cr.start !== start) return await restart(job, res, `answered Range bytes=${start}- with ${res.headers.get('content-range')}`);
      total = cr.total;
    } else if (res.status === 416 && start > 0) {
      await res.body?.cancel().catch(() => {});
      const cr = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      if (cr && Number(cr[1]) === start) return { size: start, linkedSha256: ans.linkedSha256 };
      return await restart(job, undefined, 'refused the range of the partial file');
    } else if (res.status === 200) {
      start = 0;
      const len = res.headers.get('content-length');
      total = len === null ? undefined : Number(len);
      await writeFile(sidecarOf(job), JSON.stringify({ identity: job.identity, validator: validatorOf(res) } satisfies Sidecar));
    } else {
      await res.body?.cancel().catch(() => {});
      throw httpError(job, res);
    }
    const size = await writeBody(job, res, start, total ?? job.sizeHint, () => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), job.stallMs);
    });
    if (total !== undefined && size !== total) {
      throw new SmnError(HubErrorCode.Network, `${job.url}: the connection ended at ${size} of ${total} bytes`, {
        details: { url: job.url, retryable: true },
      });
    }
    return { size, linkedSha256: ans.linkedSha256 };
  } catch (err) {
    if (stall.signal.aborted && !job.signal?.aborted) {
      throw new SmnError(HubErrorCode.Network, `${job.url}: no data for ${job.stallMs / 1000} s`, {
        cause: err,
        details: { url: job.url, retryable: true },
      });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Drops the partial file after an answer that cannot continue it; the next attempt starts from byte 0. */
async function restart(job: DownloadJob, res: Response | undefined, why: string): Promise<never> {
  await res?.body?.cancel().catch(() => {});
  await rm(job.partial, { force: true });
  await rm(sidecarOf(job), { force: true });
  throw new SmnError(HubErrorCode.Network, `${job.url} ${why}; starting over`, { details: { url: job.url, retryable: true } });
}

async function writeBody(job: DownloadJob, res: Response, start: number, total: number | undefined, onData: () => void): Promise<number> {
  const fh = await open(job.partial, start > 0 ? 'a' : 'w');
  const t0 = Date.now();
  let bytes = start;
  let last = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!job.onProgress || (!force && now - last < 100)) return;
    last = now;
    job.onProgress(bytes, total, ((bytes - start) * 1000) / Math.max(1, now - t0), start);
  };
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        await fh.write(chunk);
        bytes += chunk.byteLength;
        onData();
        report(false);
      }
    }
  } catch (err) {
    if (job.signal?.aborted) throw err;
    throw networkError(job.url, err, job.hint);
  } finally {
    await fh.close();
    report(true);
  }
  return bytes;
}
