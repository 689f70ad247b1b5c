/**
 * Ctrl-C reaches rsync too (one process group): rsync exits 20, "received SIGINT". That is our
 * own stop, not a failure of the remote: the row keeps the real error it had, and so does status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import type { BatchReport } from '../../src/sync/lane.js';
import { testLane, withQueueRig } from '../helpers/lane.js';
import { eventually } from '../helpers/trees.js';
import { rsyncProcesses } from '../faults/lib/procs.js';

test('rsync killed by SIGINT (Ctrl-C) does not replace the row’s real last error', async () => {
  await withQueueRig(2, async ({ daemon, pool, src, state, remote, config }) => {
    const store = openWorkStore(join(state, 'queue.db'));
    const reports: BatchReport[] = [];
    const lane = testLane({ config, root: src, remote, pool, store, onBatch: (r) => reports.push(r) });
    // A remote that accepts and never answers: rsync waits there until it is signalled.
    const sockets: Socket[] = [];
    const stall = createServer((s) => sockets.push(s));
    try {
      await daemon.stop();
      writeFileSync(join(src, 'f'), 'x');
      lane.push({ kind: 'sync', path: 'f' });
      await lane.idle();
      const [row] = store.list();
      assert.match(row?.lastError ?? '', /Connection refused/);
      stall.listen(daemon.port, '127.0.0.1');
      await once(stall, 'listening');
      lane.restore({ kind: 'sync', path: 'f' });
      await eventually(() => rsyncProcesses(`--port=${daemon.port}`).length > 0, 10_000, 'rsync waiting');
      const stopped = lane.stop(); // the daemon's own stop, racing Ctrl-C
      for (const p of rsyncProcesses(`--port=${daemon.port}`)) process.kill(p.pid, 'SIGINT');
      await stopped;
      assert.match(store.list()[0]?.lastError ?? '', /Connection refused/, 'the row keeps its real error');
      assert.match(lane.stats.lastError ?? '', /Connection refused/, 'status keeps it too');
      assert.equal(reports.length, 1, 'the interrupted batch is not reported as a failed sync');
    } finally {
      await lane.stop();
      for (const s of sockets) s.destroy();
      stall.close();
      store.close();
    }
  });
});
