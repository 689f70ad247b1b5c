/** confxml.xml features: several trees and remotes, rsync options, filters, crontab, plugins, extensions. */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { isIpv4 } from '../../src/config/sersync.js';
import type { Config } from '../../src/config/types.js';
import { tempDir } from '../helpers/tmp.js';

const FILE = '/etc/sersync/confxml.xml';

/** A document from lines, so that the line numbers in assertions can be read off the test. */
function doc(...lines: string[]): string {
  return ['<?xml version="1.0" encoding="ISO-8859-1"?>', '<head version="2.5">', ...lines, '</head>'].join(
    '\n',
  );
}

const ONE_TREE = '<sersync><localpath watch="/w"><remote ip="10.0.0.1" name="m"/></localpath></sersync>';

function parse(...lines: string[]): Config {
  return parseConfig(doc(...lines), FILE);
}

function messages(c: Config): string[] {
  return c.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`);
}

test('a minimal file (only <sersync><localpath><remote>) starts with every default', () => {
  const c = parse(ONE_TREE);
  assert.deepEqual(c.warnings, []);
  assert.deepEqual(c.host, { ip: 'localhost', port: 8008, metrics: false });
  assert.equal(c.inotify.delete, true);
  assert.equal(c.inotify.createFile, false);
  assert.deepEqual(c.rsync.commonParams, ['-artuz']);
  assert.deepEqual(c.failLog, { path: '/tmp/rsync_fail_log.sh', timeToExecuteMinutes: 60, inTrees: [] });
  assert.deepEqual(c.plugin, {
    enabled: false,
    name: null,
    command: null,
    socket: null,
    refreshCDN: null,
    http: null,
  });
});

test('every <localpath> is a tree with its own remotes; relative paths resolve against the file', () => {
  const c = parse(
    '<sersync>',
    '  <localpath watch="/srv/www/">',
    '    <remote ip="10.0.0.1" name="www"/>',
    '    <remote ip="10.0.0.2" name="www"/>',
    '  </localpath>',
    '  <localpath watch="img">',
    '    <remote ip="10.0.0.1" name="img"/>',
    '    <remote path="../replica/img"/>',
    '  </localpath>',
    '</sersync>',
  );
  assert.deepEqual(c.localpaths, [
    {
      watch: '/srv/www',
      remotes: [
        { id: '10.0.0.1::www', target: { kind: 'daemon', host: '10.0.0.1', module: 'www' } },
        { id: '10.0.0.2::www', target: { kind: 'daemon', host: '10.0.0.2', module: 'www' } },
      ],
    },
    {
      watch: '/etc/sersync/img',
      remotes: [
        { id: '10.0.0.1::img', target: { kind: 'daemon', host: '10.0.0.1', module: 'img' } },
        { id: '/etc/replica/img', target: { kind: 'local', path: '/etc/replica/img' } },
      ],
    },
  ]);
});

test('auth, port and timeout are read when switched on', () => {
  const c = parse(
    '<sersync><localpath watch="/w"><remote ip="10.0.0.1" name="m1"/></localpath>',
    '<rsync>',
    '  <commonParams params="-artuz --exclude=*.tmp \'--rsh=ssh -p 2222\' &quot;a b&quot;"/>',
    '  <auth start="true" users="backup" passwordfile="secrets/rsync.pas"/>',
    '  <userDefinedPort start="true" port="8873"/>',
    '  <timeout start="true" time="30"/>',
    '  <ssh start="false"/>',
    '</rsync></sersync>',
  );
  assert.deepEqual(c.rsync, {
    commonParamsRaw: '-artuz --exclude=*.tmp \'--rsh=ssh -p 2222\' "a b"',
    commonParams: ['-artuz', '--exclude=*.tmp', '--rsh=ssh -p 2222', 'a b'],
    auth: { enabled: true, users: 'backup', passwordFile: '/etc/sersync/secrets/rsync.pas' },
    port: 8873,
    timeoutS: 30,
    stallTimeoutS: 600,
    ssh: false,
  });
  assert.deepEqual(c.warnings, []);
});

test('switched-off port and timeout are null, and their bad values only warn', () => {
  const c = parse(
    ONE_TREE.replace('</sersync>', ''),
    '<rsync><userDefinedPort start="false" port="http"/><timeout start="false" time="-1"/></rsync>',
    '</sersync>',
  );
  assert.equal(c.rsync.port, null);
  assert.equal(c.rsync.timeoutS, null);
  assert.deepEqual(messages(c), [
    '4:39: port="http" must be a whole number from 1 to 65535 (ignored: this part is not enabled)',
    '4:75: time="-1" must be a whole number >= 0 (ignored: this part is not enabled)',
  ]);
});

test('timeout/@stall (extension) sets the stall backstop while <timeout> is off', () => {
  const stall = (attrs: string): Config =>
    parse(ONE_TREE.replace('</sersync>', ''), `<rsync><timeout ${attrs}/></rsync>`, '</sersync>');
  assert.equal(stall('start="false" stall="45"').rsync.stallTimeoutS, 45);
  assert.equal(stall('start="false" stall="0"').rsync.stallTimeoutS, 0);
  assert.throws(() => stall('start="false" stall="soon"'), /stall="soon" must be a whole number >= 0/);
});

test('ssh mode makes ip:path remotes and warns about what rsync ignores over ssh', () => {
  const c = parse(
    '<sersync><localpath watch="/w"><remote ip="10.0.0.1" name="/srv/m1"/></localpath>',
    '<rsync><auth start="true" users="root" passwordfile="/etc/rsync.pas"/>',
    '<userDefinedPort start="true" port="874"/><ssh start="true"/></rsync></sersync>',
  );
  assert.deepEqual(c.localpaths[0]?.remotes, [
    { id: '10.0.0.1:/srv/m1', target: { kind: 'ssh', host: '10.0.0.1', path: '/srv/m1' } },
  ]);
  assert.equal(c.rsync.ssh, true);
  assert.deepEqual(messages(c), [
    '4:40: passwordfile is ignored in ssh mode: rsync accepts --password-file only for daemon targets ' +
      '(sersync passed it anyway and every rsync failed)',
    '5:1: in ssh mode userDefinedPort is the ssh port (-e "ssh -p 874"); sersync passed --port, which rsync ignores over ssh',
  ]);
});

test('only the exact string "true" switches something on; other spellings warn', () => {
  const c = parse(
    '<debug start="True"/>',
    '<inotify><attrib start="yes"/><modify start="true"/></inotify>',
    ONE_TREE,
  );
  assert.equal(c.debug, false);
  assert.equal(c.inotify.attrib, false);
  assert.equal(c.inotify.modify, true);
  assert.deepEqual(messages(c), [
    '3:8: start="True" means false: only the exact string "true" enables',
    '4:18: start="yes" means false: only the exact string "true" enables',
  ]);
});

test('the realtime filter: whole-string regexes, plus the temp-file and dot-file extensions', () => {
  const c = parse(
    '<filter start="true" builtinTemp="false" ignoreDotFiles="true">',
    '  <exclude expression="(.*)\\.gz"/>',
    '  <exclude expression="^info/*"/>',
    '</filter>',
    ONE_TREE,
  );
  assert.equal(c.filter.enabled, true);
  assert.deepEqual(
    c.filter.excludes.map((e) => [e.expression, e.regex.source]),
    [
      ['(.*)\\.gz', '^(?:(.*)\\.gz)$'],
      ['^info/*', '^(?:^info\\/*)$'],
    ],
  );
  assert.deepEqual(c.tempFiles, { builtin: false, ignoreDotFiles: true });
});

test('an invalid regex in a switched-off filter is a warning and is dropped', () => {
  const c = parse(
    '<filter start="false"><exclude expression="a(b"/><exclude expression="c"/></filter>',
    ONE_TREE,
  );
  assert.deepEqual(
    c.filter.excludes.map((e) => e.expression),
    ['c'],
  );
  assert.deepEqual(messages(c), [
    '3:32: expression="a(b" is not a regular expression sersync could use (Unterminated group): skipped, as sersync skipped it; it matches nothing (a glob like *.log is written (.*)\\.log)',
  ]);
});

test('an exclude or include sersync could not use is skipped with a warning, as sersync skipped it; the file loads', () => {
  const c = parse(
    '<filter start="true"><exclude expression="*.log"/><exclude expression="(.*\\.gz"/>',
    '<exclude expression="(.*)\\.tmp"/></filter>',
    ONE_TREE.replace('</sersync>', '<plugin start="true" name="command"/></sersync>'),
    '<plugin name="command"><param prefix="/usr/local/bin/purge"/>',
    '<filter start="true"><include expression="a++"/></filter></plugin>',
  );
  assert.deepEqual(
    c.filter.excludes.map((e) => e.expression),
    ['(.*)\\.tmp'],
  );
  assert.deepEqual(c.plugin.command?.includes, []);
  assert.deepEqual(messages(c), [
    '3:31: expression="*.log" is not a regular expression sersync could use (Nothing to repeat): skipped, as sersync skipped it; it matches nothing (a glob like *.log is written (.*)\\.log)',
    '3:60: expression="(.*\\.gz" is not a regular expression sersync could use (Unterminated group): skipped, as sersync skipped it; it matches nothing (a glob like *.log is written (.*)\\.log)',
    '7:31: expression="a++" is not a regular expression sersync could use (a possessive quantifier or an atomic group, which JavaScript cannot match): skipped, as sersync skipped it; it matches nothing (a glob like *.log is written (.*)\\.log)',
  ]);
});

test("crontab: minutes, sersync's 600 for <= 0 or non-numbers, atoi prefixes, the crontab filter", () => {
  const crontab = (attrs: string): Config =>
    parse(
      `<sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath><crontab start="true" ${attrs}>`,
      '<crontabfilter start="true"><exclude expression="*.php"/><exclude expression="info/*"/></crontabfilter>',
      '</crontab></sersync>',
    );
  const c = crontab('schedule="30"');
  assert.deepEqual(c.crontab, {
    enabled: true,
    scheduleMinutes: 30,
    cron: null,
    filter: { enabled: true, excludes: ['*.php', 'info/*'] },
  });
  assert.deepEqual(c.warnings, []);
  for (const [schedule, minutes] of [
    ['0', 600],
    ['-5', 600],
    ['soon', 600],
    ['10abc', 10],
  ] as const) {
    const w = crontab(`schedule="${schedule}"`);
    assert.equal(w.crontab.scheduleMinutes, minutes, schedule);
    assert.deepEqual(messages(w), [
      `3:91: schedule="${schedule}" is not a positive number of minutes: ${minutes} is used (as sersync did)`,
    ]);
  }
  assert.equal(crontab('cron="0 3 * * *"').crontab.cron, '0 3 * * *');
});

test('crontab with the realtime filter on and no crontab filter: sersync switched it off, we warn', () => {
  const c = parse(
    '<filter start="true"><exclude expression="x"/></filter>',
    '<sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath>',
    '<crontab start="true" schedule="60"/></sersync>',
  );
  assert.equal(c.crontab.enabled, true);
  assert.deepEqual(messages(c), [
    '5:1: the filter is on but the crontab filter is not: sersync switched the crontab off here; ' +
      'sersync-ts keeps it and applies the realtime filter to full syncs',
  ]);
});

test('failLog: relative path, "" keeps sersync\'s 7200 s, 0 means every minute', () => {
  const failLog = (attrs: string): Config['failLog'] =>
    parse(ONE_TREE.replace('</sersync>', `<failLog ${attrs}/></sersync>`)).failLog;
  assert.deepEqual(failLog('path="log/fail.sh" timeToExecute="5"'), {
    path: '/etc/sersync/log/fail.sh',
    timeToExecuteMinutes: 5,
    inTrees: [],
  });
  assert.equal(failLog('timeToExecute=""').timeToExecuteMinutes, 120);
  assert.equal(failLog('timeToExecute="0"').timeToExecuteMinutes, 1);
});

test('the command plugin section, switched on in <sersync><plugin>', () => {
  const c = parse(
    ONE_TREE.replace('</sersync>', '<plugin start="true" name="command"/></sersync>'),
    '<plugin name="command">',
    '  <param prefix="/usr/local/bin/notify --tag \'a b\'" suffix="--end" ignoreError="false" timeout="5" concurrency="2"/>',
    '  <filter start="true"><include expression="(.*)\\.php"/><include expression="(.*)\\.sh"/></filter>',
    '</plugin>',
  );
  assert.equal(c.plugin.enabled, true);
  assert.equal(c.plugin.name, 'command');
  const cmd = c.plugin.command;
  assert.ok(cmd);
  assert.deepEqual(cmd.prefix, ['/usr/local/bin/notify', '--tag', 'a b']);
  assert.deepEqual(cmd.suffix, ['--end']);
  assert.equal(cmd.ignoreError, false);
  assert.equal(cmd.timeoutS, 5);
  assert.equal(cmd.concurrency, 2);
  assert.deepEqual(
    cmd.includes.map((i) => i.regex.source),
    ['^(?:(.*)\\.php)$', '^(?:(.*)\\.sh)$'],
  );
  assert.ok(cmd.includes[0]?.regex.test('/w/a/b.php'));
});

test('the socket plugin section, with the newline framing extension', () => {
  const c = parse(
    ONE_TREE,
    '<plugin name="socket"><localpath watch="/data/"><deshost ip="127.0.0.1" port="18009" framing="newline"/></localpath></plugin>',
  );
  assert.deepEqual(c.plugin.socket, { watch: '/data', host: '127.0.0.1', port: 18009, framing: 'newline' });
});

test("the socket plugin's deshost ip as an IPv6 address, bare or in brackets as a remote's is written", () => {
  for (const ip of ['::1', '[::1]']) {
    const c = parse(
      ONE_TREE,
      `<plugin name="socket"><localpath watch="/data"><deshost ip="${ip}" port="8009"/></localpath></plugin>`,
    );
    assert.equal(c.plugin.socket?.host, '::1', ip);
  }
});

test("the socket plugin's deshost ip that no socket can reach is warned at its place while the plugin is in use", () => {
  const section = (ip: string): string =>
    `<plugin name="socket"><localpath watch="/data"><deshost ip="${ip}" port="8009"/></localpath></plugin>`;
  const inUse = ONE_TREE.replace('</sersync>', '<plugin start="true" name="socket"/></sersync>');
  assert.deepEqual(messages(parse(inUse, section('19268.8.42'))), [
    '4:57: ip="19268.8.42" is not an IPv4 address (a typo?): the socket plugin cannot send to it',
  ]);
  assert.deepEqual(messages(parse(inUse, section('IP_OF_SOCKET_SERVER'.replace(/_/g, ' ')))), [
    '4:57: ip="IP OF SOCKET SERVER" is not a host name or address (a placeholder left in?): the socket plugin cannot send to it',
  ]);
  for (const ip of ['127.1', 'cdn-hook.example', '::1', '[::1]'])
    assert.deepEqual(messages(parse(inUse, section(ip))), [], ip);
  assert.deepEqual(
    messages(parse(ONE_TREE, section('19268.8.42'))),
    [],
    'a section not in use is not read closely',
  );
});

test('the refreshCDN plugin section in its generic mode', () => {
  const c = parse(
    ONE_TREE,
    '<plugin name="refreshCDN"><localpath watch="/site">',
    '  <cdninfo mode="generic" method="BAN" urlTemplate="https://cdn.example/purge?u={url}"/>',
    '  <sendurl base="http://pic.example/cms"/>',
    '  <regexurl regex="true" match="site([/a-z]*)/images"/>',
    '</localpath></plugin>',
  );
  assert.deepEqual(c.plugin.refreshCDN, {
    watch: '/site',
    domainName: '',
    port: 80,
    username: '',
    password: '',
    baseUrl: 'http://pic.example/cms',
    regex: true,
    match: 'site([/a-z]*)/images',
    mode: 'generic',
    method: 'BAN',
    urlTemplate: 'https://cdn.example/purge?u={url}',
  });
});

test("the http plugin section (sersync's source shape); deshost port overrides the URL's", () => {
  const c = parse(
    ONE_TREE.replace('</sersync>', '<plugin start="true" name="http"/></sersync>'),
    '<plugin name="http"><localpath watch="/w"><deshost url="http://127.0.0.1/hook?x=1" port="8080" format="json" timeout="3"/></localpath></plugin>',
  );
  assert.deepEqual(c.plugin.http, {
    watch: '/w',
    url: 'http://127.0.0.1:8080/hook?x=1',
    format: 'json',
    timeoutS: 3,
  });
  assert.equal(c.plugin.name, 'http');
});

test('a plugin section without its own <localpath> watches the first tree', () => {
  const c = parse(ONE_TREE, '<plugin name="socket"><deshost ip="127.0.0.1"/></plugin>');
  assert.equal(c.plugin.socket, null);
  const d = parse(ONE_TREE, '<plugin name="http"><localpath><deshost url="http://h/"/></localpath></plugin>');
  assert.equal(d.plugin.http?.watch, '/w');
});

test('a broken section of a plugin no one switches on is unusable (null) with a warning, not an error', () => {
  const c = parse(
    ONE_TREE,
    '<plugin name="socket"><localpath watch="/w"><deshost port="9"/></localpath></plugin>',
  );
  assert.equal(c.plugin.socket, null);
  assert.deepEqual(messages(c), [
    '4:45: <deshost> is missing its ip="…" attribute (ignored: this part is not enabled)',
  ]);
});

test('extensions: watcher, metrics, state dir', () => {
  const c = parse(
    '<host hostip="0.0.0.0" port="9100" metrics="true"/>',
    '<fileSystem xfs="true" watcher="chokidar"/>',
    '<state dir="state"/>',
    ONE_TREE,
  );
  assert.deepEqual(c.host, { ip: '0.0.0.0', port: 9100, metrics: true });
  assert.deepEqual(c.fileSystem, { xfs: true, watcher: 'chokidar' });
  assert.equal(c.stateDir, '/etc/sersync/state');
});

test('unknown elements and attributes, stray text and duplicates are warnings with their place', () => {
  const c = parse(
    '<debug start="false" level="9"/>',
    '<debug start="true"/>',
    '<fileSytem xfs="true"/>',
    '<sersync><localpath watch="/w"><remote ip="h" name="m" user="x"/></localpath>notes</sersync>',
    '<plugin name="ftp"><param/></plugin>',
  );
  assert.equal(c.debug, false);
  assert.deepEqual(messages(c), [
    '3:22: unknown attribute "level" on <debug> ignored',
    '4:1: duplicate <debug> ignored: the first one (line 3) is used',
    '5:1: unknown element <fileSytem> inside <head> ignored',
    '6:56: unknown attribute "user" on <remote> ignored',
    '6:78: text "notes" inside <sersync> ignored',
    '7:9: <plugin> section with unknown name="ftp" ignored',
  ]);
});

test("entities in attributes are decoded like sersync's parser did", () => {
  const c = parse(
    '<sersync><localpath watch="/srv/a&amp;b &#233;t&#xE9;"><remote ip="h" name="m"/></localpath></sersync>',
  );
  assert.equal(c.localpaths[0]?.watch, '/srv/a&b été');
});

test('loadConfig resolves the path, reads UTF-8, and falls back to ISO-8859-1 with a warning', async () => {
  const dir = await tempDir();
  try {
    const utf8 = join(dir.path, 'utf8.xml');
    await writeFile(
      utf8,
      doc('<sersync><localpath watch="été"><remote path="replica"/></localpath></sersync>'),
    );
    const c = loadConfig(utf8);
    assert.equal(c.file, utf8);
    assert.deepEqual(
      c.localpaths.map((t) => [t.watch, ...t.remotes.map((r) => r.id)]),
      [[join(dir.path, 'été'), join(dir.path, 'replica')]],
    );

    const latin1 = join(dir.path, 'latin1.xml');
    await writeFile(latin1, Buffer.from(doc('<!-- caf\u00e9 -->', ONE_TREE), 'latin1'));
    assert.deepEqual(messages(loadConfig(latin1)), [
      '1:1: the file is not UTF-8: read as ISO-8859-1; non-ASCII paths in it may not match the disk',
    ]);
  } finally {
    await dir.remove();
  }
});

test('a GB2312 config whose Chinese watch path names no directory as read is refused at its place, not created empty', async () => {
  const dir = await tempDir();
  try {
    // 网站 in GBK bytes, as a zh_CN.GBK server writes it; the directory exists with those bytes.
    const gbk = Buffer.from([0xcd, 0xf8, 0xd5, 0xbe]);
    mkdirSync(Buffer.concat([Buffer.from(`${dir.path}/`), gbk]));
    const file = join(dir.path, 'gbk.xml');
    // The same path in a comment above: the error points at the attribute, not at the first mention.
    const comment = Buffer.concat([Buffer.from(`<!-- was ${dir.path}/`), gbk, Buffer.from(' -->\n')]);
    const head = Buffer.from(
      `<?xml version="1.0" encoding="GB2312"?>\n<head version="2.5">\n<sersync>\n  <localpath watch="${dir.path}/`,
    );
    const tail = Buffer.from('"><remote ip="10.0.0.2" name="www"/></localpath>\n</sersync>\n</head>\n');
    await writeFile(file, Buffer.concat([comment, head, gbk, tail]));
    assert.throws(() => loadConfig(file), {
      message: new RegExp(
        `^${file}:5:14: watch=".*" has non-ASCII characters in a file that is not UTF-8 \\(read as ISO-8859-1\\), and no directory has that name`,
      ),
    });
    // An ISO-8859-1 file naming a directory that exists as read (é in UTF-8 on disk) still loads.
    mkdirSync(join(dir.path, 'caf\u00e9'));
    const latin1 = join(dir.path, 'latin1.xml');
    await writeFile(
      latin1,
      Buffer.from(
        doc(`<sersync><localpath watch="${dir.path}/caf\u00e9"><remote path="r"/></localpath></sersync>`),
        'latin1',
      ),
    );
    assert.equal(loadConfig(latin1).localpaths[0]?.watch, join(dir.path, 'caf\u00e9'));
  } finally {
    await dir.remove();
  }
});

test('a module written as a path is said to fail every sync, unless <ssh> makes it a path', () => {
  const daemon = parse(
    '<sersync><localpath watch="/w"><remote ip="10.0.0.1" name="/srv/www/"/></localpath></sersync>',
  );
  assert.deepEqual(messages(daemon), [
    '3:54: name="/srv/www/" starts with "/": rsync refuses the daemon destination 10.0.0.1::/srv/www/ (the remote path must start with a module name), so every sync to it will fail, as with sersync; name the module as rsyncd.conf does (name="www" for a module [www]), or set <ssh start="true"/> if /srv/www/ is a directory on the ssh host',
  ]);
  const ssh = parse(
    '<sersync><localpath watch="/w"><remote ip="10.0.0.1" name="/srv/www/"/></localpath>',
    '<rsync><ssh start="true"/></rsync></sersync>',
  );
  assert.deepEqual(messages(ssh), []);
  assert.equal(ssh.localpaths[0]?.remotes[0]?.id, '10.0.0.1:/srv/www/');
});

test('digits and dots that are no IPv4 address are a typo; the forms rsync resolves are not', () => {
  for (const host of ['10.0.0.1', '127.1', '10.65535', '167772161', '010.0.0.1', '0.0.0.0'])
    assert.equal(isIpv4(host), true, host);
  for (const host of [
    '1726.10.5',
    '19268.8.42',
    '10.0.0.256',
    '10.0.0.1.5',
    '10..0.1',
    '10.0.0.',
    '08.0.0.1',
    '4294967296',
  ])
    assert.equal(isIpv4(host), false, host);
  const typo = parse(
    '<sersync><localpath watch="/w"><remote ip="19268.8.42" name="m"/></localpath></sersync>',
  );
  assert.deepEqual(messages(typo), [
    '3:40: ip="19268.8.42" is not an IPv4 address (a typo?): every sync to it will fail',
  ]);
  assert.deepEqual(
    messages(parse('<sersync><localpath watch="/w"><remote ip="127.1" name="m"/></localpath></sersync>')),
    [],
  );
});

test('a <localpath> beside <sersync> (not in it) is still said to be ignored when <sersync> has its own', () => {
  const c = parse('<localpath watch="/x"><remote ip="h" name="m"/></localpath>', ONE_TREE);
  assert.deepEqual(messages(c), ['3:1: unknown element <localpath> inside <head> ignored']);
  assert.deepEqual(
    c.localpaths.map((t) => t.watch),
    ['/w'],
  );
});
