import { connect } from 'node:net';
import { PluginError } from './errors.js';

export interface TcpRequest {
  readonly host: string;
  readonly port: number;
  readonly data: Buffer;
  /** Longest time without progress (connecting, writing, or waiting for the reply). */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Wait for the peer's reply (returned) instead of closing right after sending. */
  readonly readReply: boolean;
}

/** Replies are logged, not stored: keep at most this much of one. */
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * One short TCP exchange: connect, send `data`, then either close (sersync's socket plugin) or read
 * the reply until the peer closes (its CDN request). Failures are retryable `PluginError`s, except
 * an abort.
 */
export function tcpExchange(req: TcpRequest): Promise<Buffer> {
  const { host, port, data, timeoutMs, signal } = req;
  const where = { host, port };
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (err: PluginError | null): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const onAbort = (): void => {
      finish(new PluginError(`${host}:${port}: shut down`, where));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    sock.setTimeout(timeoutMs, () => {
      // A peer that answered but keeps the connection open has still answered.
      finish(
        received > 0
          ? null
          : new PluginError(`${host}:${port}: no progress for ${timeoutMs} ms`, where, true),
      );
    });
    sock.on('error', (e) => {
      finish(new PluginError(`${host}:${port}: ${e.message}`, where, true, { cause: e }));
    });
    sock.on('connect', () => {
      if (req.readReply) sock.write(data);
      else {
        // 'finish' means every byte reached the kernel; a failed write emits 'error' instead.
        sock.once('finish', () => {
          finish(null);
        });
        sock.end(data);
      }
    });
    sock.on('data', (chunk: Buffer) => {
      if (received < MAX_REPLY_BYTES) chunks.push(chunk.subarray(0, MAX_REPLY_BYTES - received));
      received += chunk.length;
    });
    // Without a reply to wait for, success is the end() callback above, not the peer's close.
    if (req.readReply)
      sock.on('end', () => {
        finish(
          received === 0 ? new PluginError(`${host}:${port}: closed without a reply`, where, true) : null,
        );
      });
  });
}
