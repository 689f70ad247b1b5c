/** Broken config files: each is refused with a message that names the line, the column and what was expected. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const FILE = '/etc/sersync/confxml.xml';
const TREE = '<sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath></sersync>';

interface Broken {
  readonly name: string;
  /** The file, one array entry per line (line 1 is the first entry). */
  readonly lines: readonly string[];
  readonly line: number;
  readonly column: number;
  readonly detail: string;
}

const CASES: readonly Broken[] = [
  {
    name: 'an element that is never closed',
    lines: ['<head>', '<sersync>', '</head>'],
    line: 3,
    column: 1,
    detail: 'malformed XML: </head> does not close <sersync> (line 2, column 1); sersync refused this too',
  },
  {
    name: 'a tag left open at the end of the file (XMLParser: "Unmatched end tag", exit 255)',
    lines: ['<head>', TREE],
    line: 2,
    column: TREE.length + 1,
    detail:
      'malformed XML: the file ends before <head> (line 1, column 1) is closed; sersync refused this too',
  },
  {
    name: 'a bare & in a value (XMLParser: "Unknown character entity")',
    lines: ['<head>', '  <failLog path="/tmp/a & b.sh"/>', TREE, '</head>'],
    line: 2,
    column: 25,
    detail:
      'malformed XML: "&" is not a character reference: write a literal & as &amp; (sersync refused this file too)',
  },
  {
    name: 'an attribute where a value was expected',
    lines: ['<head>', '  <debug start= />', TREE, '</head>'],
    line: 2,
    column: 17,
    detail: 'malformed XML: start= on <debug> has no value (expected "…" after the =)',
  },
  {
    name: 'a comment inside a tag',
    lines: ['<head>', '  <debug start="true" <!-- on --> />', TREE, '</head>'],
    line: 2,
    column: 23,
    detail: 'malformed XML: unexpected < in <debug>: an attribute name, ">" or "/>" was expected',
  },
  {
    name: 'an empty file',
    lines: [''],
    line: 1,
    column: 1,
    detail: 'malformed XML: no <head> element (the file has no element at all)',
  },
  {
    name: 'a root element other than <head>',
    lines: ['<?xml version="1.0"?>', '<config>', TREE, '</config>'],
    line: 2,
    column: 1,
    detail: "the root element must be <head> (sersync's confxml.xml), found <config>",
  },
  {
    name: 'no <sersync> at all',
    lines: ['<head version="2.5">', '  <debug start="false"/>', '</head>'],
    line: 1,
    column: 1,
    detail: 'no <localpath watch="…"> inside <sersync>: nothing to watch',
  },
  {
    name: 'a <sersync> without <localpath>',
    lines: ['<head>', '  <sersync>', '    <failLog path="/tmp/f.sh"/>', '  </sersync>', '</head>'],
    line: 2,
    column: 3,
    detail: 'no <localpath watch="…"> inside <sersync>: nothing to watch',
  },
  {
    name: "<localpath> and <rsync> directly inside <head> (another tool's layout, published as sersync's)",
    lines: [
      '<head version="2.5">',
      '    <localpath watch="/data/sync">',
      '        <remote ip="192.168.1.100" name="backup"/>',
      '    </localpath>',
      '    <rsync><commonParams params="-artuz"/></rsync>',
      '</head>',
    ],
    line: 2,
    column: 5,
    detail:
      "<localpath> directly inside <head>: sersync reads <localpath>, <rsync>, <failLog> and <crontab> only inside <sersync> (this layout is not sersync's); put them in a <sersync> element, as in its confxml.xml",
  },
  {
    name: 'a <localpath> without <remote>',
    lines: ['<head><sersync>', '  <localpath watch="/opt/tongbu">', '  </localpath>', '</sersync></head>'],
    line: 2,
    column: 3,
    detail: '<localpath watch="/opt/tongbu"> has no <remote>: nowhere to replicate to',
  },
  {
    name: 'a <localpath> without watch',
    lines: [
      '<head><sersync>',
      '  <localpath>',
      '    <remote ip="h" name="m"/>',
      '  </localpath>',
      '</sersync></head>',
    ],
    line: 2,
    column: 3,
    detail: '<localpath> is missing its watch="…" attribute (the directory to watch)',
  },
  {
    name: 'an empty remote ip',
    lines: [
      '<head><sersync><localpath watch="/w">',
      '  <remote ip="" name="tongbu1"/>',
      '</localpath></sersync></head>',
    ],
    line: 2,
    column: 11,
    detail: '<remote> ip="" is empty (the host to replicate to)',
  },
  {
    name: 'an empty remote name',
    lines: [
      '<head><sersync><localpath watch="/w">',
      '  <remote ip="10.0.0.1" name=""/>',
      '</localpath></sersync></head>',
    ],
    line: 2,
    column: 25,
    detail: '<remote> name="" is empty (the rsync module)',
  },
  {
    name: 'the same remote twice in one tree',
    lines: [
      '<head><sersync><localpath watch="/w">',
      '  <remote ip="10.0.0.1" name="m"/>',
      '  <remote ip="10.0.0.1" name="m"/>',
      '</localpath></sersync></head>',
    ],
    line: 3,
    column: 3,
    detail: 'duplicate remote 10.0.0.1::m in this <localpath>',
  },
  {
    name: 'the same watch twice',
    lines: [
      '<head><sersync>',
      '  <localpath watch="/w"><remote ip="a" name="m"/></localpath>',
      '  <localpath watch="/w/"><remote ip="b" name="m"/></localpath>',
      '</sersync></head>',
    ],
    line: 3,
    column: 3,
    detail: 'the watch /w is listed twice',
  },
  {
    name: 'a local remote inside the watched tree',
    lines: [
      '<head><sersync><localpath watch="/srv/data">',
      '  <remote path="/srv/data/copy"/>',
      '</localpath></sersync></head>',
    ],
    line: 2,
    column: 3,
    detail: 'remote path /srv/data/copy lies inside the watched tree /srv/data: it would copy itself',
  },
  {
    name: 'an unknown plugin name switched on',
    lines: [
      '<head><sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath>',
      '  <plugin start="true" name="ftp"/>',
      '</sersync></head>',
    ],
    line: 2,
    column: 24,
    detail: 'name="ftp" must be one of "command", "socket", "refreshCDN", "http"',
  },
  {
    name: 'a plugin switched on without its section',
    lines: [
      '<head><sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath>',
      '  <plugin start="true" name="socket"/>',
      '</sersync></head>',
    ],
    line: 2,
    column: 3,
    detail: 'plugin "socket" is switched on but the file has no <plugin name="socket"> section',
  },
  {
    name: 'a port that is not a number',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<rsync><userDefinedPort start="true" port="8x"/></rsync></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 106,
    detail: 'port="8x" must be a whole number from 1 to 65535',
  },
  {
    name: 'a port out of range',
    lines: ['<head>', '<host hostip="localhost" port="70000"/>', TREE, '</head>'],
    line: 2,
    column: 26,
    detail: 'port="70000" must be a whole number from 1 to 65535',
  },
  {
    name: 'a timeout that is not a number',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<rsync><timeout start="true" time="1m"/></rsync></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 98,
    detail: 'time="1m" must be a whole number >= 0',
  },
  {
    name: 'a timeToExecute that is not a number',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<failLog path="/tmp/f.sh" timeToExecute="hourly"/></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 95,
    detail: 'timeToExecute="hourly" must be a whole number >= 0',
  },
  {
    name: 'a shell operator in commonParams',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<rsync><commonParams params="-artuz; rm -rf /"/></rsync></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 90,
    detail:
      'params="-artuz; rm -rf /": the shell operator ";" is not supported (sersync-ts runs no shell); ' +
      'quote it if it is meant literally',
  },
  {
    name: 'an unterminated quote in commonParams',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<rsync><commonParams params="-artuz \'--rsh=ssh"/></rsync></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 90,
    detail: 'params="-artuz \'--rsh=ssh": unterminated \' quote',
  },
  {
    name: 'commonParams that make rsync follow symlinks out of the tree',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<rsync><commonParams params="-artuzL"/></rsync></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 90,
    detail:
      'params="-artuzL": -L makes rsync copy what a symlink points to, also outside the watched tree: ' +
      'whoever may write the tree could put any file root can read on the replica. Remove it (links are ' +
      'replicated as links); watch the linked directory as a <localpath> of its own instead',
  },
  {
    name: 'commonParams with --copy-unsafe-links',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<rsync><commonParams params="-az --copy-unsafe-links"/></rsync></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 90,
    detail:
      'params="-az --copy-unsafe-links": --copy-unsafe-links makes rsync copy what a symlink points to, also ' +
      'outside the watched tree: whoever may write the tree could put any file root can read on the replica. ' +
      'Remove it (links are replicated as links); watch the linked directory as a <localpath> of its own instead',
  },
  {
    name: 'an invalid cron expression',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<crontab start="true" cron="61 * * * *"/></sersync>'),
      '</head>',
    ],
    line: 2,
    column: 91,
    detail:
      'cron="61 * * * *" is not a valid cron expression (m h dom mon dow): 61 is a invalid expression for minute',
  },
  {
    name: 'an unknown watcher',
    lines: ['<head>', '<fileSystem xfs="false" watcher="fanotify"/>', TREE, '</head>'],
    line: 2,
    column: 25,
    detail: 'watcher="fanotify" must be one of "auto", "inotify", "chokidar"',
  },
  {
    name: 'an http plugin in use with a URL that is not http',
    lines: [
      '<head>',
      TREE.replace('</sersync>', '<plugin start="true" name="http"/></sersync>'),
      '<plugin name="http"><localpath watch="/w">',
      '  <deshost url="ftp://h/x"/>',
      '</localpath></plugin>',
      '</head>',
    ],
    line: 4,
    column: 12,
    detail: 'url="ftp://h/x" is not an http:// or https:// URL',
  },
];

for (const c of CASES) {
  test(`refused: ${c.name}`, () => {
    assert.throws(
      () => parseConfig(c.lines.join('\n'), FILE),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.message, `${FILE}:${c.line}:${c.column}: ${c.detail}`);
        assert.deepEqual([err.file, err.line, err.column, err.detail], [FILE, c.line, c.column, c.detail]);
        assert.equal(err.code, 'ERR_SERSYNC_CONFIG');
        return true;
      },
    );
  });
}

test('refused: a file that does not exist (no position to name)', async () => {
  const dir = await tempDir();
  try {
    const missing = join(dir.path, 'confxml.xml');
    assert.throws(() => loadConfig(missing), {
      name: 'ConfigError',
      message: `${missing}: cannot read the config file: ENOENT: no such file or directory`,
    });
  } finally {
    await dir.remove();
  }
});
