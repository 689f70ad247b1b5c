import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpPluginSettings } from '../../src/config/types.js';
import { fromUtf8 } from '../../src/paths.js';
import { createPlugin } from '../../src/plugins/index.js';
import { captureLogger, ERROR, startHttpCapture } from './helpers.js';

function pluginSettings(url: string, over: Partial<HttpPluginSettings> = {}) {
  const http: HttpPluginSettings = { watch: '/W', url, format: 'form', timeoutS: 2, ...over };
  return { enabled: true, name: 'http' as const, command: null, socket: null, refreshCDN: null, http };
}

const mTxt = { root: '/W', path: 'm.txt', isDir: false, op: 'sync' } as const;
const dd = { root: '/W', path: 'dd', isDir: true, op: 'sync' } as const;

test("form body: the fields of sersync's http plugin, one POST per event, in order", async () => {
  const server = await startHttpCapture();
  const { log, entries } = captureLogger();
  try {
    const plugin = createPlugin('http', pluginSettings(`${server.url}/hook`), log);
    const odd = fromUtf8('a b&c=d+%.txt');
    await Promise.all([
      plugin.handle(mTxt),
      plugin.handle(dd),
      plugin.handle({ ...mTxt, op: 'delete' }),
      plugin.handle({ ...dd, op: 'delete' }),
      plugin.handle({ ...mTxt, path: odd }),
      plugin.handle({ ...mTxt, path: 'bad\xff' }),
    ]);
    await plugin.close();
    assert.ok(server.requests.every((r) => r.method === 'POST' && r.url === '/hook'));
    assert.ok(
      server.requests.every((r) => r.headers['content-type'] === 'application/x-www-form-urlencoded'),
    );
    const bodies = server.requests.map((r) => r.body.toString('latin1'));
    assert.deepEqual(bodies.slice(0, 4), [
      'watchroot=/W&isdir=0&inotifyPath=/W/m.txt&mask=8',
      'watchroot=/W&isdir=1&inotifyPath=/W/dd&mask=1073742080',
      'watchroot=/W&isdir=0&inotifyPath=/W/m.txt&mask=512',
      'watchroot=/W&isdir=1&inotifyPath=/W/dd&mask=1073742336',
    ]);
    // Names that would break a raw form decode back exactly; a non-UTF-8 byte travels as %FF.
    assert.equal(new URLSearchParams(bodies[4]).get('inotifyPath'), '/W/a b&c=d+%.txt');
    assert.equal(bodies[5], 'watchroot=/W&isdir=0&inotifyPath=/W/bad%FF&mask=8');
    assert.equal(entries().filter((e) => e.level >= ERROR).length, 0);
  } finally {
    await server.close();
  }
});

test('JSON body with format json', async () => {
  const server = await startHttpCapture();
  const { log } = captureLogger();
  try {
    const plugin = createPlugin('http', pluginSettings(server.url, { format: 'json' }), log);
    await plugin.handle({ ...dd, op: 'delete' });
    await plugin.close();
    assert.equal(server.requests[0]?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(server.requests[0].body.toString()), {
      watchroot: '/W',
      isdir: 1,
      inotifyPath: '/W/dd',
      mask: 1073742336,
      op: 'delete',
    });
  } finally {
    await server.close();
  }
});

test('a failing server is retried with back-off; a 4xx is not', async () => {
  const server = await startHttpCapture((n) => (n === 0 ? 503 : n === 1 ? 200 : 404));
  const { log, entries } = captureLogger();
  try {
    const plugin = createPlugin('http', pluginSettings(server.url), log);
    await plugin.handle(mTxt);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]?.body.toString(), server.requests[0]?.body.toString());
    assert.equal(entries().filter((e) => e.level >= ERROR).length, 0);
    assert.equal(entries().filter((e) => e.msg === 'plugin retrying').length, 1);

    await plugin.handle(dd);
    await plugin.close();
    assert.equal(server.requests.length, 3, 'the 404 was not retried');
    const errors = entries().filter((e) => e.level === ERROR);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]?.err), /HTTP 404/);
  } finally {
    await server.close();
  }
});

test('a server that never answers times out, is retried a bounded number of times, then logged', async () => {
  const server = await startHttpCapture(() => null);
  const { log, entries } = captureLogger();
  try {
    const plugin = createPlugin('http', pluginSettings(server.url, { timeoutS: 0.2 }), log);
    const started = Date.now();
    await plugin.handle(mTxt);
    assert.ok(Date.now() - started < 1500);
    await plugin.close();
    assert.equal(server.requests.length, 3);
    const errors = entries().filter((e) => e.level === ERROR);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]?.err), /timeout.*gave up after 3 attempts/);
  } finally {
    await server.close();
  }
});
