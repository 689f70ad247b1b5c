/**
 * Size limits (docs/configuration.md "Limits"): a file past one is refused with its place, never
 * with a crash or a stack, and `check` describes a large but allowed file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { XML_LIMITS } from '../../src/config/limits.js';
import { parseConfig } from '../../src/config/load.js';
import { describeConfig } from '../../src/config/present.js';
import { ConfigError } from '../../src/errors.js';
import { CLI } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';

const FILE = '/etc/sersync/confxml.xml';
const TREE = '<sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath></sersync>';

/** A file with `n` filter excludes, one per line from line 3. */
function withExcludes(n: number): string {
  const excludes = Array.from({ length: n }, (_, i) => `<exclude expression="(.*)\\.x${i}"/>`);
  return ['<head>', TREE, '<filter start="true">', ...excludes, '</filter>', '</head>'].join('\n');
}

function refusal(xml: string): string {
  try {
    parseConfig(xml, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return assert.fail('accepted');
}

test('more elements than the limit: refused at the first element past it', () => {
  // <head>, <sersync>, <localpath>, <remote>, <filter> come first: the limit is reached 5 excludes early.
  const line = XML_LIMITS.elements - 5 + 4;
  assert.equal(
    refusal(withExcludes(XML_LIMITS.elements)),
    `${FILE}:${line}:1: malformed XML: more than ${XML_LIMITS.elements} elements (the limit, see docs/configuration.md)`,
  );
});

test('a value longer than the limit: refused at its attribute', () => {
  const long = 'a'.repeat(XML_LIMITS.valueChars + 1);
  assert.equal(
    refusal(`<head>\n<failLog path="${long}"/>\n${TREE}</head>`),
    `${FILE}:2:10: malformed XML: the value of path= is ${XML_LIMITS.valueChars + 1} characters long (the limit is ${XML_LIMITS.valueChars})`,
  );
});

test('a file longer than the limit: refused at the first character past it', () => {
  const pad = '<!-- padding -->\n'.repeat(XML_LIMITS.fileChars / 17 + 1);
  const message = refusal(`${pad}<head>${TREE}</head>`);
  assert.match(
    message,
    /^\/etc\/sersync\/confxml\.xml:\d+:\d+: malformed XML: the file is longer than 16777216 characters/,
  );
});

test('check describes 125,000 excludes, one line each, without running out of stack', () => {
  const config = parseConfig(withExcludes(10), FILE);
  const expression = '(.*)\\.x';
  const excludes = Array.from({ length: 125_000 }, () => ({ expression, regex: /^(?:(.*)\.x)$/ }));
  const lines = describeConfig({ ...config, filter: { enabled: true, excludes } }, null);
  assert.equal(lines.filter((l) => l.startsWith('  exclude       ')).length, 125_000);
});

test('sersync2 check on a 125,000-exclude file: one positioned message, exit 1, no stack', async () => {
  const dir = await tempDir('sersync-limits-');
  try {
    const file = join(dir.path, 'confxml.xml');
    writeFileSync(file, withExcludes(125_000));
    const r = spawnSync(process.execPath, [CLI, 'check', '-o', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr,
      `sersync2: ${file}:${XML_LIMITS.elements - 1}:1: malformed XML: more than ${XML_LIMITS.elements} elements (the limit, see docs/configuration.md)\n`,
    );
  } finally {
    await dir.remove();
  }
});
