import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { DaemonLog, parseDaemonLog } from './daemon-log.js';
import { bareRsync, type Lab } from './lab.js';

let daemon: RsyncDaemon;
let tmp: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  tmp = await tempDir('sersync-daemon-log-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await tmp.remove();
});

test('DaemonLog: counts the rsync runs since the mark, the bytes they sent and the files received', async () => {
  const lab: Lab = {
    daemon,
    log: new DaemonLog(daemon.logFile),
    work: tmp.path,
    memoryWork: tmp.path,
    params: '-a',
    close: () => Promise.resolve(),
  };
  const src = join(tmp.path, 'src');
  mkdirSync(join(src, 'd'), { recursive: true });
  writeFileSync(join(src, 'before.txt'), 'x');
  await bareRsync(lab, src, [], ['before.txt']);
  lab.log.mark();
  writeFileSync(join(src, 'd', 'a b.txt'), Buffer.alloc(5000, 1));
  writeFileSync(join(src, 'c.txt'), Buffer.alloc(3000, 2));
  await bareRsync(lab, src, [], ['d']);
  await bareRsync(lab, src, [], ['c.txt']);
  const a = await lab.log.settled();
  assert.equal(a.sessions, 2);
  assert.equal(a.finished, 2);
  assert.deepEqual([...a.received].sort(), ['c.txt', 'd/a b.txt']);
  assert.ok(a.bytesReceived > 8000 && a.bytesReceived < 9000, `bytes received ${a.bytesReceived}`);
});

test('parseDaemonLog: a summary counts only with its run started in the same stretch', () => {
  const text = [
    '2026/11/22 00:41:05 [100] sent 28 bytes  received 5081 bytes  total size 0',
    '2026/11/22 00:41:06 [101] connect from UNDETERMINED (127.0.0.1)',
    '2026/11/22 00:41:06 [101] rsync to replica/ from syncuser@UNDETERMINED (127.0.0.1)',
    '2026/11/22 00:41:06 [101] recv dir/with space 5',
    '2026/11/22 00:41:06 [102] rsync to replica/ from syncuser@UNDETERMINED (127.0.0.1)',
    '2026/11/22 00:41:06 [101] sent 50 bytes  received 160 bytes  total size 5',
    '',
  ].join('\n');
  assert.deepEqual(parseDaemonLog(text), {
    sessions: 2,
    finished: 1,
    bytesReceived: 160,
    received: ['dir/with space'],
  });
});
