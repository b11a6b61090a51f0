import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchFile } from '../src/index.js';
import { bytes, fetchInChild, sha256, tempDir, writeRegistry } from './_helpers.js';
import { startServer, type TestServer } from './_server.js';

// Real processes: one killed with SIGKILL half-way through a download, two fetching one file at once. The server is
// throttled (8 or 16 kB per 20 ms) so that a download lasts long enough to be interrupted or overlapped.

let server: TestServer;
let work: string;
const body = bytes(1_200_000, 11);

beforeAll(async () => {
  server = await startServer({ '/models/big.pth.tar': { body } });
  work = await tempDir('proc');
});
afterAll(() => server.close());

async function envFor(tag: string): Promise<{ SMN_CACHE: string; SMN_MIRROR: string; SMN_REGISTRY: string }> {
  return {
    SMN_CACHE: join(work, `cache-${tag}`),
    SMN_MIRROR: server.base,
    SMN_REGISTRY: await writeRegistry(work, {
      big: {
        kind: 'weights',
        description: 'a 1.2 MB file',
        files: [{ path: 'big.pth.tar', urls: ['https://weights.example.org/models/big.pth.tar'], checksum: { algo: 'sha256', value: sha256(body), source: 'the test' } }],
      },
    }),
  };
}

const bodyRequests = (): Array<{ range: string | undefined; status: number; bytes: number }> =>
  server.log.filter((l) => l.path === '/models/big.pth.tar' && l.method === 'GET').map(({ range, status, bytes }) => ({ range, status, bytes }));

describe('downloads across processes', () => {
  it('a download killed with SIGKILL half-way continues with a Range request and ends with the right bytes', async () => {
    const env = await envFor('kill');
    server.log.length = 0;
    server.throttle.bytesPerTick = 8_192; // ~3 s in all: ample time to kill it between 300 kB and the end
    const c = fetchInChild('big', env);
    try {
      await c.until((l) => (l.progress ?? 0) > 300_000);
      c.child.kill('SIGKILL');
      await c.exited;
    } finally {
      server.throttle.bytesPerTick = 0;
    }
    const final = join(env.SMN_CACHE, 'big', 'big.pth.tar');
    const kept = (await stat(`${final}.partial`)).size;
    expect(kept).toBeGreaterThan(300_000);
    expect(kept).toBeLessThan(body.length);
    expect(existsSync(`${final}.lock`)).toBe(true); // the killed holder's lock, taken over below
    const path = await fetchFile('big', { env });
    expect(path).toBe(final);
    expect(sha256(await readFile(path))).toBe(sha256(body));
    expect(bodyRequests()).toEqual([
      { range: undefined, status: 200, bytes: expect.any(Number) },
      { range: `bytes=${kept}-`, status: 206, bytes: body.length - kept },
    ]);
    expect(existsSync(`${final}.partial`)).toBe(false);
    expect(existsSync(`${final}.lock`)).toBe(false);
  });

  it('two processes fetching the same file at once download it once', async () => {
    const env = await envFor('two');
    const barrier = join(work, 'go-two');
    server.log.length = 0;
    server.throttle.bytesPerTick = 16_384;
    try {
      const a = fetchInChild('big', env, barrier);
      const b = fetchInChild('big', env, barrier);
      await Promise.all([a.until((l) => l.ready === true), b.until((l) => l.ready === true)]);
      await writeFile(barrier, '');
      const [ra, rb] = await Promise.all([a.until((l) => 'path' in l || 'error' in l), b.until((l) => 'path' in l || 'error' in l)]);
      expect(ra).toEqual({ path: join(env.SMN_CACHE, 'big', 'big.pth.tar') });
      expect(rb).toEqual(ra);
      await Promise.all([a.exited, b.exited]);
    } finally {
      server.throttle.bytesPerTick = 0;
    }
    expect(bodyRequests()).toEqual([{ range: undefined, status: 200, bytes: body.length }]);
    expect(sha256(await readFile(join(env.SMN_CACHE, 'big', 'big.pth.tar')))).toBe(sha256(body));
  });
});
