/**
 * A run over a remote shell leaves no process behind, however it ends, even where PID 1 reaps
 * nothing but its own children (a container started without `--init`, sersync2 as PID 1): the
 * helper that starts rsync stays as its supervisor, a child subreaper that reaps rsync, the shell
 * and the relay before it exits.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFINE_HELPER } from '../../src/sync/confine.js';
import { existsSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';

const CHILD = join(import.meta.dirname, 'pid1-child.js');

function pidNamespaceUnavailable(): string | undefined {
  if (!existsSync(CONFINE_HELPER)) return `the helper ${CONFINE_HELPER} is not built`;
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `unshare(1) cannot run: ${probe.error.message}`;
  if (probe.status !== 0) return `no PID namespace here: ${probe.stderr.trim()}`;
  return undefined;
}

test('a run through a remote shell leaves no process behind, however it ends, under a PID 1 that reaps nothing', async (t) => {
  const unavailable = pidNamespaceUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  const work = await tempDir();
  t.after(work.remove);
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, CHILD, work.path], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout) as {
    run: string;
    code: number | null;
    signal: string | null;
    left: string[];
  }[];
  const byRun = new Map(results.map((x) => [x.run, x]));
  assert.equal(byRun.get('bad option')?.code, 1, 'rsync refused its options, and the run says so');
  assert.equal(byRun.get('rsync killed')?.signal, 'SIGKILL', 'rsync killed: the run ends as killed');
  assert.equal(byRun.get('run stopped')?.code, 20, "rsync's own code for a run stopped by a signal");
  for (const x of results) assert.deepEqual(x.left, [], `${x.run}: processes left`);
});
