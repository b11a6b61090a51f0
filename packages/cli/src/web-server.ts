import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';

/** Content types of what a web folder holds (smn web export); anything else is application/octet-stream. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** A running static server: its URL (ending in `/`) and how to stop it. */
export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the files under `dir` on `host` (127.0.0.1) and `port` (0: any free one), GET and HEAD only. A path that
 * leaves `dir` (`..`, encoded or not) is refused with 403; `/` and folders serve their index.html. Nothing is cached
 * (no-store), so a new export shows on reload.
 */
export async function startWebServer(opts: { dir: string; port?: number; host?: string; onRequest?: (line: string) => void }): Promise<WebServer> {
  const root = resolve(opts.dir);
  const server = createServer((req, res) => {
    void (async () => {
      const send = (status: number, text: string) => {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
        opts.onRequest?.(`${status} ${req.method} ${req.url}`);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      } catch {
        return send(400, 'bad path');
      }
      if (path.includes('\0')) return send(400, 'bad path');
      let file = resolve(root, `.${path}`);
      if (file !== root && !file.startsWith(root + sep)) return send(403, 'forbidden');
      let st = await stat(file).catch(() => null);
      if (st?.isDirectory()) {
        file = resolve(file, 'index.html');
        st = await stat(file).catch(() => null);
      }
      if (!st?.isFile()) return send(404, 'not found');
      res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-store' });
      opts.onRequest?.(`200 ${req.method} ${req.url}`);
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    })().catch(() => res.destroy());
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
