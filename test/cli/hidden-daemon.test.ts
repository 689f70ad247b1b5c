/**
 * A user who cannot enter the state directory where root's daemon listens (the system one, or one
 * named with --state-dir) is told by `status`, `resync` and `reopen-logs` that it cannot see the
 * daemon (exit 4), never "no sersync2 is running" or "cannot use state directory" (exit 1), which
 * would say, wrongly, that none runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { controlSocketFile } from '../../src/daemon/control.js';
import { SYSTEM_STATE_DIR } from '../../src/queue/state-dir.js';
import { CLI, sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
const HIDDEN =
  /this user \(uid 65534\) cannot see the daemon's control sockets?: .*\/var\/lib\/sersync2.* \(EACCES\) is closed to it \(permission denied\)\. Run this as root/;

/** A config replicating `dir`/W to `dir`/R. */
function configIn(dir: string): string {
  mkdirSync(join(dir, 'W'));
  return writeConfig(
    dir,
    sersyncConfigXml({ watch: join(dir, 'W'), localTargets: [join(dir, 'R')], failLog: join(dir, 'f') }),
  );
}

/** The CLI through `wrapper` (e.g. NOBODY), with `env` over ours. */
function runAs(
  wrapper: readonly string[],
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): SpawnSyncReturns<string> {
  const argv = [...wrapper, process.execPath, CLI, ...args];
  return spawnSync(argv[0] ?? process.execPath, argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

test(
  "status, resync and reopen-logs as a user who cannot see root's running daemon: exit 4 and why",
  { skip: process.getuid?.() === 0 ? false : 'needs root, to run a daemon a user cannot see' },
  async () => {
    const tmp = await tempDir('sersync-hidden-daemon-');
    const created = !existsSync(SYSTEM_STATE_DIR);
    chmodSync(tmp.path, 0o755);
    const home = join(tmp.path, 'home');
    mkdirSync(home, { mode: 0o777 });
    chmodSync(home, 0o777);
    const config = configIn(tmp.path);
    const cli = (wrapper: readonly string[], args: readonly string[]): SpawnSyncReturns<string> =>
      runAs(wrapper, args, { HOME: home, XDG_STATE_HOME: '' });
    try {
      // root's daemon, in the state directory root gets when none is named (mode 0700)
      const daemon = await startSersync(config, [], SYSTEM_STATE_DIR);
      try {
        for (const args of [['status'], ['status', '--json'], ['resync'], ['reopen-logs']]) {
          const r = cli(NOBODY, [...args, '-o', config]);
          assert.equal(r.status, 4, `${args.join(' ')} as nobody:\n${r.stdout}\n${r.stderr}`);
          assert.equal(r.stdout, '');
          assert.doesNotMatch(r.stderr, /no sersync2 is running/);
          assert.match(r.stderr, HIDDEN);
        }
        const root = cli([], ['status', '--json', '-o', config]);
        assert.equal(root.status, 0, root.stderr);
        assert.equal((JSON.parse(root.stdout) as { pid: number }).pid, daemon.child.pid, 'root sees it');
      } finally {
        assert.equal(await daemon.stop(), 0);
      }
      // stopped: root knows it, the user still cannot tell
      const root = cli([], ['status', '-o', config]);
      assert.equal(root.status, 1);
      assert.match(root.stderr, /no sersync2 is running/);
      assert.equal(cli(NOBODY, ['status', '-o', config]).status, 4);
    } finally {
      const prefix = controlSocketFile(SYSTEM_STATE_DIR, config)
        .slice(SYSTEM_STATE_DIR.length + 1)
        .slice(8, -5);
      for (const name of existsSync(SYSTEM_STATE_DIR) ? readdirSync(SYSTEM_STATE_DIR) : [])
        if (name.includes(prefix)) rmSync(join(SYSTEM_STATE_DIR, name), { recursive: true });
      if (created && existsSync(SYSTEM_STATE_DIR) && readdirSync(SYSTEM_STATE_DIR).length === 0)
        rmdirSync(SYSTEM_STATE_DIR);
      await tmp.remove();
    }
  },
);

test(
  "status, resync and reopen-logs naming root's state directory, as a user who cannot enter it: exit 4 and why",
  { skip: process.getuid?.() === 0 ? false : 'needs root, to run a daemon a user cannot see' },
  async () => {
    const tmp = await tempDir('sersync-hidden-named-');
    chmodSync(tmp.path, 0o755);
    const state = join(tmp.path, 'state'); // made mode 0700 by the daemon
    const config = configIn(tmp.path);
    const cli = (wrapper: readonly string[], args: readonly string[]): SpawnSyncReturns<string> =>
      runAs(wrapper, args, { HOME: tmp.path });
    try {
      const daemon = await startSersync(config, [], state);
      try {
        assert.equal(statSync(state).mode & 0o777, 0o700);
        for (const args of [['status'], ['resync'], ['reopen-logs']]) {
          const r = cli(NOBODY, [...args, '-o', config, '--state-dir', state]);
          assert.equal(r.status, 4, `${args.join(' ')} as nobody:\n${r.stdout}\n${r.stderr}`);
          assert.doesNotMatch(r.stderr, /no sersync2 is running|cannot use state directory/);
          assert.match(
            r.stderr,
            /cannot see the daemon's control sockets?: .*\/state.* \(EACCES\) is closed to it/,
          );
        }
        const root = cli([], ['status', '--json', '-o', config, '--state-dir', state]);
        assert.equal(root.status, 0, root.stderr);
        assert.equal((JSON.parse(root.stdout) as { pid: number }).pid, daemon.child.pid);
      } finally {
        assert.equal(await daemon.stop(), 0);
      }
      // asking makes nothing: a state directory that does not exist is not created, and none runs there
      const nowhere = join(tmp.path, 'nowhere');
      const r = cli([], ['status', '-o', config, '--state-dir', nowhere]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no sersync2 is running/);
      assert.equal(existsSync(nowhere), false);
    } finally {
      await tmp.remove();
    }
  },
);
