/**
 * sersync2's getopt form (`hdro:n:m:`) → RunOptions, through the real program with the
 * replicator replaced by a recorder (the engine itself runs until stopped).
 */
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Config } from '../../src/config/types.js';
import { createProgram, runProgram } from '../../src/cli/program.js';
import type { RunOptions } from '../../src/cli/run.js';
import { tempDir } from '../helpers/tmp.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/sersync-2.5.4-confxml.xml', import.meta.url));
/** The fixture as a relative path, so that `-o` is resolved against the current directory like sersync did. */
const REL = relative(process.cwd(), FIXTURE);

async function parse(
  argv: readonly string[],
): Promise<{ code: number; options: RunOptions | null; config: Config | null }> {
  let options: RunOptions | null = null;
  let config: Config | null = null;
  const program = createProgram((c, o) => {
    config = c;
    options = o;
    return Promise.resolve(0);
  });
  const code = await runProgram(program, argv);
  return { code, options, config };
}

const BASE: RunOptions = {
  daemon: false,
  fullSyncAtStart: false,
  threads: 10,
  configFile: FIXTURE,
  pluginOnly: null,
  stateDir: null,
  logFile: null,
  pidFile: null,
};

const ACCEPTED: readonly (readonly [readonly string[], Partial<RunOptions>])[] = [
  [['-o', REL], {}],
  [[`-o${REL}`], {}],
  [['-dro', REL], { daemon: true, fullSyncAtStart: true }],
  [['-rdo', REL, '-n', '4'], { daemon: true, fullSyncAtStart: true, threads: 4 }],
  [['-dr', '-n', '4', '-o', REL], { daemon: true, fullSyncAtStart: true, threads: 4 }],
  [['-n', '0', '-o', REL], { threads: 10 }],
  [['-n3', '-o', REL], { threads: 3 }],
  [['-o', REL, '-m', 'command'], { pluginOnly: 'command' }],
  [['-m', 'refreshCDN', '-o', REL], { pluginOnly: 'refreshCDN' }],
  [['--state-dir', '/var/lib/sersync', '-d', '-o', REL], { daemon: true, stateDir: '/var/lib/sersync' }],
  [
    ['-d', '--pid-file', '/run/sersync2.pid', '--log-file', '/var/log/sersync2.log', '-o', REL],
    { daemon: true, pidFile: '/run/sersync2.pid', logFile: '/var/log/sersync2.log' },
  ],
  [
    ['--daemon', '--full-sync', '--threads', '2', '--config', REL],
    { daemon: true, fullSyncAtStart: true, threads: 2 },
  ],
];

for (const [argv, expected] of ACCEPTED) {
  test(`sersync2 ${argv.join(' ')}`, async () => {
    const { code, options, config } = await parse(argv);
    assert.equal(code, 0);
    assert.deepEqual(options, { ...BASE, ...expected });
    assert.equal(config?.file, FIXTURE);
  });
}

test('-o defaults to ./confxml.xml in the current directory', async () => {
  const dir = await tempDir();
  const cwd = process.cwd();
  try {
    await copyFile(FIXTURE, join(dir.path, 'confxml.xml'));
    process.chdir(dir.path);
    const { code, options } = await parse(['-r']);
    assert.equal(code, 0);
    assert.deepEqual(options, { ...BASE, fullSyncAtStart: true, configFile: join(dir.path, 'confxml.xml') });
  } finally {
    process.chdir(cwd);
    await dir.remove();
  }
});

test('-m for a plugin whose section is missing is refused before anything runs', async () => {
  const { code, options } = await parse(['-m', 'http', '-o', REL]);
  assert.equal(code, 1);
  assert.equal(options, null);
});

for (const argv of [
  ['-o'],
  ['-x'],
  ['-n', 'many'],
  ['-n', '-1'],
  ['-m', 'ftp'],
  ['-o', ''],
  ['-d', 'extra'],
]) {
  test(`refused: sersync2 ${argv.join(' ')}`, async () => {
    const { code, options } = await parse(argv);
    assert.equal(code, 1);
    assert.equal(options, null);
  });
}
