/**
 * Hostile configuration files: 1,000 seeded mutations of the shipped configs through the loader,
 * wrong encodings, the parser's own limits, and a handful through the real `sersync2 check`.
 * Each one loads or fails with a `file:line:column` message: no crash, no hang, no stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { CLI } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { FUZZ_BASES, fuzzConfigs } from './cases/config-fuzz.js';
import { seedFrom } from '../helpers/prng.js';

const SHIPPED = readFileSync(FUZZ_BASES[0] ?? '', 'utf8');

test('1,000 mutated configs: each loads or fails with a file:line message, none crashes or hangs', (t) => {
  const seed = seedFrom(process.env.FAULT_SEED);
  t.diagnostic(`FAULT_SEED=${seed}`);
  const { loaded, refused } = fuzzConfigs(seed, 1000);
  t.diagnostic(`loaded ${loaded}, refused ${refused}`);
});

/** The ConfigError `fn` throws (it must throw one, positioned). */
function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.ok(err.line >= 1, `no line: ${err.message}`);
    return err;
  }
  assert.fail('the config was accepted');
}

test("the parser's limits are positioned config errors; DOCTYPE declarations and odd names change nothing", () => {
  const at = (xml: string): string => refusal(() => parseConfig(xml, '/c.xml')).message;
  const debug = '<debug start="false"/>';
  assert.match(
    at(SHIPPED.replace(debug, '<n>'.repeat(100) + '</n>'.repeat(100))),
    /^\/c\.xml:\d+:\d+: .*nested/,
  );
  // sersync's parser skips a DOCTYPE without applying it: an entity it declares is unknown.
  const doctype = '<!DOCTYPE head [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<head';
  assert.match(at(SHIPPED.replace('<head', doctype).replace(debug, '<debug start="&x;"/>')), /"&x;"/);
  const loaded = parseConfig(
    SHIPPED.replace('<head', doctype).replace(
      debug,
      '<__proto__ x="1"/><debug start="false" constructor="x"/>',
    ),
    '/c.xml',
  );
  assert.deepEqual(
    loaded.warnings.map((w) => w.message).filter((m) => /DOCTYPE|__proto__|constructor/.test(m)),
    [
      'the declarations in <!DOCTYPE> are not applied (as in sersync)',
      'unknown element <__proto__> inside <head> ignored',
      'unknown attribute "constructor" on <debug> ignored',
    ],
  );
  assert.equal(Object.getPrototypeOf(loaded), Object.prototype);
});

/** The shipped config with these bytes in a comment before `<head>`. */
function withBytes(bytes: readonly number[]): Buffer {
  const at = SHIPPED.indexOf('<head');
  return Buffer.concat([
    Buffer.from(`${SHIPPED.slice(0, at)}<!-- `),
    Buffer.from(bytes),
    Buffer.from(` -->\n${SHIPPED.slice(at)}`),
  ]);
}

test('wrong encodings: UTF-16 is named, Latin-1 and invalid UTF-8 load with a warning, binary is refused', async () => {
  const dir = await tempDir('sersync-faults-enc-');
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SHIPPED, 'utf16le')]);
  const cases: [string, Buffer, RegExp][] = [
    ['utf16le', utf16, /UTF-16/],
    ['utf16be', Buffer.from(utf16).swap16(), /UTF-16/],
    ['utf16-no-bom', Buffer.from(SHIPPED, 'utf16le'), /malformed XML/],
    ['latin1', Buffer.from(SHIPPED.replace('./demo/src', './demo/s\u00e9rc'), 'latin1'), /not UTF-8/],
    ['overlong', withBytes([0xc0, 0xaf, 0xed, 0xa0, 0x80]), /not UTF-8/], // an overlong '/', a surrogate
    ['nul', Buffer.from(SHIPPED.replace('<debug', '<de\u0000bug')), /malformed XML/],
    ['empty', Buffer.alloc(0), /malformed XML/],
    ['binary', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), /malformed XML/],
  ];
  try {
    for (const [name, bytes, expected] of cases) {
      const file = join(dir.path, `${name}.xml`);
      writeFileSync(file, bytes);
      let said: string;
      try {
        said = loadConfig(file)
          .warnings.map((w) => w.message)
          .join('\n');
      } catch (err) {
        said = refusal(() => {
          throw err;
        }).message;
      }
      assert.match(said, expected, name);
    }
  } finally {
    await dir.remove();
  }
});

test('a handful of hostile configs through the real sersync2 check: exit 0 or 1, one positioned message, no stack', async () => {
  const dir = await tempDir('sersync-faults-check-');
  const variants: Record<string, string | Buffer> = {
    cut: SHIPPED.slice(0, SHIPPED.length / 2),
    'port-huge': SHIPPED.replace('port="874"', 'port="99999999999999999999"').replace(
      '<userDefinedPort start="false"',
      '<userDefinedPort start="true"',
    ),
    'regex-invalid': SHIPPED.replace('<filter start="false"', '<filter start="true"').replace(
      '(.*)\\.svn',
      '(unclosed',
    ),
    nested: SHIPPED.replace('<debug start="false"/>', '<n>'.repeat(500) + '</n>'.repeat(500)),
    proto: SHIPPED.replace('<debug start="false"/>', '<__proto__/>'),
    utf16: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SHIPPED, 'utf16le')]),
    'no-remote': SHIPPED.replace(/<remote path="[^"]*"\/>/, ''),
    shipped: SHIPPED,
  };
  try {
    for (const [i, [name, text]] of Object.entries(variants).entries()) {
      const file = join(dir.path, `${name}.xml`);
      writeFileSync(file, text);
      for (const args of [i % 2 === 0 ? ['check'] : ['check', '--json']]) {
        const r = spawnSync(process.execPath, [CLI, ...args, '-o', file], {
          encoding: 'utf8',
          timeout: 20_000,
        });
        assert.ok(r.status === 0 || r.status === 1, `${name}: exit ${String(r.status)}`);
        assert.doesNotMatch(r.stderr, /^\s+at |internal error/m, `${name}: ${r.stderr}`);
        if (r.status === 0) continue;
        assert.match(
          r.stderr,
          new RegExp(`^sersync2: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: `),
          name,
        );
        assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one message`);
      }
    }
  } finally {
    await dir.remove();
  }
});
