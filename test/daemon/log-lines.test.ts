/**
 * The `-d` log is strict JSON lines through a representative run: a refused full sync, syncs, a
 * refused second start, a reload that turns `<debug>` on (which must take effect), a log reopen and
 * a stop. Every line parses as one JSON object with no key twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localReplicaSetup } from '../helpers/sersync.js';
import { parseStrictJson } from '../helpers/strict-json.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';
import { daemonFiles, runCli, stopDetached } from './cli-run.js';

test('the -d log of a representative run is JSON lines with no duplicate keys; a reload applies <debug>', async () => {
  const tmp = await tempDir('sersync-log-lines-');
  const { src, replica, state, config, rewrite } = localReplicaSetup(tmp.path);
  writeFileSync(join(replica, 'kept.txt'), 'an empty source must not delete this');
  const { log } = daemonFiles(state, config);
  const lines = (): Record<string, unknown>[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => parseStrictJson(l) as Record<string, unknown>);
  const has = (msg: RegExp): boolean => lines().some((o) => msg.test(String(o.msg)));
  const started = await runCli(['-d', '-r', '-o', config, '--state-dir', state]);
  assert.equal(started.code, 0, started.stderr);
  const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
  try {
    await eventually(() => has(/^refusing a full sync/), 15_000, 'the refused full sync');
    writeFileSync(join(src, 'a.txt'), 'a');
    await eventually(() => has(/^synced$/), 15_000, 'a sync');
    const second = await runCli(['-d', '-o', config, '--state-dir', state], 30_000);
    assert.equal(second.code, 1, second.stdout);
    assert.ok(has(/already running/), 'the refused second start is in the log');
    assert.ok(!has(/^execute command$/), 'debug lines before <debug> was on');

    rewrite({ debug: true });
    process.kill(pid, 'SIGHUP');
    await eventually(() => has(/^config reloaded/), 15_000, 'the reload');
    writeFileSync(join(src, 'b.txt'), 'b');
    await eventually(() => has(/^execute command$/), 15_000, 'a debug line after the reload');
    // and each run's end, with how it went
    await eventually(
      () =>
        lines().some((o) => o.msg === 'command done' && o.kind === 'send' && o.exit === 0 && o.files === 1),
      15_000,
      'the run of b.txt done',
    );
    const reopened = await runCli(['reopen-logs', '--state-dir', state]);
    assert.equal(reopened.stdout, `pid ${pid}: log reopened\n`, reopened.stderr);
  } finally {
    await stopDetached(pid);
  }
  try {
    const all = lines(); // throws on the first line that is not strict JSON
    assert.ok(all.some((o) => o.msg === 'stopped'));
    const refused = all.find((o) => /^refusing a full sync/.test(String(o.msg)));
    assert.equal(refused?.root, src);
  } finally {
    await tmp.remove();
  }
});
