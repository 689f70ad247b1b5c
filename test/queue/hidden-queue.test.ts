/**
 * A user who cannot enter the system state directory, where root's daemon keeps its queue, is
 * told so by `queue stats` and `queue list`, never shown an empty queue of their own ("0 queued").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { queueFileFor, SYSTEM_STATE_DIR as SYSTEM_DIR } from '../../src/queue/state-dir.js';
import { openWorkStore } from '../../src/queue/store.js';
import { CLI, sersyncConfigXml, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

test(
  "queue stats and queue list as a user who cannot see root's queue: an error that says so",
  { skip: process.getuid?.() === 0 ? false : 'needs root, to make the queue a user cannot see' },
  async () => {
    const tmp = await tempDir('sersync-hidden-queue-');
    const created = !existsSync(SYSTEM_DIR);
    chmodSync(tmp.path, 0o755);
    const home = join(tmp.path, 'home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, 65534, 65534); // nobody's own home: one others may write would be refused
    const config = writeConfig(
      tmp.path,
      sersyncConfigXml({
        watch: join(tmp.path, 'W'),
        localTargets: [join(tmp.path, 'R')],
        failLog: join(tmp.path, 'f'),
      }),
    );
    const file = queueFileFor(SYSTEM_DIR, config);
    const cli = (wrapper: readonly string[], args: readonly string[]): SpawnSyncReturns<string> => {
      const argv = [...wrapper, process.execPath, CLI, ...args, '-o', config];
      return spawnSync(argv[0] ?? process.execPath, argv.slice(1), {
        encoding: 'utf8',
        env: { ...process.env, HOME: home, XDG_STATE_HOME: '' },
      });
    };
    try {
      // root's daemon keeps its queue in the system directory (mode 0700), with work in it
      assert.equal(cli([], ['queue', 'list']).status, 0);
      const store = openWorkStore(file);
      const ops = ['a', 'b', 'c'].map((path) => ({ kind: 'sync' as const, path }));
      store.fail(store.begin('127.0.0.1::m', join(tmp.path, 'W'), ops), { exitCode: 10, message: 'refused' });
      store.close();
      for (const args of [
        ['queue', 'stats'],
        ['queue', 'list'],
        ['queue', 'stats', '--json'],
      ]) {
        const r = cli(NOBODY, args);
        assert.equal(r.status, 4, `${args.join(' ')} as nobody:\n${r.stdout}`);
        assert.doesNotMatch(r.stdout, /queued: 0|queue is empty|"retry": 0/);
        assert.match(
          r.stderr,
          /this user \(uid 65534\) cannot see the daemon's retry queue: .*\/var\/lib\/sersync2 \(EACCES\) is closed to it.*Run this as root/,
        );
      }
      assert.match(cli([], ['queue', 'stats']).stdout, /queued: 3/, 'root sees it');
    } finally {
      for (const name of readdirSync(SYSTEM_DIR))
        if (name.startsWith(file.slice(SYSTEM_DIR.length + 1))) rmSync(join(SYSTEM_DIR, name));
      if (created && readdirSync(SYSTEM_DIR).length === 0) rmdirSync(SYSTEM_DIR);
      await tmp.remove();
    }
  },
);
