/**
 * The config cannot be used against the host: a local replica inside its own tree through a
 * link, a password file named through a link, a command plugin that runs the tree's files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { CLI } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';

test('a local replica inside its own tree through a symlink alias is refused, by check too', async () => {
  const dir = await tempDir('sersync-boundary-');
  try {
    const tree = join(dir.path, 'tree');
    const alias = join(dir.path, 'alias');
    mkdirSync(tree);
    symlinkSync(tree, alias);
    const file = join(dir.path, 'confxml.xml');
    const remote = `<remote path="${alias}/replica"/>`;
    writeFileSync(file, `<head><sersync><localpath watch="${tree}">\n${remote}</localpath></sersync></head>`);
    const expected =
      `${file}:2:1: remote path ${alias}/replica lies inside the watched tree ${tree} ` +
      `(through a symbolic link: ${tree}/replica is inside ${tree}): it would copy itself`;
    assert.throws(
      () => loadConfig(file),
      (err: unknown) => err instanceof ConfigError && err.message === expected,
    );
    const r = spawnSync(process.execPath, [CLI, 'check', '-o', file], { encoding: 'utf8', timeout: 30_000 });
    assert.deepEqual([r.status, r.stderr], [1, `sersync2: ${expected}\n`]);
    // The watch named through the alias, the replica through the real path: the same.
    writeFileSync(
      file,
      `<head><sersync><localpath watch="${alias}">\n<remote path="${tree}/r"/></localpath></sersync></head>`,
    );
    assert.throws(() => loadConfig(file), /lies inside the watched tree .* \(through a symbolic link/);
  } finally {
    await dir.remove();
  }
});

test('a local replica that holds a watched tree (its parent, /, through a link, another tree) is refused, by check and the start too; a sibling is not', async () => {
  const dir = await tempDir('sersync-boundary-');
  try {
    const data = join(dir.path, 'data');
    const tree = join(data, 'www');
    const other = join(dir.path, 'other');
    mkdirSync(tree, { recursive: true });
    mkdirSync(other);
    writeFileSync(join(tree, 'index.html'), 'the tree');
    const alias = join(dir.path, 'alias');
    symlinkSync(data, alias);
    const file = join(dir.path, 'confxml.xml');
    const config = (...trees: [watch: string, replica: string][]): string =>
      `<head><sersync>${trees.map(([w, p]) => `<localpath watch="${w}">\n<remote path="${p}"/></localpath>`).join('')}</sersync></head>`;
    const holds = (replica: string, watch: string, how = ''): string =>
      `remote path ${replica} holds the watched tree ${watch}${how}: rsync would write the tree into itself, ` +
      'and a full sync with --delete would delete the tree itself';
    const cases: [xml: string, message: string][] = [
      [config([tree, data]), `${file}:2:1: ${holds(data, tree)}`],
      [config([tree, '/']), `${file}:2:1: ${holds('/', tree)}`],
      [
        config([tree, alias]),
        `${file}:2:1: ${holds(alias, tree, ` (through a symbolic link: ${tree} is inside ${data})`)}`,
      ],
      [
        config([other, join(other, '..', 'data')], [tree, join(dir.path, 'replica')]),
        `${file}:2:1: ${holds(data, tree)}`,
      ],
    ];
    for (const [xml, message] of cases) {
      writeFileSync(file, xml);
      assert.throws(
        () => loadConfig(file),
        (err: unknown) => err instanceof ConfigError && err.message === message,
        xml,
      );
      const check = spawnSync(process.execPath, [CLI, 'check', '-o', file], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.deepEqual([check.status, check.stderr], [1, `sersync2: ${message}\n`]);
      const start = spawnSync(
        process.execPath,
        [CLI, '-r', '-o', file, '--state-dir', join(dir.path, 'state')],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      assert.equal(start.status, 1, start.stderr);
      assert.ok(start.stderr.includes(message), start.stderr);
    }
    assert.equal(readFileSync(join(tree, 'index.html'), 'utf8'), 'the tree', 'the tree is intact');
    writeFileSync(file, config([tree, `${tree}-replica`]));
    assert.deepEqual(loadConfig(file).localpaths[0]?.remotes[0]?.target, {
      kind: 'local',
      path: `${tree}-replica`,
    });
  } finally {
    await dir.remove();
  }
});

test('local replicas that copy trees into each other (a ring of two or three, also through a link) are refused; a replica in another tree that copies nothing back is not', async () => {
  const dir = await tempDir('sersync-boundary-');
  try {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir.path, n));
    for (const t of [a, b, c]) mkdirSync(t ?? '');
    const alias = join(dir.path, 'alias-a');
    symlinkSync(a ?? '', alias);
    const file = join(dir.path, 'confxml.xml');
    const config = (...trees: [watch: string, replica: string][]): string =>
      `<head><sersync>${trees.map(([w, p]) => `<localpath watch="${w}">\n<remote path="${p}"/></localpath>`).join('')}</sersync></head>`;
    const ring = (...watches: string[]): RegExp =>
      new RegExp(
        `^${file}:2:1: local replicas copy the watched trees into each other \\(${watches.join(' → ')}\\): every change would be copied round without end`,
      );
    const [A = '', B = '', C = ''] = [a, b, c];
    const cases: [xml: string, message: RegExp][] = [
      [config([A, join(B, 'from-a')], [B, join(A, 'from-b')]), ring(A, B, A)],
      [config([A, join(B, 'from-a')], [B, join(C, 'from-b')], [C, join(A, 'from-c')]), ring(A, B, C, A)],
      [config([A, join(B, 'from-a')], [B, join(alias, 'from-b')]), ring(A, B, A)],
    ];
    for (const [xml, message] of cases) {
      writeFileSync(file, xml);
      assert.throws(
        () => loadConfig(file),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        xml,
      );
    }
    writeFileSync(file, config([A, join(B, 'from-a')], [B, join(dir.path, 'replica-b')]));
    assert.equal(loadConfig(file).localpaths.length, 2);
  } finally {
    await dir.remove();
  }
});

test('a password file that is a symlink: the link and its target are named, no chmod of the link', async () => {
  const dir = await tempDir('sersync-boundary-');
  try {
    const target = join(dir.path, 'shadow');
    writeFileSync(target, 'root:x:\n', { mode: 0o640 });
    const link = join(dir.path, 'rsync.pas');
    symlinkSync(target, link);
    const file = join(dir.path, 'confxml.xml');
    writeFileSync(
      file,
      `<head><sersync><localpath watch="/w"><remote ip="10.0.0.1" name="m"/></localpath>` +
        `<rsync><auth start="true" users="u" passwordfile="${link}"/></rsync></sersync></head>`,
    );
    const messages = loadConfig(file).warnings.map((w) => w.message);
    assert.deepEqual(messages, [
      `passwordfile ${link} is a symbolic link to ${target}, which can be read by its group (mode 0640): ` +
        `the password is not private; check that the link points at the rsync password file before ` +
        `changing ${target} (never chmod or chown the link)`,
    ]);
    assert.ok(!messages.join('\n').includes('chmod 600'));
  } finally {
    await dir.remove();
  }
});

const withCommand = (param: string, on = 'true'): string =>
  `<head><sersync><localpath watch="/w"><remote ip="h" name="m"/></localpath>` +
  `<plugin start="${on}" name="command"/></sersync>\n<plugin name="command">${param}</plugin></head>`;

test('a command plugin in use that runs an interpreter on the changed files is warned about', () => {
  const warnings = (xml: string): string[] =>
    parseConfig(xml, '/c.xml').warnings.map((w) => `${w.line}:${w.column}: ${w.message}`);
  const runs = (program: string): string =>
    `2:24: the command plugin runs ${program} on each changed file: every file written into the watched ` +
    `tree is run as a program by the user sersync2 runs as (root), so anyone who can write there ` +
    `(uploads, www-data) can run commands as root (sersync did the same); run a fixed script ` +
    `instead, with the path as its argument, or limit the files with <filter start="true">`;
  assert.deepEqual(warnings(withCommand('<param prefix="/bin/sh" suffix="" ignoreError="true"/>')), [
    runs('/bin/sh'),
  ]);
  assert.deepEqual(warnings(withCommand('<param prefix="/usr/bin/python3"/>')), [runs('/usr/bin/python3')]);
  // The default prefix is /bin/sh too.
  assert.equal(warnings(withCommand('<param suffix=""/>')).length, 1);
  assert.deepEqual(warnings(withCommand('<param prefix="/opt/hooks/changed.sh"/>')), []);
  assert.deepEqual(warnings(withCommand(`<param prefix="/bin/sh -c 'logger changed'"/>`)), []);
  assert.deepEqual(warnings(withCommand('<param prefix="/bin/sh"/>', 'false')), [], 'not in use');
});
