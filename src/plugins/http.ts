import type { HttpPluginSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { displayPath, pathBytes } from '../paths.js';
import { formBody } from './encode.js';
import { absolutePath, inotifyMask } from './event.js';
import { httpRequest } from './http-request.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { PluginRunner } from './runner.js';
import type { Plugin, PluginEvent } from './types.js';

const RETRY: RetryPolicy = { attempts: 3, firstDelayMs: 100, maxDelayMs: 2000 };

export interface HttpBody {
  readonly contentType: string;
  readonly body: string;
}

/**
 * The POST body for one event. `form` is the body of sersync's (never shipped) http plugin,
 * `watchroot=…&isdir=0|1&inotifyPath=…&mask=…`, with the values percent-encoded byte by byte
 * (sersync pasted them in raw, which a name with `&`, `=`, `+` or `%` breaks); ordinary paths read
 * the same. `json` adds `op`; JSON holds text only, so a non-UTF-8 name shows U+FFFD there.
 */
export function httpBody(settings: HttpPluginSettings, ev: PluginEvent): HttpBody {
  const abs = absolutePath(ev);
  const mask = inotifyMask(ev);
  const isdir = ev.isDir ? 1 : 0;
  if (settings.format === 'json') {
    const body = JSON.stringify({
      watchroot: settings.watch,
      isdir,
      inotifyPath: displayPath(abs),
      mask,
      op: ev.op,
    });
    return { contentType: 'application/json', body };
  }
  const fields = [
    ['watchroot', settings.watch],
    ['isdir', String(isdir)],
    ['inotifyPath', pathBytes(abs)],
    ['mask', String(mask)],
  ] as const;
  return { contentType: 'application/x-www-form-urlencoded', body: formBody(fields) };
}

/** The http plugin: POSTs each event to a URL, in order, with a timeout and bounded retries. */
export function createHttpPlugin(settings: HttpPluginSettings, log: Logger): Plugin {
  const timeoutMs = settings.timeoutS * 1000;
  // One at a time: the receiver gets the events in the order they happened.
  const runner = new PluginRunner(log, { concurrency: 1, closeGraceMs: timeoutMs, failureLevel: 'error' });
  const { url } = settings;
  return {
    name: 'http',
    handle(ev) {
      const { contentType, body } = httpBody(settings, ev);
      const what = { url, path: displayPath(absolutePath(ev)) };
      return runner.run(what, async (signal) => {
        const request = {
          url,
          method: 'POST',
          headers: { 'content-type': contentType },
          body,
          timeoutMs,
          signal,
        };
        const reply = await withRetry(RETRY, signal, log, what, () => httpRequest(request));
        log.debug({ ...what, status: reply.status }, 'http plugin delivered');
      });
    },
    stats: () => runner.stats(),
    close: () => runner.close(),
  };
}
