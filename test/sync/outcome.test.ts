import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Remote } from '../../src/config/types.js';
import {
  CUT_NOTE,
  failureOf,
  partialFailures,
  partialOutcome,
  replicaRefusals,
} from '../../src/sync/outcome.js';
import { notRun } from '../../src/sync/task.js';

const daemon: Remote = {
  id: '127.0.0.1::backup',
  target: { kind: 'daemon', host: '127.0.0.1', module: 'backup' },
};
const SUMMARY =
  'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)';
const mkdir = 'rsync: [generator] recv_generator: mkdir "d/new" (in backup) failed: Permission denied (13)';
const times = 'rsync: [generator] failed to set times on "d/new" (in backup): Operation not permitted (1)';
const mkstemp = 'rsync: [receiver] mkstemp "d/.f.txt.AbCdEf" (in backup) failed: Permission denied (13)';
const unreadable = 'rsync: [sender] opendir "/W/src" failed: Permission denied (13)';
const exit23 = (...lines: string[]) => ({ ...notRun(23, [...lines, SUMMARY].join('\n'), 5), ran: true });

test("replicaRefusals: a full sync the replica took but for some paths names each with its row's op", () => {
  assert.deepEqual(replicaRefusals(exit23(times, mkdir, mkstemp), '/W', daemon)?.own, [
    // A directory rsync could not make goes whole: what is below it was skipped unnamed.
    { op: { kind: 'tree', path: 'd/new' }, failure: { exitCode: 23, message: mkdir } },
    { op: { kind: 'sync', path: 'd/f.txt' }, failure: { exitCode: 23, message: mkstemp } },
  ]);
  assert.deepEqual(replicaRefusals(exit23(times), '/W', daemon)?.own, [
    { op: { kind: 'sync', path: 'd/new' }, failure: { exitCode: 23, message: times } },
  ]);
  // the module's top directory is another user's: its times wait as the root's own row
  const top = 'rsync: [generator] failed to set times on "." (in backup): Operation not permitted (1)';
  assert.deepEqual(replicaRefusals(exit23(top), '/W', daemon)?.own, [
    { op: { kind: 'sync', path: '' }, failure: { exitCode: 23, message: top } },
  ]);
});

test('replicaRefusals: none when a source could not be read (rsync then skips the deletions), or the errors are not all known', () => {
  assert.equal(replicaRefusals(exit23(unreadable, mkstemp), '/W', daemon), null);
  assert.equal(replicaRefusals({ ...exit23(mkstemp), unreadable: ['d/closed'] }, '/W', daemon), null);
  assert.equal(replicaRefusals({ ...exit23(mkstemp), stderrCut: true }, '/W', daemon), null);
  assert.equal(
    replicaRefusals(exit23('rsync: [receiver] some trouble without a name (5)'), '/W', daemon),
    null,
  );
  assert.equal(replicaRefusals({ ...notRun(0, '', 5), ran: true }, '/W', daemon), null);
});

test('partialFailures: a parent whose attributes the replica could not set gets its own row; the files in it arrived', () => {
  const file = (path: string) => ({ kind: 'sync' as const, path });
  const parentTimes =
    'rsync: [generator] failed to set times on "uploads" (in backup): Operation not permitted (1)';
  assert.deepEqual(partialFailures([file('uploads/new.jpg')], exit23(parentTimes), '/W', daemon), {
    ops: new Map(),
    own: [{ op: { kind: 'sync', path: 'uploads' }, failure: { exitCode: 23, message: parentTimes } }],
  });
  // a file's own refusal fails its op; its parent's attributes still wait alone
  const refusedHere =
    'rsync: [receiver] mkstemp "uploads/.a.jpg.AbCdEf" (in backup) failed: Permission denied (13)';
  const both = partialFailures(
    [file('uploads/a.jpg'), file('uploads/b.jpg')],
    exit23(parentTimes, refusedHere),
    '/W',
    daemon,
  );
  assert.deepEqual([...(both?.ops ?? [])], [['uploads/a.jpg', { exitCode: 23, message: refusedHere }]]);
  assert.deepEqual(
    both?.own.map((o) => o.op),
    [{ kind: 'sync', path: 'uploads' }],
  );
  // a directory the replica could not make holds back what was below it
  assert.deepEqual(
    [...(partialFailures([file('d/new/f')], exit23(mkdir), '/W', daemon)?.ops ?? [])],
    [['d/new/f', { exitCode: 23, message: mkdir }]],
  );
  // a source no op carried is not understood: the whole batch fails
  assert.equal(partialFailures([file('x')], exit23(unreadable), '/W', daemon), null);
});

test("partialOutcome: a removal done but for the attributes of a directory above it leaves only that directory's row; an entry not removed fails the op holding it", () => {
  const gone = { kind: 'delete' as const, path: 'open/h.txt', isDir: false };
  const dir = { kind: 'delete' as const, path: 'old', isDir: true };
  const sent = { kind: 'sync' as const, path: 'open/new.txt' };
  const top = 'rsync: [generator] failed to set times on "." (in backup): Operation not permitted (1)';
  assert.deepEqual(partialOutcome('delete', [gone, dir, sent], exit23(top), '/W', daemon), {
    ops: new Map(),
    own: [{ op: { kind: 'sync', path: '' }, failure: { exitCode: 23, message: top } }],
  });
  // an entry below a removed directory that the replica kept fails that directory's removal alone
  const kept = 'rsync: [generator] delete_file: unlink(old/x) failed: Permission denied (13)';
  const keptDir = 'rsync: [generator] delete_file: rmdir(old) failed: Directory not empty (39)';
  assert.deepEqual(partialOutcome('delete', [gone, dir, sent], exit23(kept, keptDir, top), '/W', daemon), {
    ops: new Map([['old', { exitCode: 23, message: kept }]]),
    own: [{ op: { kind: 'sync', path: '' }, failure: { exitCode: 23, message: top } }],
  });
  // a prune that could not remove an entry fails its tree (sent again, it prunes again)
  const tree = { kind: 'tree' as const, path: 'new', prune: true as const };
  const stale = 'rsync: [generator] delete_file: unlink(new/stale.tmp) failed: Permission denied (13)';
  assert.deepEqual(
    [...(partialOutcome('prune', [tree, gone], exit23(stale), '/W', daemon)?.ops ?? [])],
    [['new', { exitCode: 23, message: stale }]],
  );
  // a source error, an error without a name, a cut stderr: the run failed whole
  assert.equal(partialOutcome('delete', [gone], exit23(unreadable), '/W', daemon), null);
  assert.equal(partialOutcome('delete', [gone], { ...exit23(top), stderrCut: true }, '/W', daemon), null);
  assert.equal(
    partialOutcome(
      'delete',
      [gone],
      exit23('rsync: [receiver] some trouble without a name (5)'),
      '/W',
      daemon,
    ),
    null,
  );
  // a refused --delete (exit 4) is no partial outcome
  const refused = { ...notRun(4, 'rsync: The server is configured to refuse --delete', 5), ran: true };
  assert.equal(partialOutcome('delete', [gone], refused, '/W', daemon), null);
});

test('failureOf: the last line of a run whose errors were more than it keeps says it is one of many', () => {
  assert.deepEqual(failureOf(exit23(mkstemp)), { exitCode: 23, message: mkstemp });
  assert.deepEqual(failureOf({ ...exit23(mkstemp), stderrCut: true }), {
    exitCode: 23,
    message: `${mkstemp}${CUT_NOTE}`,
  });
});
