import { connect, type Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { backoffDelay, type RetryPolicy } from './retry.js';
import { PluginCounters, type PluginStats } from './stats.js';

/** Lines kept while the peer is unreachable; beyond this the oldest are dropped (and counted). */
export const MAX_QUEUED_LINES = 10_000;
/** Reconnect back-off after consecutive failed connects (unbounded tries, capped wait). */
const RECONNECT: RetryPolicy = { attempts: Infinity, firstDelayMs: 100, maxDelayMs: 5000 };

/**
 * One persistent TCP connection that carries lines (the socket plugin's newline framing). Lines
 * queue while disconnected (bounded), the connection is re-established with back-off when it
 * fails or drops, and a line counts as delivered once written to the socket (at most once: a
 * line written just as the peer vanishes is lost).
 */
export class LineStream {
  private readonly queue: Buffer[] = [];
  private sock: Socket | null = null;
  private connected = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private dropped = 0;
  private closing = false;
  private stopped = false;
  private drainWaiters: (() => void)[] = [];
  private readonly counters = new PluginCounters();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
  ) {}

  /** Lines written count as delivered; dropped ones as failed; it is failing while it cannot connect. */
  stats(): PluginStats {
    return this.counters.snapshot(this.queue.length, this.failures > 0 && !this.connected);
  }

  /** Queues one line (with its '\n') and sends it as soon as the connection allows. */
  send(line: Buffer): void {
    if (this.closing) {
      this.log.warn('socket plugin is closing: line dropped');
      this.counters.failedWith('closing: line dropped');
      return;
    }
    if (this.queue.length >= MAX_QUEUED_LINES) {
      this.queue.shift();
      this.dropped++;
      this.counters.failedWith(`queue full (${MAX_QUEUED_LINES} lines): oldest dropped`);
      if (this.dropped === 1 || this.dropped % 1000 === 0) {
        this.log.warn(
          { dropped: this.dropped, limit: MAX_QUEUED_LINES },
          'socket plugin queue full: oldest dropped',
        );
      }
    }
    this.queue.push(line);
    this.pump();
  }

  /** Sends what is queued (reconnecting if need be) for up to `graceMs`, then closes for good. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const deadline = setTimeout(() => {
      this.stop();
    }, graceMs);
    await new Promise<void>((resolve) => {
      if (this.queue.length === 0 || this.stopped) resolve();
      else this.drainWaiters.push(resolve);
    });
    const sock = this.sock;
    if (sock && this.connected && !this.stopped) {
      // end() writes out what is buffered before the FIN.
      await new Promise<void>((resolve) => {
        sock.once('close', () => {
          resolve();
        });
        sock.end();
      });
    }
    clearTimeout(deadline);
    this.stop();
    if (this.queue.length > 0) {
      this.counters.failedWith('closed with paths not sent', this.queue.length);
      this.log.warn({ undelivered: this.queue.length }, 'socket plugin closed with paths not sent');
    }
  }

  private pump(): void {
    if (this.connected) this.flush();
    else if (!this.sock && !this.reconnectTimer && !this.stopped) this.connect();
  }

  private flush(): void {
    const sock = this.sock;
    if (!sock) return;
    const lines = this.queue.length;
    for (let line = this.queue.shift(); line; line = this.queue.shift()) sock.write(line);
    if (lines > 0) this.counters.succeeded(lines);
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private connect(): void {
    const { host, port } = this;
    const sock = connect({ host, port });
    this.sock = sock;
    let lastError = '';
    sock.setNoDelay(true);
    sock.on('connect', () => {
      this.connected = true;
      if (this.failures > 0)
        this.log.info({ host, port, failures: this.failures }, 'socket plugin reconnected');
      this.failures = 0;
      this.flush();
    });
    // The peer has nothing to say, but reading is how its close is noticed.
    sock.resume();
    sock.on('error', (e) => {
      lastError = e.message;
    });
    sock.on('close', () => {
      this.onClose(sock, lastError);
    });
  }

  private onClose(sock: Socket, lastError: string): void {
    if (this.sock !== sock) return;
    const wasConnected = this.connected;
    this.sock = null;
    this.connected = false;
    if (this.stopped) return;
    const { host, port } = this;
    if (wasConnected) {
      this.log.warn({ host, port, err: lastError || undefined }, 'socket plugin connection dropped');
    } else {
      this.failures++;
      // A failed connect loses nothing yet (the lines wait), but is why the plugin is failing.
      this.counters.failedWith(`cannot connect to ${host}:${port}: ${lastError}`, 0);
      const fields = { host, port, err: lastError, failures: this.failures };
      if (this.failures === 1) this.log.warn(fields, 'socket plugin cannot connect; retrying with back-off');
      else this.log.debug(fields, 'socket plugin connect failed');
    }
    // Reconnect only when there is something to send; otherwise the next line reconnects.
    if (this.queue.length === 0) return;
    const delayMs = wasConnected ? 0 : backoffDelay(RECONNECT, this.failures);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.pump();
    }, delayMs);
  }

  private stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.sock?.destroy();
    for (const wake of this.drainWaiters.splice(0)) wake();
  }
}
