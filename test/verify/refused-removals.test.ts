/**
 * `sersync2 verify` against a daemon that refuses `--delete` (`refuse options = delete`), with
 * `<delete start="false">` set to match it: the comparison needs `--delete` only to list what the
 * replica alone has. It used to fail whole (exit 2, "could not compare"); it now compares without it,
 * and says what it could not list. Through the CLI, against a real daemon.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LaneSummary } from '../../src/verify/report.js';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { CLI, sersyncConfigXml, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { writeAlike } from '../helpers/trees.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon({ moduleLines: ['refuse options = delete'] });
  work = await tempDir('sersync-verify-nodelete-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('verify against a daemon refusing --delete compares without it: a missing file is drift, what only the replica has is not listed, and it says so', () => {
  const watch = join(work.path, 'W');
  mkdirSync(watch);
  writeAlike([watch, daemon.dir], 'same.txt', 'on both');
  writeFileSync(join(watch, 'missing.txt'), 'not on the replica');
  writeFileSync(join(daemon.dir, 'kept.txt'), 'only on the replica, kept by its policy');
  const file = writeConfig(
    work.path,
    sersyncConfigXml({
      watch,
      daemons: [daemon],
      inotify: { delete: false },
      failLog: join(work.path, 'fail.sh'),
    }),
  );
  const verify = (extra: readonly string[]): ReturnType<typeof spawnSync> =>
    spawnSync(
      process.execPath,
      [CLI, 'verify', ...extra, '-o', file, '--state-dir', join(work.path, 'state')],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
  const text = verify([]);
  const out = String(text.stdout);
  assert.equal(text.status, 1, out + String(text.stderr));
  assert.match(out, /: 1 path\(s\) differ\n {2}missing: 1 \(missing on the replica\)\n {4}missing\.txt\n/);
  assert.doesNotMatch(out, /kept\.txt/);
  assert.match(
    out,
    /^ {2}note: what only the replica has is not listed \(its daemon refuses --delete: rsyncd\.conf refuse options\); missing and differing files are$/m,
  );
  const json = verify(['--json']);
  const [lane] = JSON.parse(String(json.stdout)) as LaneSummary[];
  assert.equal(lane?.extrasNotListed, true);
  assert.equal(lane.error, null);
});
