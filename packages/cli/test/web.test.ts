// `smn web serve` and its server (web-server.ts): content types, index.html for folders, no way out of the folder;
// the process prints its URL and stops on SIGINT. `smn web export`'s usage errors. (The export itself and the page
// are tested in a browser: tools/web-demo/test/web.test.ts.)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, type WebServer } from '../src/web-server.js';
import { BIN, runCli } from './_cli.js';

let dir = '';
let server: WebServer;

/** A raw GET (the path sent as written: fetch would normalise `..` away). */
function get(url: string, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'smn-web-serve-'));
  dir = join(root, 'web');
  mkdirSync(join(dir, 'tasks', 'a'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'manifest.json'), '{"format":"smn-web"}');
  writeFileSync(join(dir, 'tasks', 'a', 'masks.smnmask'), Uint8Array.from([0x89, 1, 2]));
  writeFileSync(join(dir, 'x.wasm'), Uint8Array.from([0, 0x61, 0x73, 0x6d]));
  writeFileSync(join(root, 'secret.txt'), 'outside the folder');
  server = await startWebServer({ dir });
});
afterAll(async () => {
  await server.close();
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

describe('the web server', () => {
  it('listens on 127.0.0.1 and serves files with their content types', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await get(server.url, '/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(await get(server.url, '/manifest.json')).toEqual({ status: 200, type: 'application/json; charset=utf-8', body: '{"format":"smn-web"}' });
    expect((await get(server.url, '/x.wasm')).type).toBe('application/wasm');
    expect((await get(server.url, '/tasks/a/masks.smnmask')).type).toBe('application/octet-stream');
    expect(await get(server.url, '/manifest.json', 'HEAD')).toMatchObject({ status: 200, body: '' });
    expect((await get(server.url, '/nothing.js')).status).toBe(404);
    expect((await get(server.url, '/manifest.json', 'POST')).status).toBe(405);
  });

  it('refuses paths that leave the folder, encoded or not', async () => {
    for (const p of ['/../secret.txt', '/tasks/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/tasks/%2e%2e%2f%2e%2e%2fsecret.txt']) {
      const r = await get(server.url, p);
      expect([403, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('outside the folder');
    }
    expect((await get(server.url, '/a%00b')).status).toBe(400);
  });
});

describe('smn web', () => {
  it('serve prints its URL, serves the folder and stops on SIGINT (exit 130)', async () => {
    const child = spawn(process.execPath, [...process.execArgv, '--import', 'tsx', BIN, 'web', 'serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`smn web serve exited early: ${out}${err}`)));
    });
    expect((await get(url, '/manifest.json')).status).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(130);
    expect(err).toContain('smn web serve: stopped');
  }, 60_000);

  it('export without runs or without --out is a usage error (exit 2)', async () => {
    const none = await runCli(['web', 'export', '--out', join(dir, '..', 'o')]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('needs at least one RUN folder');
    const noOut = await runCli(['web', 'export', dir]);
    expect(noOut.code).toBe(2);
    expect(noOut.err).toContain('needs --out DIR');
    const notRun = await runCli(['web', 'export', dir, '--out', join(dir, '..', 'o')]);
    expect(notRun.code).toBe(2);
    expect(notRun.err).toContain('no config.yaml there');
  });
});
