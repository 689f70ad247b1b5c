/** The chokidar fallback is never silent: what `check`, the start and status say about the watcher. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describeWatcher } from '../../src/watch/index.js';
import { loadBindingFrom } from '../../src/watch/native.js';
import { runCli } from '../daemon/cli-run.js';
import { sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { CLI } from '../helpers/sersync.js';
import type { DaemonStatus } from '../../src/daemon/status.js';

test('describeWatcher: inotify when the binding loads; the fallback said loudly, with the fix', () => {
  const missing = loadBindingFrom('/nonexistent/sersync_inotify.node');
  assert.deepEqual(describeWatcher('auto', { ok: true, binding: {} as never }), {
    runs: 'inotify',
    warning: null,
  });
  const fallback = describeWatcher('auto', missing);
  assert.equal(fallback.runs, 'chokidar');
  assert.match(fallback.warning ?? '', /native inotify binding is not available.*nonexistent/);
  assert.match(fallback.warning ?? '', /files written into a new directory at once can be missed/);
  assert.match(fallback.warning ?? '', /npm rebuild/);
  assert.deepEqual(describeWatcher('inotify', missing).runs, null);
  assert.match(describeWatcher('chokidar').warning ?? '', /chokidar cannot guarantee/);
});

test('chokidar watching: check warns, the start warns, status says fallback-watcher', async () => {
  const tmp = await tempDir();
  try {
    const src = join(tmp.path, 'src');
    mkdirSync(src);
    const xml = sersyncConfigXml({
      watch: src,
      localTargets: [join(tmp.path, 'replica')],
      failLog: join(tmp.path, 'fail.sh'),
    }).replace('<fileSystem xfs="false"/>', '<fileSystem xfs="false" watcher="chokidar"/>');
    const config = writeConfig(tmp.path, xml);
    const state = join(tmp.path, 'state');
    const check = await runCli(['check', '-o', config, '--state-dir', state]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^ {2}runs {10}chokidar$/m);
    assert.match(check.stdout, /^WARNING: watcher="chokidar" is set: chokidar cannot guarantee/m);
    const proc = await startSersync(config, [], state);
    try {
      assert.match(proc.stdout(), /^WARNING: .*chokidar cannot guarantee/m);
      const status = spawnSync(
        process.execPath,
        [CLI, 'status', '--json', '-o', config, '--state-dir', state],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(status.status, 0, status.stderr);
      const [tree] = (JSON.parse(status.stdout) as DaemonStatus).trees;
      assert.ok(tree !== undefined);
      assert.equal(tree.watcher, 'chokidar');
      assert.deepEqual(tree.degraded, ['fallback-watcher']);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  } finally {
    await tmp.remove();
  }
});
