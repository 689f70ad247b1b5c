import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PLUGIN_NAMES, type PluginSettings } from '../../src/config/types.js';
import { createPlugin, PluginError } from '../../src/plugins/index.js';
import { captureLogger } from './helpers.js';

const none: PluginSettings = {
  enabled: true,
  name: null,
  command: null,
  socket: null,
  refreshCDN: null,
  http: null,
};

test('createPlugin refuses a plugin whose <plugin name> section is missing', () => {
  for (const name of PLUGIN_NAMES) {
    assert.throws(
      () => createPlugin(name, none, captureLogger().log),
      (err) => err instanceof PluginError && err.message.includes(`<plugin name="${name}">`),
    );
  }
});

test('createPlugin builds the named plugin, whose log lines carry its name', async () => {
  const { log, entries } = captureLogger();
  const settings: PluginSettings = {
    ...none,
    command: {
      prefix: ['/bin/true'],
      suffix: [],
      ignoreError: false,
      includes: [],
      timeoutS: 5,
      concurrency: 1,
    },
    http: { watch: '/W', url: 'http://127.0.0.1:9/', format: 'form', timeoutS: 1 },
  };
  const command = createPlugin('command', settings, log);
  assert.equal(command.name, 'command');
  await command.handle({ root: '/W', path: 'f', isDir: false, op: 'sync' });
  await command.close();
  assert.ok(entries().length > 0 && entries().every((e) => e.plugin === 'command'));
  const http = createPlugin('http', settings, log);
  assert.equal(http.name, 'http');
  await http.close();
});
