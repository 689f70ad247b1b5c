import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { symlinkSync, watch } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';
import { cpuTimes, inotifyWatches, processTree, replicatorProcesses, residentBytes } from './proc.js';

test('inotifyWatches: counts the watches a process holds', async () => {
  const tmp = await tempDir('sersync-proc-');
  try {
    const before = inotifyWatches([process.pid]);
    const w = watch(tmp.path);
    assert.equal(inotifyWatches([process.pid]), before + 1);
    w.close();
  } finally {
    await tmp.remove();
  }
});

test('processTree and replicatorProcesses: children are found; rsync runs are not the replicator', async () => {
  const tmp = await tempDir('sersync-proc-');
  const rsyncLike = join(tmp.path, 'rsync'); // a process whose name is rsync
  symlinkSync('/bin/sleep', rsyncLike);
  const plain = spawn('/bin/sleep', ['30']);
  const rsync = spawn(rsyncLike, ['30']);
  try {
    await eventually(() => processTree(process.pid).includes(rsync.pid ?? -1), 5_000, 'children listed');
    assert.ok(processTree(process.pid).includes(plain.pid ?? -1));
    const own = replicatorProcesses(process.pid);
    assert.ok(own.includes(process.pid) && own.includes(plain.pid ?? -1));
    assert.ok(!own.includes(rsync.pid ?? -1));
    assert.ok(residentBytes(own) > residentBytes([process.pid]));
  } finally {
    plain.kill();
    rsync.kill();
    await Promise.all([once(plain, 'exit'), once(rsync, 'exit')]);
    await tmp.remove();
  }
});

test('cpuTimes: what the children used is counted once they are reaped', async () => {
  const before = cpuTimes(process.pid);
  const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 300; while (Date.now() < end);']);
  await once(busy, 'exit');
  const after = cpuTimes(process.pid);
  assert.ok(after.children - before.children >= 0.1, `children ${before.children} → ${after.children}`);
  assert.ok(after.own >= before.own);
});
