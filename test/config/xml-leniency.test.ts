/**
 * What sersync's parser (XMLParser 2.41) accepts beyond XML loads here too, each with a warning
 * at its place. Every case was run through XMLParser 2.41 itself (parseFile(file, "head"), as
 * sersync 2.5.4 calls it): it accepted each file and read the values asserted here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

const FILE = '/etc/sersync/confxml.xml';
const TREE = '<sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath></sersync>';

interface Lenient {
  readonly name: string;
  /** The file, one entry per line. */
  readonly lines: readonly string[];
  /** What the file must read as. */
  readonly check: (c: Config) => void;
  /** `line:column: message`, in document order. */
  readonly warnings: readonly string[];
}

const CASES: readonly Lenient[] = [
  {
    name: "an unquoted value (the Ansible role's timeout line): read as written",
    lines: [
      '<head>',
      '<sersync>',
      '  <rsync><timeout start=true time="100"/></rsync>',
      TREE.slice(9),
      '</head>',
    ],
    check: (c) => assert.equal(c.rsync.timeoutS, 100),
    warnings: [
      '3:19: the value of start= on <timeout> has no quotes: read as "true" (as sersync did); write start="true"',
    ],
  },
  {
    name: 'unquoted values with slashes; one right before "/>" (a slash before > closes the tag)',
    lines: [
      '<head>',
      '<sersync><localpath watch=/srv/www><remote ip=10.0.0.9 name=www/></localpath></sersync>',
      '</head>',
    ],
    check: (c) =>
      assert.deepEqual(c.localpaths[0], {
        watch: '/srv/www',
        remotes: [{ id: '10.0.0.9::www', target: { kind: 'daemon', host: '10.0.0.9', module: 'www' } }],
      }),
    warnings: [
      '2:21: the value of watch= on <localpath> has no quotes: read as "/srv/www" (as sersync did); write watch="/srv/www"',
      '2:44: the value of ip= on <remote> has no quotes: read as "10.0.0.9" (as sersync did); write ip="10.0.0.9"',
      '2:56: the value of name= on <remote> has no quotes: read as "www" (as sersync did); write name="www"',
    ],
  },
  {
    name: 'single quotes (XML allows them): no warning, a " inside is kept',
    lines: [
      '<head>',
      '<sersync><rsync><commonParams params=\'-artuz --exclude="*.tmp"\'/></rsync>',
      TREE.slice(9),
      '</head>',
    ],
    check: (c) => assert.deepEqual(c.rsync.commonParams, ['-artuz', '--exclude=*.tmp']),
    warnings: [],
  },
  {
    name: 'no space between attributes, spaces around =',
    lines: ['<head>', '<host hostip="1.2.3.4"port = "8010"/>', TREE, '</head>'],
    check: (c) => assert.deepEqual([c.host.ip, c.host.port], ['1.2.3.4', 8010]),
    warnings: [],
  },
  {
    name: 'a quote not closed before the next "<": the value keeps the quote (so "true means false)',
    lines: ['<head>', '<debug start="true/>', TREE, '</head>'],
    check: (c) => assert.equal(c.debug, false),
    warnings: [
      '2:8: start=""true" means false: only the exact string "true" enables',
      '2:14: the " quote of start= on <debug> is not closed before the next "<": the value is "\\"true" (as sersync read it)',
    ],
  },
  {
    name: 'an attribute without a value: ignored (sersync stopped when it read one)',
    lines: ['<head>', '<debug start/>', TREE, '</head>'],
    check: (c) => assert.equal(c.debug, false),
    warnings: ['2:8: attribute "start" on <debug> has no value: ignored (sersync stopped when it read one)'],
  },
  {
    name: 'a repeated attribute: the first one counts',
    lines: ['<head>', '<host hostip="1.1.1.1" hostip="2.2.2.2"/>', TREE, '</head>'],
    check: (c) => assert.equal(c.host.ip, '1.1.1.1'),
    warnings: ['2:24: duplicate attribute "hostip" on <host> ignored: the first one (column 7) is used'],
  },
  {
    name: 'names in another case: matched regardless of case, as sersync did',
    lines: [
      '<Head>',
      '<Sersync><LocalPath Watch="/w"><remote ip="h" name="m"/></LOCALPATH></sersync>',
      '</HEAD>',
    ],
    check: (c) => assert.equal(c.localpaths[0]?.watch, '/w'),
    warnings: [
      '1:1: <Head> is read as <head>: names match regardless of case (as in sersync)',
      '2:1: <Sersync> is read as <sersync>: names match regardless of case (as in sersync)',
      '2:10: <LocalPath> is read as <localpath>: names match regardless of case (as in sersync)',
      '2:21: "Watch" is read as "watch": names match regardless of case (as in sersync)',
      '2:57: </LOCALPATH> closes <LocalPath>: names match regardless of case (as in sersync)',
      '2:69: </sersync> closes <Sersync>: names match regardless of case (as in sersync)',
      '3:1: </HEAD> closes <Head>: names match regardless of case (as in sersync)',
    ],
  },
  {
    name: 'stray text between elements and outside <head> (a shell-style comment)',
    lines: ['# sersync config', '<head>', '  # the tree', TREE, '  debug = off >', '</head>', 'EOF'],
    check: (c) => assert.equal(c.localpaths.length, 1),
    warnings: [
      '1:1: text "# sersync config" outside <head> ignored',
      '3:3: text "# the tree" inside <head> ignored',
      '7:1: text "EOF" outside <head> ignored',
    ],
  },
  {
    name: 'other elements beside <head>: the <head> is used',
    lines: ['<config/>', '<head>', TREE, '</head>', '<tail/>'],
    check: (c) => assert.equal(c.localpaths.length, 1),
    warnings: [
      '1:1: <config> outside <head> ignored (sersync read only <head>)',
      '5:1: <tail> outside <head> ignored (sersync read only <head>)',
    ],
  },
  {
    name: 'white space after "<" and "</"',
    lines: ['< head>', TREE, '</ head >'],
    check: (c) => assert.equal(c.localpaths.length, 1),
    warnings: [
      '1:1: white space after "<" ignored (as sersync did)',
      '3:1: white space after "</" ignored (as sersync did)',
    ],
  },
  {
    name: 'entities in any case and character references; "--" inside a comment',
    lines: ['<head>', '<!-- a -- comment -->', '<host hostip="a&AMP;b&#x41;&#66;"/>', TREE, '</head>'],
    check: (c) => assert.equal(c.host.ip, 'a&bAB'),
    warnings: ['3:16: &AMP; is read as &amp; (as sersync did)'],
  },
  {
    name: 'a declaration or instruction that is not at the start',
    lines: ['<!-- generated -->', '<?xml version="1.0" encoding="ISO-8859-1"?>', '<head>', TREE, '</head>'],
    check: (c) => assert.equal(c.localpaths.length, 1),
    warnings: ['2:1: <?…?> ignored'],
  },
  {
    name: 'a NUL byte after </head>: the rest is ignored',
    lines: ['<head>', TREE, '</head>\0garbage & <'],
    check: (c) => assert.equal(c.localpaths.length, 1),
    warnings: ['3:8: a NUL byte: the rest of the file is ignored (as sersync did)'],
  },
];

for (const c of CASES) {
  test(`accepted as sersync did: ${c.name}`, () => {
    const config = parseConfig(c.lines.join('\n'), FILE);
    c.check(config);
    assert.deepEqual(
      config.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`),
      c.warnings,
    );
  });
}
