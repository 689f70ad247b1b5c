/**
 * The optional read-only HTTP endpoint (`<host hostip port metrics="true">`): `GET /metrics`
 * (Prometheus) and `GET /status` (the JSON of `sersync2 status --json`). Nothing else: other
 * paths are 404, other methods 405. It binds to exactly `hostip:port`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SersyncError } from '../errors.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import type { DaemonStatus } from './status.js';

export interface HttpEndpoint {
  /** `host:port` as bound. */
  readonly address: string;
  close(): Promise<void>;
}

const ROUTES: Readonly<Record<string, { type: string; body: (s: DaemonStatus) => string }>> = {
  '/metrics': { type: METRICS_CONTENT_TYPE, body: renderMetrics },
  '/status': { type: 'application/json; charset=utf-8', body: (s) => `${JSON.stringify(s, null, 2)}\n` },
};

export async function serveHttp(
  host: string,
  port: number,
  status: () => DaemonStatus,
): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    respond(req, res, status);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      reject(
        new SersyncError(
          'ERR_SERSYNC_METRICS',
          `cannot serve /metrics on ${host}:${port} (<host hostip port metrics="true">): ${err.message}`,
          { cause: err },
        ),
      );
    });
    server.listen(port, host, () => {
      resolve();
    });
  });
  return { address: `${host}:${port}`, close: () => closeServer(server) };
}

function respond(req: IncomingMessage, res: ServerResponse, status: () => DaemonStatus): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const route = ROUTES[path];
  if (route === undefined) return send(res, 404, 'text/plain', 'not found: try /metrics or /status\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain', 'method not allowed: this endpoint is read-only\n');
  }
  let body: string;
  try {
    body = route.body(status());
  } catch (err) {
    return send(res, 500, 'text/plain', `${(err as Error).message}\n`);
  }
  send(res, 200, route.type, body);
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
}
