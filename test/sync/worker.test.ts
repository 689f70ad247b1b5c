import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import runRsync from '../../workers/rsync.js';
import { startStallProxy } from '../faults/lib/proxy.js';
import { rsyncProcesses } from '../faults/lib/procs.js';
import { disposeRsyncDaemon, startRsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';

const filter = { excludes: [], ignoreDotFiles: false };

test('worker: a run from a watch root that is gone says so, not "spawn rsync ENOENT"', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const result = await runRsync({
    kind: 'delete',
    cwd: join(work.path, 'gone'),
    args: ['-r', '--delete', '--include-from=-', '--exclude=*', './', join(work.path, 'replica')],
    input: { kind: 'rules', rules: ['+ /f'] },
    filter,
    stallS: null,
  });
  assert.equal(result.exitCode, -1);
  assert.equal(
    result.stderr,
    `cannot run rsync: the watched directory ${join(work.path, 'gone')} no longer exists`,
  );
});

test('worker: a run that makes no I/O for stallS seconds is stopped and reported as an rsync timeout', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const daemon = await startRsyncDaemon();
  t.after(() => disposeRsyncDaemon(daemon));
  const proxy = await startStallProxy(daemon.port);
  t.after(() => proxy.close());
  writeFileSync(join(work.path, 'f'), 'x');
  proxy.stall();
  const marker = `--port=${proxy.port}`;
  const result = await runRsync({
    kind: 'send',
    cwd: work.path,
    // No --timeout: the argv a bare rsync speaks.
    args: [
      '-a',
      marker,
      `--password-file=${daemon.passwordFile}`,
      './',
      `${daemon.user}@127.0.0.1::${daemon.module}/`,
    ],
    input: null,
    filter,
    stallS: 1,
  });
  assert.equal(result.exitCode, 30);
  assert.match(result.stderr, /timeout: no I\/O for 1 s \(timeout\/@stall\)/);
  assert.ok(result.durationMs < 15_000, `stopped after ${result.durationMs} ms`);
  assert.deepEqual(rsyncProcesses(marker), [], 'the stalled rsync is gone');
});

test('worker: a slow run that keeps moving bytes is not taken for a stalled one', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  mkdirSync(join(work.path, 'src'));
  writeFileSync(join(work.path, 'src', 'big'), Buffer.alloc(300 * 1024, 1));
  const started = performance.now();
  const result = await runRsync({
    kind: 'send',
    cwd: join(work.path, 'src'),
    // ~3 s at 100 KiB/s, with a backstop of 1 s: only silence counts, not length.
    args: ['-a', '--bwlimit=100', './', join(work.path, 'replica')],
    input: null,
    filter,
    stallS: 1,
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.ok(performance.now() - started > 1500, 'the run lasted longer than the backstop');
});
