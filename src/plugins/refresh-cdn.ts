import type { RefreshCdnPluginSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { displayPath, fromUtf8, type RelPath } from '../paths.js';
import { encodeUrlPath } from './encode.js';
import { PluginError } from './errors.js';
import { absolutePath, pathUnderWatch } from './event.js';
import { httpRequest } from './http-request.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { PluginRunner } from './runner.js';
import { tcpExchange } from './tcp.js';
import type { Plugin } from './types.js';

/** Purges are idempotent and unordered: a few may run at once, and a lost one may be resent. */
const CONCURRENCY = 4;
const RETRY: RetryPolicy = { attempts: 3, firstDelayMs: 200, maxDelayMs: 1000 };
/** sersync waited 300 ms, too short beyond a LAN; ChinaCache answers a HEAD at once. */
const TIMEOUT_MS = 5000;
const CLOSE_GRACE_MS = 5000;

/**
 * The URL to purge for absolute path `abs`, or null when none applies: `base` + the path below the
 * plugin's watch (regex off), or `base + match[1] + the rest after the match` of the first match of
 * `regex` in the path (regex on). The part taken from the file name is percent-encoded.
 */
export function cdnUrl(
  settings: RefreshCdnPluginSettings,
  regex: RegExp | null,
  abs: RelPath,
): string | null {
  if (regex === null) {
    const rel = pathUnderWatch(abs, settings.watch);
    return rel === null ? null : settings.baseUrl + encodeUrlPath(rel);
  }
  // The user's regex is text, so it sees the path as text (a non-UTF-8 name shows U+FFFD).
  const text = displayPath(abs);
  const m = regex.exec(text);
  if (m === null) return null;
  const tail = (m[1] ?? '') + text.slice(m.index + m[0].length);
  return settings.baseUrl + encodeUrlPath(fromUtf8(tail));
}

/**
 * sersync's ChinaCache request, byte for byte: credentials as written in the config, files as
 * `&urls=<url>`, directories as `&dirs=<url>/`, `Host:` without the port.
 */
export function chinaCacheRequest(settings: RefreshCdnPluginSettings, url: string, isDir: boolean): Buffer {
  const target = isDir ? `&dirs=${url}/` : `&urls=${url}`;
  const query = `user=${settings.username}&pswd=${settings.password}&ok=ok${target}`;
  return Buffer.from(`HEAD /index.jsp?${query} HTTP/1.0\r\nHost: ${settings.domainName}\r\n\r\n`, 'utf8');
}

/** What a ChinaCache reply says: its status line and its `whatsup…` line (sersync kept the latter). */
export function parseChinaCacheReply(reply: Buffer): {
  readonly status: string;
  readonly whatsup: string | null;
} {
  const lines = reply.toString('utf8').split(/\r?\n/);
  const whatsup = lines.find((l) => l.includes('whatsup'));
  return {
    status: lines[0] ?? '',
    whatsup: whatsup === undefined ? null : whatsup.slice(whatsup.indexOf('whatsup')),
  };
}

/**
 * The generic purge URL: `{url}` in the template replaced by the URL, encoded as a query value where
 * it stands after the `?`, as is where it forms the URL itself (the default template `{url}`).
 */
export function genericPurgeUrl(template: string, url: string): string {
  const query = template.indexOf('?');
  return template.replace(/\{url\}/g, (_m, offset: number) =>
    query >= 0 && offset > query ? encodeURIComponent(url) : url,
  );
}

/** The refreshCDN plugin: tells a CDN to drop its copy of each changed file or directory. */
export function createRefreshCdnPlugin(settings: RefreshCdnPluginSettings, log: Logger): Plugin {
  const regex = settings.regex ? compile(settings.match) : null;
  const runner = new PluginRunner(log, {
    concurrency: CONCURRENCY,
    closeGraceMs: CLOSE_GRACE_MS,
    failureLevel: 'error',
  });
  const { domainName: host, port } = settings;

  const chinaCache = async (url: string, isDir: boolean, signal: AbortSignal): Promise<void> => {
    const data = chinaCacheRequest(settings, url, isDir);
    const what = { url, isDir };
    const reply = await withRetry(RETRY, signal, log, what, () =>
      tcpExchange({ host, port, data, timeoutMs: TIMEOUT_MS, signal, readReply: true }),
    );
    const { status, whatsup } = parseChinaCacheReply(reply);
    if (!/^HTTP\/\d(\.\d)? 2\d\d/.test(status)) {
      throw new PluginError(`CDN refused the purge: ${status}`, { status, whatsup });
    }
    log.info({ ...what, status, whatsup }, 'CDN purge sent');
  };

  const generic = async (url: string, isDir: boolean, signal: AbortSignal): Promise<void> => {
    const target = genericPurgeUrl(settings.urlTemplate, isDir ? `${url}/` : url);
    const what = { url: target, method: settings.method };
    const reply = await withRetry(RETRY, signal, log, what, () =>
      httpRequest({ url: target, method: settings.method, timeoutMs: TIMEOUT_MS, signal }),
    );
    log.info({ ...what, status: reply.status, reply: reply.body }, 'CDN purge sent');
  };

  const send = settings.mode === 'generic' ? generic : chinaCache;
  return {
    name: 'refreshCDN',
    handle(ev) {
      const abs = absolutePath(ev);
      const url = cdnUrl(settings, regex, abs);
      if (url === null) {
        log.debug({ path: displayPath(abs) }, 'refreshCDN: path maps to no URL; skipped');
        return Promise.resolve();
      }
      return runner.run({ url }, (signal) => send(url, ev.isDir, signal));
    },
    stats: () => runner.stats(),
    close: () => runner.close(),
  };
}

function compile(match: string): RegExp {
  try {
    return new RegExp(match);
  } catch (err) {
    throw new PluginError(
      `refreshCDN regexurl match is not a valid regular expression: ${match}`,
      {},
      false,
      {
        cause: err,
      },
    );
  }
}
