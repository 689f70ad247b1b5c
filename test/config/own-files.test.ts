/**
 * sersync2's own files (state directory, log, pid file) inside a watched tree would be replicated
 * and rewrite themselves without end; inside a local replica a full sync deletes them. Refused: by
 * the pure check, by `check`, at the start and by a reload. The fail log, which sersync's configs
 * put where they like (`/tmp` with `watch="/tmp"`), is kept out of its tree's replication instead.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { misplacedOwnFile } from '../../src/config/own-files.js';
import type { LocalPath } from '../../src/config/types.js';
import { compilePathFilter, filterSpecOf } from '../../src/filter/path-filter.js';
import { runCli } from '../daemon/cli-run.js';
import { CLI, startSersync } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';

const TREE_EFFECT =
  'it would be replicated, and each write to it would be a change to replicate, which writes it again: without end';
const REPLICA_EFFECT = 'a full sync with --delete would delete it';
const FIX = 'move it outside every watched tree and local replica';

function tree(watch: string, ...replicas: string[]): LocalPath {
  return { watch, remotes: replicas.map((path) => ({ id: path, target: { kind: 'local', path } })) };
}

test('misplacedOwnFile: inside a tree or a local replica, by name or through a link; beside or above them is fine', async () => {
  const dir = await tempDir('sersync-own-files-');
  try {
    const src = join(dir.path, 'src');
    const rep = join(dir.path, 'rep');
    mkdirSync(src);
    symlinkSync(src, join(dir.path, 'alias'));
    const trees = [tree(src, rep)];
    const state = (path: string): { what: string; from: string | null; path: string } => ({
      what: 'the state directory',
      from: '<state dir>',
      path,
    });
    assert.equal(
      misplacedOwnFile([state(join(src, '.state'))], trees),
      `the state directory ${src}/.state (<state dir>) lies inside the watched tree ${src}: ${TREE_EFFECT}; ${FIX}`,
    );
    assert.equal(
      misplacedOwnFile([{ what: 'the log file', from: null, path: join(rep, 'x.log') }], trees),
      `the log file ${rep}/x.log lies inside the local replica ${rep}: ${REPLICA_EFFECT}; ${FIX}`,
    );
    assert.equal(
      misplacedOwnFile([state(join(dir.path, 'alias', 'state'))], trees),
      `the state directory ${dir.path}/alias/state (<state dir>) lies inside the watched tree ${src} ` +
        `(through a symbolic link: ${src}/state is inside ${src}): ${TREE_EFFECT}; ${FIX}`,
    );
    // Beside the tree, a name that only shares its prefix, and a directory that holds the tree.
    for (const path of [join(dir.path, 'state'), `${src}-state`, dir.path])
      assert.equal(misplacedOwnFile([state(path)], trees), null, path);
  } finally {
    await dir.remove();
  }
});

test('a state directory, log file or pid file in a watched tree or a local replica stops the start (with -d too) and check; nothing is made there', async () => {
  const dir = await tempDir('sersync-own-files-');
  try {
    const src = join(dir.path, 'src');
    const rep = join(dir.path, 'rep');
    mkdirSync(src);
    mkdirSync(rep);
    writeFileSync(join(src, 'index.html'), 'the tree');
    symlinkSync(src, join(dir.path, 'alias'));
    const file = join(dir.path, 'confxml.xml');
    const xml = (head: string): string =>
      `<head>${head}<sersync><localpath watch="${src}"><remote path="${rep}"/></localpath>` +
      `<failLog path="${dir.path}/fail.sh"/></sersync></head>`;
    const state = join(dir.path, 'state');
    const cases: [head: string, args: string[], message: string][] = [
      [
        `<state dir="${src}/.state"/>`,
        ['-r'],
        `the state directory ${src}/.state (<state dir>) lies inside the watched tree ${src}: ${TREE_EFFECT}; ${FIX}`,
      ],
      [
        '',
        ['-d', '--state-dir', join(rep, '.state')],
        `the state directory ${rep}/.state (--state-dir) lies inside the local replica ${rep}: ${REPLICA_EFFECT}; ${FIX}`,
      ],
      [
        '',
        ['--state-dir', state, '--log-file', join(dir.path, 'alias', 'sersync2.log')],
        `the log file ${dir.path}/alias/sersync2.log (--log-file) lies inside the watched tree ${src} ` +
          `(through a symbolic link: ${src}/sersync2.log is inside ${src}): ${TREE_EFFECT}; ${FIX}`,
      ],
      [
        '',
        ['-d', '--state-dir', state, '--pid-file', join(rep, 'sersync2.pid')],
        `the pid file ${rep}/sersync2.pid (--pid-file) lies inside the local replica ${rep}: ${REPLICA_EFFECT}; ${FIX}`,
      ],
    ];
    for (const [head, args, message] of cases) {
      writeFileSync(file, xml(head));
      const r = await runCli([...args, '-o', file], 30_000);
      assert.deepEqual([r.code, r.stderr], [1, `sersync2: ${message}\n`], args.join(' '));
      assert.deepEqual(readdirSync(src), ['index.html'], 'nothing made in the tree');
      assert.deepEqual(readdirSync(rep), [], 'nothing made in the replica');
    }
    writeFileSync(file, xml(`<state dir="${src}/.state"/>`));
    const check = await runCli(['check', '-o', file], 30_000);
    assert.equal(check.code, 1);
    assert.equal(
      check.stderr,
      `sersync2: sersync2 would not start: the state directory ${src}/.state (<state dir>) lies inside ` +
        `the watched tree ${src}: ${TREE_EFFECT}; ${FIX}\n`,
    );
    assert.doesNotMatch(check.stdout, /usable/);
  } finally {
    await dir.remove();
  }
});

test('a fail log in a watched tree is kept out of its replication, also through a link, and one in a local replica is warned about', async () => {
  const dir = await tempDir('sersync-own-files-');
  try {
    const src = join(dir.path, 'src');
    const rep = join(dir.path, 'rep');
    mkdirSync(join(src, 'log'), { recursive: true });
    symlinkSync(join(src, 'log'), join(dir.path, 'logs'));
    const file = join(dir.path, 'confxml.xml');
    const xml = (failLog: string): string =>
      `<head><sersync><localpath watch="${src}"><remote path="${rep}"/></localpath>\n` +
      `<failLog path="${failLog}" timeToExecute="60"/></sersync></head>`;
    const cases: [failLog: string, inTrees: { watch: string; path: string }[], warning: RegExp][] = [
      [
        `${src}/rsync_fail_log.sh`,
        [{ watch: src, path: 'rsync_fail_log.sh' }],
        /^the fail log \S+ lies inside the watched tree \S+: it is not replicated, and writing it is not a change/,
      ],
      [
        `${dir.path}/logs/fail.sh`,
        [{ watch: src, path: 'log/fail.sh' }],
        /lies inside the watched tree \S+ \(through a symbolic link: \S+\/src\/log\/fail\.sh is inside \S+\/src\): it is not replicated/,
      ],
      [
        `${rep}/fail.sh`,
        [],
        /lies inside the local replica \S+: a full sync with --delete deletes it, until the next failure writes it again$/,
      ],
    ];
    for (const [failLog, inTrees, warning] of cases) {
      writeFileSync(file, xml(failLog));
      const config = loadConfig(file);
      assert.deepEqual(config.failLog.inTrees, inTrees, failLog);
      assert.deepEqual(
        config.warnings.map((w) => [w.line, w.column]),
        [[2, 10]],
        failLog,
      );
      assert.match(config.warnings[0]?.message ?? '', warning);
      const filter = compilePathFilter(filterSpecOf(config, src));
      for (const { path } of inTrees) {
        assert.equal(filter(path, false), true, `${path} is not replicated`);
        assert.equal(
          filter(`${path.replace(/[^/]+$/, '')}.${path.replace(/^.*\//, '')}.0123456789ab.tmp`, false),
          true,
        );
      }
    }
    writeFileSync(file, xml(`${dir.path}/rsync_fail_log.sh`));
    assert.deepEqual(loadConfig(file).failLog.inTrees, []);
    assert.deepEqual(loadConfig(file).warnings, []);
  } finally {
    await dir.remove();
  }
});

interface ReloadStatus {
  readonly reloads: number;
  readonly reloadRefused: { readonly error: string } | null;
}

/** What `sersync2 status --json` says of reloads, asked in `state`. */
async function reloadStatus(file: string, state: string): Promise<ReloadStatus> {
  const r = await runCli(['status', '--json', '-o', file, '--state-dir', state], 30_000);
  return JSON.parse(r.stdout) as ReloadStatus;
}

test('a reload that would bring a tree over the state directory is refused; the running config stays and status says why', async () => {
  const dir = await tempDir('sersync-own-files-');
  try {
    const src = join(dir.path, 'src');
    const rep = join(dir.path, 'rep');
    const uploads = join(dir.path, 'uploads');
    const state = join(uploads, '.sersync2');
    mkdirSync(src);
    mkdirSync(uploads);
    const file = join(dir.path, 'confxml.xml');
    const localpath = (watch: string, replica: string): string =>
      `<localpath watch="${watch}"><remote path="${replica}"/></localpath>`;
    const xml = (trees: string): string =>
      `<head><sersync>${trees}<failLog path="${dir.path}/fail.sh"/></sersync></head>`;
    writeFileSync(file, xml(localpath(src, rep)));
    const proc = await startSersync(file, [], state);
    try {
      writeFileSync(file, xml(localpath(src, rep) + localpath(uploads, join(dir.path, 'uploads-rep'))));
      proc.child.kill('SIGHUP');
      const status = (): Promise<ReloadStatus> => reloadStatus(file, state);
      await eventually(async () => (await status()).reloadRefused !== null, 10_000, 'the refusal in status');
      const now = await status();
      assert.equal(now.reloads, 0);
      assert.equal(
        now.reloadRefused?.error,
        `the state directory ${state} (--state-dir) lies inside the watched tree ${uploads}: ${TREE_EFFECT}; ${FIX}`,
      );
      writeFileSync(join(src, 'after.txt'), 'the old config still replicates');
      await eventually(() => readdirSync(rep).includes('after.txt'), 10_000, 'after.txt on the replica');
      assert.equal(existsSync(join(dir.path, 'uploads-rep')), false, 'the refused tree was not replicated');
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  } finally {
    await dir.remove();
  }
});

test('a reload that would move the state directory (<state dir> changed, no --state-dir) is refused; the queue stays where it is', async () => {
  const dir = await tempDir('sersync-own-files-');
  try {
    const src = join(dir.path, 'src');
    const rep = join(dir.path, 'rep');
    mkdirSync(src);
    const [before, after] = [join(dir.path, 'state-a'), join(dir.path, 'state-b')];
    const file = join(dir.path, 'confxml.xml');
    const xml = (state: string): string =>
      `<head><state dir="${state}"/><sersync><localpath watch="${src}"><remote path="${rep}"/></localpath>` +
      `<failLog path="${dir.path}/fail.sh"/></sersync></head>`;
    writeFileSync(file, xml(before));
    const child = spawn(process.execPath, [CLI, '-o', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = once(child, 'exit');
    try {
      await eventually(() => /^watching \d+ directories/m.test(out), 15_000, 'sersync2 watching');
      writeFileSync(file, xml(after));
      child.kill('SIGHUP');
      const status = (): Promise<ReloadStatus> => reloadStatus(file, before);
      await eventually(async () => (await status()).reloadRefused !== null, 10_000, 'the refusal in status');
      assert.equal(
        (await status()).reloadRefused?.error,
        `the state directory would move from ${before} to ${after}; a reload cannot move the queue, restart sersync2`,
      );
      writeFileSync(join(src, 'after.txt'), 'the old config still replicates');
      await eventually(() => existsSync(join(rep, 'after.txt')), 10_000, 'after.txt on the replica');
      assert.equal(existsSync(after), false, 'nothing made where the refused config points');
    } finally {
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    }
  } finally {
    await dir.remove();
  }
});
