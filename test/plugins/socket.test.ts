import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SocketPluginSettings } from '../../src/config/types.js';
import { fromUtf8 } from '../../src/paths.js';
import { createPlugin } from '../../src/plugins/index.js';
import { captureLogger, ERROR, freePort, startTcpCapture, waitFor } from './helpers.js';

function pluginSettings(port: number, framing: SocketPluginSettings['framing'] = 'per-connection') {
  const socket: SocketPluginSettings = { watch: '/W', host: '127.0.0.1', port, framing };
  return { enabled: true, name: 'socket' as const, command: null, socket, refreshCDN: null, http: null };
}

const mTxt = { root: '/W', path: 'm.txt', isDir: false, op: 'sync' } as const;
const dd = { root: '/W', path: 'dd', isDir: true, op: 'sync' } as const;

test('G29: one connection per event carrying exactly the absolute path bytes, in order', async () => {
  const server = await startTcpCapture();
  const { log, entries } = captureLogger();
  try {
    const plugin = createPlugin('socket', pluginSettings(server.port), log);
    const odd = fromUtf8('sp ace\n`x`é') + '\xff';
    // Not awaited one by one: the plugin itself keeps the order.
    await Promise.all([
      plugin.handle(mTxt),
      plugin.handle(dd),
      plugin.handle({ ...mTxt, op: 'delete' }),
      plugin.handle({ ...mTxt, path: odd }),
    ]);
    await plugin.close();
    await waitFor(() => server.received.length === 4, 'four connections to finish');
    assert.deepEqual(server.received, [
      Buffer.from('/W/m.txt'),
      Buffer.from('/W/dd'),
      Buffer.from('/W/m.txt'),
      Buffer.concat([Buffer.from('/W/sp ace\n`x`é'), Buffer.from([0xff])]),
    ]);
    assert.equal(entries().filter((e) => e.level >= ERROR).length, 0);
  } finally {
    await server.close();
  }
});

test('server down, then up: the path is delivered after back-off', async () => {
  const port = await freePort();
  const { log, entries } = captureLogger();
  const plugin = createPlugin('socket', pluginSettings(port), log);
  const delivered = plugin.handle(mTxt);
  await waitFor(() => entries().some((e) => e.msg === 'plugin retrying'), 'a failed attempt');
  const server = await startTcpCapture({ port });
  try {
    await delivered;
    await waitFor(() => server.received.length === 1, 'the connection to finish');
    assert.deepEqual(server.received, [Buffer.from('/W/m.txt')]);
    assert.equal(entries().filter((e) => e.level >= ERROR).length, 0);
    await plugin.close();
  } finally {
    await server.close();
  }
});

test('server never up: gives up after a bounded number of attempts and logs an error', async () => {
  const port = await freePort();
  const { log, entries } = captureLogger();
  const plugin = createPlugin('socket', pluginSettings(port), log);
  await plugin.handle(mTxt);
  await plugin.close();
  const retries = entries().filter((e) => e.msg === 'plugin retrying');
  assert.deepEqual(
    retries.map((e) => e.attempt),
    [1, 2, 3, 4],
  );
  const errors = entries().filter((e) => e.level === ERROR);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]?.err), /ECONNREFUSED.*gave up after 5 attempts/);
  assert.equal(errors[0]?.path, '/W/m.txt');
});

test('newline framing: one persistent connection, one path per line; reconnects when dropped', async () => {
  const server = await startTcpCapture();
  const { log, entries } = captureLogger();
  try {
    const plugin = createPlugin('socket', pluginSettings(server.port, 'newline'), log);
    await plugin.handle(mTxt);
    await plugin.handle(dd);
    // A newline inside the name cannot be framed: skipped with a warning, the stream stays intact.
    await plugin.handle({ ...mTxt, path: 'a\nb' });
    const text = () => server.streams.map((chunks) => Buffer.concat(chunks).toString());
    await waitFor(() => text()[0] === '/W/m.txt\n/W/dd\n', 'two lines on the first connection');
    assert.ok(entries().some((e) => e.msg.includes('newline cannot be sent')));

    for (const s of server.open) s.destroy();
    await waitFor(
      () => entries().some((e) => e.msg === 'socket plugin connection dropped'),
      'the drop to be noticed',
    );
    await plugin.handle({ ...mTxt, op: 'delete' });
    await waitFor(() => text()[1] === '/W/m.txt\n', 'the line on a new connection');
    await plugin.close();
    assert.equal(server.streams.length, 2);
  } finally {
    await server.close();
  }
});

test('newline framing: lines queued while the server is down are sent once it is up, and close flushes', async () => {
  const port = await freePort();
  const { log, entries } = captureLogger();
  const plugin = createPlugin('socket', pluginSettings(port, 'newline'), log);
  await plugin.handle(mTxt);
  await waitFor(
    () => entries().some((e) => e.msg.startsWith('socket plugin cannot connect')),
    'a failed connect',
  );
  await plugin.handle(dd);
  // while the peer is away: failing, the lines wait
  const away = plugin.stats();
  assert.deepEqual([away.failing, away.backlog, away.delivered], [true, 2, 0]);
  assert.match(away.lastError ?? '', new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  const server = await startTcpCapture({ port });
  try {
    await waitFor(() => server.streams.length === 1, 'the reconnect');
    await waitFor(() => plugin.stats().delivered === 2, 'the queued lines written');
    assert.deepEqual([plugin.stats().failing, plugin.stats().backlog], [false, 0]);
    await plugin.handle({ ...mTxt, op: 'delete' });
    await plugin.close();
    await waitFor(() => server.received.length === 1, 'the connection to close');
    assert.equal(server.received[0]?.toString(), '/W/m.txt\n/W/dd\n/W/m.txt\n');
    assert.ok(entries().some((e) => e.msg === 'socket plugin reconnected'));
  } finally {
    await server.close();
  }
});
