// A real HTTP server on 127.0.0.1 for the download tests: serves byte arrays by path with Range support, optional
// redirects (Hugging Face style) and throttling, and logs every request it answered.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface Served {
  body?: Uint8Array;
  /** Answer with a 302 to this path (and `headers`). */
  redirectTo?: string;
  headers?: Record<string, string>;
  etag?: string;
}

export interface Logged {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
  /** Body bytes written. */
  bytes: number;
}

export interface TestServer {
  base: string;
  port: number;
  files: Map<string, Served>;
  log: Logged[];
  /** Bytes per 20 ms tick; 0 sends everything at once. */
  throttle: { bytesPerTick: number };
  close(): Promise<void>;
}

function parseRange(h: string | undefined, size: number): number | undefined {
  const m = h ? /^bytes=(\d+)-$/.exec(h) : null;
  return m ? Math.min(Number(m[1]), size + 1) : undefined;
}

async function send(res: ServerResponse, body: Uint8Array, throttle: { bytesPerTick: number }, rec: Logged): Promise<void> {
  for (let o = 0; o < body.length; ) {
    if (res.destroyed) return;
    const n = throttle.bytesPerTick > 0 ? throttle.bytesPerTick : body.length;
    const part = body.subarray(o, o + n);
    res.write(part);
    rec.bytes += part.length;
    o += part.length;
    if (throttle.bytesPerTick > 0) await new Promise((r) => setTimeout(r, 20));
  }
  res.end();
}

function handle(t: TestServer, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url!, 'http://x').pathname;
  const rec: Logged = { method: req.method!, path, range: req.headers.range, status: 0, bytes: 0 };
  t.log.push(rec);
  const f = t.files.get(path);
  if (!f) {
    rec.status = 404;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  if (f.redirectTo) {
    rec.status = 302;
    res.writeHead(302, { location: f.redirectTo, ...f.headers }).end();
    return;
  }
  const body = f.body!;
  const etag = f.etag ?? `"${body.length}"`;
  const ifRange = req.headers['if-range'];
  const start = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, body.length) : undefined;
  const common = { etag, 'accept-ranges': 'bytes', ...f.headers };
  if (start !== undefined && start >= body.length) {
    rec.status = 416;
    res.writeHead(416, { ...common, 'content-range': `bytes */${body.length}` }).end();
    return;
  }
  rec.status = start === undefined ? 200 : 206;
  const part = body.subarray(start ?? 0);
  const range = start === undefined ? {} : { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` };
  res.writeHead(rec.status, { ...common, ...range, 'content-length': String(part.length) });
  if (req.method === 'HEAD') return void res.end();
  void send(res, part, t.throttle, rec);
}

export async function startServer(files: Record<string, Served> = {}): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const t: TestServer = {
    base: '',
    port: 0,
    files: new Map(Object.entries(files)),
    log: [],
    throttle: { bytesPerTick: 0 },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req, res) => handle(t, req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.port = (server.address() as AddressInfo).port;
  t.base = `http://127.0.0.1:${t.port}`;
  return t;
}

/** A CONNECT-only proxy (what undici's ProxyAgent speaks); `tunnels` lists each `host:port` asked for. */
export async function startProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    tunnels.push(req.url!);
    const [host, port] = req.url!.split(':');
    const up = connect(Number(port), host!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    for (const s of [socket, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
