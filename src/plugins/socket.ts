import type { SocketPluginSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { displayPath, pathBytes } from '../paths.js';
import { absolutePath } from './event.js';
import { LineStream } from './line-stream.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { PluginRunner } from './runner.js';
import { tcpExchange } from './tcp.js';
import type { Plugin } from './types.js';

/** sersync tried up to 5 connects per event; we do the same, with back-off in between. */
const SEND_RETRY: RetryPolicy = { attempts: 5, firstDelayMs: 100, maxDelayMs: 1000 };
const SEND_TIMEOUT_MS = 3000;
const CLOSE_GRACE_MS = 5000;
const NEWLINE = Buffer.from('\n');

/** The socket plugin: each event's absolute path, as raw bytes, to `host:port`. */
export function createSocketPlugin(settings: SocketPluginSettings, log: Logger): Plugin {
  return settings.framing === 'newline' ? newlinePlugin(settings, log) : perConnectionPlugin(settings, log);
}

/** sersync's wire format: one connection per event carrying exactly the path, no newline. */
function perConnectionPlugin({ host, port }: SocketPluginSettings, log: Logger): Plugin {
  // One event at a time, so the receiver sees them in order, as it did from sersync.
  const runner = new PluginRunner(log, {
    concurrency: 1,
    closeGraceMs: CLOSE_GRACE_MS,
    failureLevel: 'error',
  });
  return {
    name: 'socket',
    handle(ev) {
      const abs = absolutePath(ev);
      const what = { path: displayPath(abs) };
      return runner.run(what, async (signal) => {
        const send = () =>
          tcpExchange({
            host,
            port,
            data: pathBytes(abs),
            timeoutMs: SEND_TIMEOUT_MS,
            signal,
            readReply: false,
          });
        await withRetry(SEND_RETRY, signal, log, what, send);
        log.debug(what, 'socket plugin sent');
      });
    },
    stats: () => runner.stats(),
    close: () => runner.close(),
  };
}

/** Extension: one persistent connection, one path per line. `handle` resolves once queued. */
function newlinePlugin({ host, port }: SocketPluginSettings, log: Logger): Plugin {
  const stream = new LineStream(host, port, log);
  return {
    name: 'socket',
    handle(ev) {
      const abs = absolutePath(ev);
      // A newline inside the name would split it into two bogus lines.
      if (abs.includes('\n')) {
        log.warn(
          { path: displayPath(abs) },
          'socket plugin: a path with a newline cannot be sent line-framed; skipped',
        );
      } else {
        stream.send(Buffer.concat([pathBytes(abs), NEWLINE]));
      }
      return Promise.resolve();
    },
    stats: () => stream.stats(),
    close: () => stream.close(CLOSE_GRACE_MS),
  };
}
