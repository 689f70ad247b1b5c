/**
 * G23: the crontab's full sync, on an injected clock, through the real replicator (watchers,
 * lanes, pool) to a real rsync daemon: the crontab filter's rsync globs keep files out of it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CrontabSettings } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import { startCrontab } from '../../src/schedule/crontab.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { Replicator } from '../../src/sync/replicator.js';
import { createWatcher } from '../../src/watch/index.js';
import { daemonRemote, testConfig } from '../helpers/config.js';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';

let daemon: RsyncDaemon;
before(async () => {
  daemon = await startRsyncDaemon();
});
after(async () => {
  await disposeRsyncDaemon(daemon);
});

function write(root: string, files: Readonly<Record<string, string>>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}

test('G23: crontab schedule="1" runs a full sync after a minute, and the crontab filter keeps *.php and info/* out', async () => {
  const src = await tempDir();
  rmSync(daemon.dir, { recursive: true, force: true });
  mkdirSync(daemon.dir);
  write(src.path, {
    'index.html': 'i',
    'a.php': '<?php',
    'sub/b.php': '<?php',
    'sub/keep.txt': 'k',
    'info/i.txt': 'info',
  });
  write(daemon.dir, { 'old.php': 'replica only, excluded: protected', 'stale.txt': 'replica only: deleted' });
  const crontab: CrontabSettings = {
    enabled: true,
    scheduleMinutes: 1,
    cron: null,
    filter: { enabled: true, excludes: ['*.php', 'info/*'] },
  };
  const remote = daemonRemote(daemon);
  const config = testConfig([{ watch: src.path, remotes: [remote] }], { daemon, overrides: { crontab } });
  const pool = new RsyncPool(4);
  const replicator = new Replicator({
    config,
    store: createMemoryWorkStore(),
    pool,
    log: silentLogger,
    plugin: null,
    createWatcher: (opts) => createWatcher('auto', opts),
  });
  let clock = 1_000_000;
  const cron = startCrontab(
    crontab,
    () => replicator.resync(),
    silentLogger,
    () => clock,
    false,
  );
  assert.ok(cron !== null);
  try {
    await replicator.start({ fullSync: false });
    const receivedBefore = (await daemon.received()).length;
    clock += 59_000;
    cron.tick();
    await replicator.idle();
    assert.equal((await daemon.received()).length, receivedBefore, 'nothing before the minute is up');
    assert.equal(existsSync(join(daemon.dir, 'index.html')), false);

    clock += 1_000;
    cron.tick();
    await replicator.idle();
    const received = (await daemon.received()).slice(receivedBefore);
    assert.deepEqual(received.sort(), ['index.html', 'sub/keep.txt']);
    assert.equal(readFileSync(join(daemon.dir, 'sub/keep.txt'), 'utf8'), 'k');
    assert.equal(existsSync(join(daemon.dir, 'info/i.txt')), false);
    assert.equal(
      existsSync(join(daemon.dir, 'old.php')),
      true,
      'an excluded name is protected from --delete',
    );
    assert.equal(
      existsSync(join(daemon.dir, 'stale.txt')),
      false,
      'the full sync deletes (inotify/delete on)',
    );
  } finally {
    cron.stop();
    await replicator.stop();
    await pool.close();
    await src.remove();
  }
});
