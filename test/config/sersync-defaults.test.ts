/**
 * sersync 2.5.4's shipped confxml.xml (verbatim fixture) resolves to the reference defaults of
 * the behavioural spec (§2.2/§2.3), value by value.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/sersync-2.5.4-confxml.xml', import.meta.url));

test('the sersync 2.5.4 default confxml.xml loads with the reference defaults', () => {
  const c = loadConfig(FIXTURE);
  assert.equal(c.file, FIXTURE);
  assert.deepEqual(c.warnings, []);
  assert.deepEqual(c.host, { ip: 'localhost', port: 8008, metrics: false });
  assert.equal(c.debug, false);
  assert.deepEqual(c.fileSystem, { xfs: false, watcher: 'auto' });

  assert.equal(c.filter.enabled, false);
  assert.deepEqual(
    c.filter.excludes.map((e) => e.expression),
    ['(.*)\\.svn', '(.*)\\.gz', '^info/*', '^static/*'],
  );
  assert.deepEqual(c.tempFiles, { builtin: true, ignoreDotFiles: false });
  assert.deepEqual(c.inotify, {
    delete: true,
    createFolder: true,
    createFile: false,
    closeWrite: true,
    moveFrom: true,
    moveTo: true,
    attrib: false,
    modify: false,
  });

  assert.deepEqual(c.localpaths, [
    {
      watch: '/opt/tongbu',
      remotes: [
        { id: '127.0.0.1::tongbu1', target: { kind: 'daemon', host: '127.0.0.1', module: 'tongbu1' } },
      ],
    },
  ]);
  assert.deepEqual(c.rsync, {
    commonParamsRaw: '-artuz',
    commonParams: ['-artuz'],
    auth: { enabled: false, users: 'root', passwordFile: '/etc/rsync.pas' },
    port: null,
    timeoutS: null,
    stallTimeoutS: 600,
    ssh: false,
  });
  assert.deepEqual(c.failLog, { path: '/tmp/rsync_fail_log.sh', timeToExecuteMinutes: 60, inTrees: [] });
  assert.deepEqual(c.crontab, {
    enabled: false,
    scheduleMinutes: 600,
    cron: null,
    filter: { enabled: false, excludes: ['*.php', 'info/*'] },
  });

  assert.equal(c.plugin.enabled, false);
  assert.equal(c.plugin.name, null);
  assert.deepEqual(c.plugin.command, {
    prefix: ['/bin/sh'],
    suffix: [],
    ignoreError: true,
    includes: [],
    timeoutS: 60,
    concurrency: 4,
  });
  assert.deepEqual(c.plugin.socket, {
    watch: '/opt/tongbu',
    host: '192.168.138.20',
    port: 8009,
    framing: 'per-connection',
  });
  assert.deepEqual(c.plugin.refreshCDN, {
    watch: '/data0/htdocs/cms.xoyo.com/site',
    domainName: 'ccms.chinacache.com',
    port: 80,
    username: 'xxxx',
    password: 'xxxx',
    baseUrl: 'http://pic.xoyo.com/cms',
    regex: false,
    match: 'cms.xoyo.com/site([/a-zA-Z0-9]*).xoyo.com/images',
    mode: 'chinacache',
    method: 'PURGE',
    urlTemplate: '{url}',
  });
  assert.equal(c.plugin.http, null);
  assert.equal(c.stateDir, null);
});

test('the default excludes are whole-string regexes, as sersync matched them', () => {
  const [svn, gz, info] = loadConfig(FIXTURE).filter.excludes;
  assert.ok(svn?.regex.test('sub/.svn'));
  assert.ok(gz?.regex.test('x.gz'));
  assert.ok(!gz?.regex.test('x.gz.txt'));
  assert.ok(info?.regex.test('info/'));
  assert.ok(!info?.regex.test('info2'));
});
