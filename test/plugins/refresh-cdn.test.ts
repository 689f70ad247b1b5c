import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RefreshCdnPluginSettings } from '../../src/config/types.js';
import { createPlugin } from '../../src/plugins/index.js';
import { PluginError } from '../../src/plugins/errors.js';
import {
  captureLogger,
  ERROR,
  freePort,
  INFO,
  startHttpCapture,
  startTcpCapture,
  waitFor,
} from './helpers.js';

const OK_REPLY = 'HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>whatsup: succeed\r\n</html>\r\n';

function cdnSettings(over: Partial<RefreshCdnPluginSettings>): RefreshCdnPluginSettings {
  return {
    watch: '/W/',
    domainName: '127.0.0.1',
    port: 80,
    username: 'xxxx',
    password: 'xxxx',
    baseUrl: 'http://pic.xoyo.com/cms',
    regex: false,
    match: 'cms.xoyo.com/site([/a-zA-Z0-9]*).xoyo.com/images',
    mode: 'chinacache',
    method: 'PURGE',
    urlTemplate: '{url}',
    ...over,
  };
}

function pluginSettings(refreshCDN: RefreshCdnPluginSettings) {
  return { enabled: true, name: 'refreshCDN' as const, command: null, socket: null, refreshCDN, http: null };
}

const mTxt = { root: '/W', path: 'm.txt', isDir: false, op: 'sync' } as const;
const dd = { root: '/W', path: 'dd', isDir: true, op: 'sync' } as const;

test('G30: the ChinaCache HEAD request, byte for byte, for a file, a directory and a delete', async () => {
  const server = await startTcpCapture({ reply: OK_REPLY });
  const { log, entries } = captureLogger();
  try {
    const plugin = createPlugin('refreshCDN', pluginSettings(cdnSettings({ port: server.port })), log);
    // One at a time so the captured order is the event order.
    await plugin.handle(mTxt);
    await plugin.handle(dd);
    await plugin.handle({ ...mTxt, op: 'delete' });
    await plugin.close();
    await waitFor(() => server.received.length === 3, 'three finished connections');
    assert.deepEqual(
      server.received.map((b) => b.toString('latin1')),
      [
        'HEAD /index.jsp?user=xxxx&pswd=xxxx&ok=ok&urls=http://pic.xoyo.com/cms/m.txt HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n',
        'HEAD /index.jsp?user=xxxx&pswd=xxxx&ok=ok&dirs=http://pic.xoyo.com/cms/dd/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n',
        'HEAD /index.jsp?user=xxxx&pswd=xxxx&ok=ok&urls=http://pic.xoyo.com/cms/m.txt HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n',
      ],
    );
    // The reply's whatsup line is logged (sersync wrote it to errorlog.txt in the cwd).
    const sent = entries().filter((e) => e.msg === 'CDN purge sent');
    assert.equal(sent.length, 3);
    assert.equal(sent[0]?.whatsup, 'whatsup: succeed');
    assert.equal(sent[0].level, INFO);
  } finally {
    await server.close();
  }
});

test('regex mode: base + group 1 + the rest of the path; a path that does not match sends nothing', async () => {
  const server = await startTcpCapture({ reply: OK_REPLY });
  const { log } = captureLogger();
  try {
    const settings = cdnSettings({
      port: server.port,
      regex: true,
      watch: '/data0/htdocs/cms.xoyo.com/site',
    });
    const plugin = createPlugin('refreshCDN', pluginSettings(settings), log);
    const root = '/data0/htdocs/cms.xoyo.com/site';
    await plugin.handle({ root, path: 'elsewhere/a.jpg', isDir: false, op: 'sync' });
    await plugin.handle({ root, path: 'pic.xoyo.com/images/2011/a b.jpg', isDir: false, op: 'sync' });
    await plugin.close();
    // Only the matching path reached the CDN.
    await waitFor(() => server.received.length === 1, 'the finished connection');
    assert.deepEqual(
      server.received.map((b) => b.toString('latin1').split('\r\n')[0]),
      ['HEAD /index.jsp?user=xxxx&pswd=xxxx&ok=ok&urls=http://pic.xoyo.com/cms/pic/2011/a%20b.jpg HTTP/1.0'],
    );
  } finally {
    await server.close();
  }
});

test('generic mode: the configured method to the URL template, {url} encoded in a query', async () => {
  const server = await startHttpCapture();
  const { log } = captureLogger();
  try {
    const api = createPlugin(
      'refreshCDN',
      pluginSettings(cdnSettings({ mode: 'generic', urlTemplate: `${server.url}/purge?u={url}` })),
      log,
    );
    await api.handle(mTxt);
    await api.handle(dd);
    await api.close();
    // Default template {url}: the purge goes to the file's own URL, with the default method.
    const direct = createPlugin(
      'refreshCDN',
      pluginSettings(cdnSettings({ mode: 'generic', baseUrl: `${server.url}/cms` })),
      log,
    );
    await direct.handle({ ...mTxt, path: 'a b.txt' });
    await direct.close();
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.url}`),
      [
        'PURGE /purge?u=http%3A%2F%2Fpic.xoyo.com%2Fcms%2Fm.txt',
        'PURGE /purge?u=http%3A%2F%2Fpic.xoyo.com%2Fcms%2Fdd%2F',
        'PURGE /cms/a%20b.txt',
      ],
    );
  } finally {
    await server.close();
  }
});

test('a refused purge and an unreachable CDN are logged as errors, never with the password', async () => {
  const password = 'S3cret-pw';
  const server = await startTcpCapture({ reply: 'HTTP/1.0 403 Forbidden\r\n\r\nwhatsup: bad password\r\n' });
  const { log, entries, text } = captureLogger();
  try {
    const refused = createPlugin(
      'refreshCDN',
      pluginSettings(cdnSettings({ port: server.port, password })),
      log,
    );
    await refused.handle(mTxt);
    await refused.close();
    await waitFor(() => server.received.length === 1, 'the finished connection');
    assert.ok(server.received[0]?.toString().includes(`pswd=${password}&`), 'the request carries it');

    const down = createPlugin(
      'refreshCDN',
      pluginSettings(cdnSettings({ port: await freePort(), password })),
      log,
    );
    await down.handle(mTxt);
    await down.close();

    const errors = entries().filter((e) => e.level === ERROR);
    assert.equal(errors.length, 2);
    assert.match(String(errors[0]?.err), /CDN refused the purge: HTTP\/1.0 403 Forbidden/);
    assert.match(String(errors[1]?.err), /ECONNREFUSED.*gave up after 3 attempts/);
    assert.ok(!text().includes(password), 'the password is not in the log');
  } finally {
    await server.close();
  }
});

test('an invalid regex is refused when the plugin is created', () => {
  assert.throws(
    () =>
      createPlugin(
        'refreshCDN',
        pluginSettings(cdnSettings({ regex: true, match: '(' })),
        captureLogger().log,
      ),
    (err) => err instanceof PluginError && /not a valid regular expression/.test(err.message),
  );
});
