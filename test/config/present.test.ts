/** What `check` shows: every part of the config, regexes as source text, and never the CDN password. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { configToJson, describeConfig } from '../../src/config/present.js';

const SECRET = 's3cr3t-Pa55';

const config = parseConfig(
  [
    '<head>',
    '<filter start="true"><exclude expression="(.*)\\.gz"/></filter>',
    '<sersync>',
    '  <localpath watch="/srv/a"><remote ip="10.0.0.1" name="a"/><remote path="/backup/a"/></localpath>',
    '  <localpath watch="/srv/b"><remote ip="10.0.0.2" name="b"/></localpath>',
    '  <rsync><auth start="true" users="sync" passwordfile="/etc/rsync.pas"/></rsync>',
    '  <crontab start="true" cron="0 3 * * *"/>',
    '  <plugin start="true" name="refreshCDN"/>',
    '</sersync>',
    '<plugin name="refreshCDN"><localpath watch="/srv/a"><cdninfo domainname="cdn" username="u" passwd="' +
      SECRET +
      '"/><sendurl base="http://x/"/></localpath></plugin>',
    '</head>',
  ].join('\n'),
  '/etc/sersync/confxml.xml',
);

test('--json: the whole Config, regexes as their source, the password hidden', () => {
  const text = configToJson(config);
  assert.ok(!text.includes(SECRET));
  const json = JSON.parse(text) as {
    filter: { excludes: { expression: string; regex: string }[] };
    plugin: { refreshCDN: { password: string; username: string } };
    localpaths: unknown[];
  };
  assert.deepEqual(json.filter.excludes, [{ expression: '(.*)\\.gz', regex: '^(?:(.*)\\.gz)$' }]);
  assert.equal(json.plugin.refreshCDN.password, '(hidden)');
  assert.equal(json.plugin.refreshCDN.username, 'u');
  assert.equal(json.localpaths.length, 2);
});

test('the human form lists every tree and remote, the toggles, filters, schedule, plugin and state dir', () => {
  const text = describeConfig(config, null).join('\n');
  assert.ok(!text.includes(SECRET));
  for (const expected of [
    'config file     /etc/sersync/confxml.xml',
    'state dir       the default location',
    'tree 1          /srv/a',
    '  remote        10.0.0.1::a  (rsync daemon module, as sync)',
    '  remote        /backup/a  (local directory)',
    'tree 2          /srv/b',
    '  remote        10.0.0.2::b  (rsync daemon module, as sync)',
    '  auth          user sync, password file /etc/rsync.pas',
    'events          delete createFolder closeWrite moveFrom moveTo   (off: createFile attrib modify)',
    'filter          on, 1 exclude expression(s)',
    '  exclude       (.*)\\.gz   (matched as /^(?:(.*)\\.gz)$/s)',
    'crontab         cron "0 3 * * *"',
    "plugin          refreshCDN, after each event's syncs",
    '  refreshCDN    chinacache: cdn:80 user u password (hidden), base http://x/, watch /srv/a',
  ]) {
    assert.ok(text.split('\n').includes(expected), `missing line: ${expected}\n${text}`);
  }
  assert.ok(describeConfig(config, '/var/lib/s').includes('state dir       /var/lib/s  (--state-dir)'));
});

test('text: a newline or escape sequence in a value is shown escaped, one line each', () => {
  const hostile = parseConfig(
    '<head><sersync><localpath watch="/srv/a&#10;b\u001b[2J"><remote path="/backup/x&#9;y"/></localpath></sersync></head>',
    '/etc/sersync/confxml.xml',
  );
  const lines = describeConfig(hostile, null);
  assert.ok(lines.includes('tree 1          /srv/a\\nb\\x1b[2J'));
  assert.ok(lines.some((l) => l.startsWith('  remote        /backup/x\\ty')));
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  assert.ok(lines.every((l) => !/[\u0000-\u001f\u007f]/.test(l)));
});
