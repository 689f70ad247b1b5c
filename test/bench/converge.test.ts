import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { arrival, awaitConvergence, epochNow } from './converge.js';
import { DaemonLog } from './daemon-log.js';
import { bareRsync, type Lab } from './lab.js';

let lab: Lab;
let daemon: RsyncDaemon;
let tmp: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  tmp = await tempDir('sersync-converge-');
  lab = {
    daemon,
    log: new DaemonLog(daemon.logFile),
    work: tmp.path,
    memoryWork: tmp.path,
    params: '-a',
    close: () => Promise.resolve(),
  };
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await tmp.remove();
});

test('arrival: resolves once the file is complete on the replica, null if it never comes', async () => {
  const src = join(tmp.path, 'arrival');
  mkdirSync(src);
  const content = Buffer.from('complete content');
  writeFileSync(join(src, 'f.txt'), content);
  const arrived = arrival(daemon.dir, 'f.txt', content, 10_000);
  const started = performance.now();
  await bareRsync(lab, src, [], ['f.txt']);
  const at = await arrived;
  assert.ok(at !== null && at >= started && at <= performance.now());
  assert.equal(await arrival(daemon.dir, 'never.txt', content, 100), null);
});

test('awaitConvergence: null while the replica differs; then the end of the run that made it equal', async () => {
  const src = join(tmp.path, 'tree');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'sub', 'a.dat'), Buffer.alloc(10_000, 7));
  assert.equal(await awaitConvergence(lab, src, 300), null);
  const started = epochNow();
  await bareRsync(lab, src, ['--delete'], ['./']);
  const ended = epochNow();
  const at = await awaitConvergence(lab, src, 10_000);
  assert.ok(at !== null, 'converged');
  // file times are kernel-coarse (a jiffy); allow that much either side
  assert.ok(at >= started - 10 && at <= ended + 10, `${started} ≤ ${at} ≤ ${ended}`);
});
