/** Only what a command needs is loaded: `--version`, `check` and `queue` stay light. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { commandWord, createProgram } from '../../src/cli/program.js';
import { CLI, localReplicaSetup, startSersync } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';
import { tempDir } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/**
 * Inside the shipped bundle, packages show only by what they do: piscina by the thread it starts,
 * better-sqlite3 by loading its addon (by path, from node_modules).
 */
const BUNDLE_SIGNS: Record<string, string> = { piscina: 'thread', 'better-sqlite3': 'better-sqlite3' };
const SHIPPED = fileURLToPath(new URL('../../../confxml.xml', import.meta.url));

test('the shipped bundle is strict-mode code, as the modules it is made of', () => {
  // A banner before esbuild's own "use strict" would turn that into a plain string expression.
  assert.match(readFileSync(CLI, 'utf8'), /^#![^\n]*\n'use strict';/);
});

test('commandWord finds the subcommand past the options and their values', () => {
  const program = createProgram();
  const table: [string[], string | null][] = [
    [['--version'], null],
    [[], null],
    [['-d', '-r', '-o', 'check'], null], // "check" is the config file here
    [['-dro', 'queue'], null],
    [['-dro', 'conf.xml', 'queue', 'list'], 'queue'],
    [['-oconf.xml', 'check'], 'check'],
    [['--config', 'status', 'status'], 'status'],
    [['--config=status', 'resync'], 'resync'],
    [['--state-dir', '/s', '-n', '4', 'check', '--json'], 'check'],
    [['-m', 'command', 'chek'], 'chek'],
    [['--', 'check'], 'check'],
  ];
  for (const [argv, word] of table) assert.equal(commandWord(program, argv), word, argv.join(' '));
});

describe('modules loaded per command', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let hooks: string;
  let requires: string;
  before(async () => {
    tmp = await tempDir();
    // A module hook that names every package resolved (each once) on stderr.
    const resolver = join(tmp.path, 'resolver.mjs');
    writeFileSync(
      resolver,
      `export async function resolve(s, c, next) {
        const r = await next(s, c);
        const m = /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(r.url);
        process.stderr.write(m ? 'package: ' + m[1] + '\\n' : 'module: ' + r.url + '\\n');
        return r;
      }`,
    );
    hooks = join(tmp.path, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(resolver).href)});`,
    );
    // The shipped bundle is CommonJS: its require() calls go past the hook above, so they are named
    // too, and so is every worker thread started.
    requires = join(tmp.path, 'requires.cjs');
    writeFileSync(
      requires,
      `const threads = require('node:worker_threads');
      const Worker = threads.Worker;
      threads.Worker = class extends Worker {
        constructor(file, ...rest) {
          process.stderr.write('package: thread ' + file + '\\n');
          super(file, ...rest);
        }
      };
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        const file = resolve.call(this, request, ...rest);
        const m = /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(file);
        if (m) process.stderr.write('package: ' + m[1] + '\\n');
        return file;
      };`,
    );
  });
  after(() => tmp.remove());

  const packagesOf = (main: string, args: string[]): Set<string> => {
    const run = spawnSync(process.execPath, ['--import', hooks, '--require', requires, main, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    if (main === MAIN) assert.match(run.stderr, /^module: .*main\.js$/m, 'the hook sees the modules');
    return new Set([...run.stderr.matchAll(/^package: (\S+)/gm)].map((m) => m[1] ?? ''));
  };

  const cases: [string, string[], string[]][] = [
    ['--version', ['--version'], ['piscina', 'better-sqlite3', 'chokidar', 'pino', 'fast-xml-parser']],
    ['check', ['check', '-o', SHIPPED], ['piscina', 'better-sqlite3', 'chokidar', 'pino']],
    ['queue stats', ['queue', 'stats', '-o', SHIPPED, '--state-dir', 'STATE'], ['piscina', 'chokidar']],
  ];
  const argsOf = (args: string[]): string[] => args.map((a) => (a === 'STATE' ? join(tmp.path, 'state') : a));
  for (const [name, args, absent] of cases) {
    test(`${name} does not load ${absent.join(', ')}`, () => {
      const loaded = packagesOf(MAIN, argsOf(args));
      assert.ok(loaded.has('commander'), 'the hook sees the packages');
      assert.deepEqual(
        absent.filter((p) => loaded.has(p)),
        [],
      );
    });
    const signs = absent.flatMap((p) => BUNDLE_SIGNS[p] ?? []);
    if (signs.length > 0) {
      test(`${name}, from the shipped bundle, shows none of: ${signs.join(', ')}`, () => {
        const loaded = packagesOf(CLI, argsOf(args));
        assert.deepEqual(
          signs.filter((p) => loaded.has(p)),
          [],
        );
      });
    }
  }
  test('the replicator, from the shipped bundle, runs rsync on a thread (so the hook sees threads)', async () => {
    const { src, replica, state, config } = localReplicaSetup(join(tmp.path, 'replicate'));
    const run = await startSersync(config, [], state, {
      env: { NODE_OPTIONS: `--require ${requires}` },
    });
    try {
      writeFileSync(join(src, 'new.txt'), 'x');
      await eventually(() => existsSync(join(replica, 'new.txt')));
    } finally {
      await run.stop();
    }
    assert.match(run.stderr(), /^package: thread .*piscina\.cjs$/m);
  });
  test('queue stats, from the shipped bundle, loads SQLite (so the hook sees what the bundle loads)', () => {
    assert.ok(
      packagesOf(CLI, argsOf(['queue', 'stats', '-o', SHIPPED, '--state-dir', 'STATE'])).has(
        'better-sqlite3',
      ),
    );
  });
});
