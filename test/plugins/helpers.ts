import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../src/log/logger.js';

export interface LogEntry {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A real pino logger (level debug) whose JSON lines the test can read. */
export function captureLogger(): { log: Logger; entries: () => LogEntry[]; text: () => string } {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(s) });
  return {
    log,
    entries: () => lines.map((l) => JSON.parse(l) as LogEntry),
    text: () => lines.join(''),
  };
}

export const ERROR = 50;
export const WARN = 40;
export const INFO = 30;

/** Polls `cond` until it holds; fails after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A port that was free a moment ago (for "server down, then up" tests). */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

export interface TcpCapture {
  readonly port: number;
  /** The bytes of each finished connection, in the order they finished. */
  readonly received: Buffer[];
  /** Connections currently open (server side). */
  readonly open: Set<Socket>;
  /** The bytes received so far on every connection, finished or not, in the order they opened. */
  readonly streams: Buffer[][];
  close(): Promise<void>;
}

/**
 * A real TCP listener on 127.0.0.1 that records what each connection sends. With `reply`, it
 * answers once it has seen a blank line (an HTTP/1.0 request) and closes, as a CDN would.
 */
export async function startTcpCapture(opts: { port?: number; reply?: string } = {}): Promise<TcpCapture> {
  const received: Buffer[] = [];
  const streams: Buffer[][] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((sock) => {
    open.add(sock);
    const chunks: Buffer[] = [];
    streams.push(chunks);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (opts.reply !== undefined && Buffer.concat(chunks).includes('\r\n\r\n')) sock.end(opts.reply);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      open.delete(sock);
      received.push(Buffer.concat(chunks));
    });
    sock.on('end', () => {
      sock.end();
    });
  });
  server.listen(opts.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    received,
    open,
    streams,
    async close() {
      for (const s of open) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface HttpCaptured {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A real HTTP server on 127.0.0.1; `respond(n)` picks the status of the n-th request (0-based), null = never answer. */
export async function startHttpCapture(
  respond: (n: number) => number | null = () => 200,
): Promise<{ url: string; requests: HttpCaptured[]; close: () => Promise<void> }> {
  const requests: HttpCaptured[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = requests.length;
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const status = respond(n);
      if (status !== null) res.writeHead(status, { connection: 'close' }).end(`status ${status}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
