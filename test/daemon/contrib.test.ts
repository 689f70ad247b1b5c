/**
 * The shipped operator files: the systemd unit passes `systemd-analyze verify`, the logrotate
 * snippet rotates a running daemon's log without losing a line, and the package contains what a
 * global install needs to build and run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, localReplicaSetup } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';
import { daemonFiles, runCli, stopDetached } from './cli-run.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const UNIT = join(ROOT, 'contrib', 'sersync2.service');
const LOGROTATE = join(ROOT, 'contrib', 'logrotate');

function missing(tool: string): string | undefined {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return r.error === undefined ? undefined : `${tool} is not installed here`;
}

test('systemd: the unit passes systemd-analyze verify', { skip: missing('systemd-analyze') }, async () => {
  const tmp = await tempDir('sersync-unit-');
  try {
    // verify checks that ExecStart exists: point it at this checkout's build instead of the global
    // install's (.ci/run verifies the unit as shipped after `npm install -g`, man page included)
    const unit = readFileSync(UNIT, 'utf8').replace(
      /^ExecStart=\/usr\/bin\/sersync2 /m,
      `ExecStart=${process.execPath} ${CLI} `,
    );
    const file = join(tmp.path, 'sersync2.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warnings either');
  } finally {
    await tmp.remove();
  }
});

test('systemd: foreground, reload by SIGHUP, a clean stop reaches sersync2 alone, state dir writable', () => {
  const unit = readFileSync(UNIT, 'utf8');
  const setting = (key: string): string[] =>
    [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] ?? '');
  const [execStart] = setting('ExecStart');
  assert.ok(execStart !== undefined);
  assert.doesNotMatch(execStart, /\s-d\b/, 'systemd supervises a foreground process');
  assert.deepEqual(setting('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.deepEqual(setting('KillMode'), ['mixed'], 'SIGTERM must not kill the rsyncs in flight');
  assert.deepEqual(setting('Restart'), ['on-failure']);
  assert.ok(setting('ReadWritePaths').join(' ').split(/\s+/).includes('/var/lib/sersync2'));
  assert.deepEqual(setting('StateDirectory'), ['sersync2']);
});

test(
  'logrotate: the snippet rotates a running daemon, which goes on logging into the new file; a stale pid file is not signalled',
  { skip: missing('logrotate') },
  async () => {
    const tmp = await tempDir('sersync-logrotate-');
    const { src, state, config } = localReplicaSetup(tmp.path);
    const started = await runCli(['-d', '-o', config, '--state-dir', state]);
    assert.equal(started.code, 0, started.stderr);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    // A daemon killed with -9 left its pid file; the pid now belongs to a stranger (SIGUSR1 ends it).
    const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
    writeFileSync(join(state, 'sersync2-killed.xml-0badc0de.pid'), `${stranger.pid ?? 0}\n`);
    try {
      const { log } = daemonFiles(state, config);
      const conf = join(tmp.path, 'logrotate.conf');
      const snippet = readFileSync(LOGROTATE, 'utf8')
        .replaceAll('/var/lib/sersync2', state)
        .replace('/usr/local/bin/sersync2', `${process.execPath} ${CLI}`);
      writeFileSync(conf, snippet, { mode: 0o644 });
      const r = spawnSync('logrotate', ['-f', '-s', join(tmp.path, 'logrotate.status'), conf], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(existsSync(`${log}.1`), 'the old log was moved aside');
      writeFileSync(join(src, 'after-rotation.txt'), 'x');
      await eventually(
        () => existsSync(log) && readFileSync(log, 'utf8').includes('"msg":"synced"'),
        10_000,
        'a log line in the new file',
      );
      assert.ok(
        !readFileSync(`${log}.1`, 'utf8').includes('"msg":"synced"'),
        'nothing written to the old one',
      );
      assert.equal(stranger.exitCode, null, 'the process a stale pid file names was signalled');
      assert.equal(stranger.signalCode, null, 'the process a stale pid file names was signalled');
    } finally {
      stranger.kill();
      await stopDetached(pid);
      await tmp.remove();
    }
  },
);

test('package: npm pack ships the built program and the native sources, not the tests or a build', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const [pack] = JSON.parse(r.stdout) as [{ files: { path: string }[] }];
  const files = new Set(pack.files.map((f) => f.path));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    man: string[];
  };
  for (const bin of Object.values(pkg.bin)) assert.ok(files.has(bin), `bin ${bin}`);
  for (const page of pkg.man) assert.ok(files.has(page.replace(/^\.\//, '')), `man page ${page}`);
  for (const needed of [
    'dist/workers/rsync.js',
    'native/binding.gyp',
    'native/inotify.c',
    'confxml.xml',
    'contrib/sersync2.service',
    'contrib/logrotate',
    'contrib/prometheus/sersync2-alerts.yml',
    'contrib/grafana/sersync2-dashboard.json',
    'man/sersync2.1',
    'docs/operations.md',
  ])
    assert.ok(files.has(needed), needed);
  const unwanted = [...files].filter((f) => f.startsWith('native/build/') || f.startsWith('dist/test/'));
  assert.deepEqual(unwanted, []);
});
