/**
 * Outcomes that are neither a whole success nor a whole failure, in the SQLite queue: a full sync
 * carries every path of its tree (while it is in flight the tree's retry rows wait, since
 * sending them too would send them twice, and its success settles them); a batch of which rsync
 * could not read some files fails only those.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { PathOp } from '../../src/coalesce/types.js';
import { openWorkStore } from '../../src/queue/store.js';
import type { WorkStore } from '../../src/queue/types.js';
import { tempDir } from '../helpers/tmp.js';

const R = '127.0.0.1::tongbu1';
const OTHER = '127.0.0.1::other';
const ROOT = '/srv/www';
const T0 = 1_700_000_000_000;
const FULL: PathOp = { kind: 'full', path: '' };
const failure = { exitCode: 10, message: 'Connection refused' };

/** A fresh SQLite queue in a temporary directory. */
async function open(): Promise<{ store: WorkStore; done: () => Promise<void> }> {
  const dir = await tempDir();
  const store = openWorkStore(join(dir.path, 'q.sqlite'));
  return {
    store,
    done: async () => {
      store.close();
      await dir.remove();
    },
  };
}

/** Two failed syncs for R and one for OTHER, all due at T0 + 1 h. */
function withRetries(store: WorkStore): void {
  store.fail(
    store.begin(R, ROOT, [
      { kind: 'sync', path: 'a' },
      { kind: 'sync', path: 'b' },
    ]),
    failure,
    T0,
  );
  store.fail(store.begin(OTHER, ROOT, [{ kind: 'sync', path: 'a' }]), failure, T0);
}
const LATER = T0 + 3_600_000;

test(`queue: retry rows of a tree wait while its full sync is in flight, for that remote only`, async () => {
  const { store, done } = await open();
  try {
    withRetries(store);
    assert.equal(store.due(LATER, 100).length, 3);
    const full = store.begin(R, ROOT, [FULL]);
    assert.deepEqual(
      store.due(LATER, 100).map((r) => r.remoteId),
      [OTHER],
    );
    store.fail(full, failure, T0);
    assert.equal(store.due(LATER, 100).length, 4, 'a failed full sync releases them (and waits itself)');
  } finally {
    await done();
  }
});

test(`queue: settleLane removes the retry rows of one tree and remote, and nothing in flight`, async () => {
  const { store, done } = await open();
  try {
    withRetries(store);
    store.begin(R, ROOT, [{ kind: 'sync', path: 'c' }]);
    assert.equal(store.settleLane(R, ROOT, true), 2);
    assert.deepEqual(
      store.due(LATER, 100).map((r) => r.remoteId),
      [OTHER],
    );
    assert.equal(store.recoverInflight(LATER), 1, 'the row in flight stays');
  } finally {
    await done();
  }
});

test(`queue: settleLane after a full sync that went without --delete keeps the rows that owe a removal`, async () => {
  const { store, done } = await open();
  try {
    store.fail(
      store.begin(R, ROOT, [
        { kind: 'sync', path: 'sent' },
        { kind: 'delete', path: 'removed', isDir: false },
        { kind: 'move', path: 'new-name', from: 'old-name' },
      ]),
      failure,
      T0,
    );
    // a removal then a write of the same path: one row, which owes the removal too
    store.fail(store.begin(R, ROOT, [{ kind: 'delete', path: 'again', isDir: false }]), failure, T0);
    store.fail(store.begin(R, ROOT, [{ kind: 'sync', path: 'again' }]), failure, T0);
    assert.equal(store.settleLane(R, ROOT, false), 1);
    assert.deepEqual(
      store
        .due(LATER, 100)
        .map((r) => `${r.op.kind} ${r.op.path}`)
        .sort(),
      ['delete removed', 'move new-name', 'sync again'],
    );
    assert.equal(store.settleLane(R, ROOT, true), 3, 'a full sync that removed carries them all');
  } finally {
    await done();
  }
});

test(`queue: failPaths fails the named rows of a batch, each with its own failure, and removes the rest`, async () => {
  const { store, done } = await open();
  try {
    const ops: PathOp[] = [
      { kind: 'sync', path: 'ok' },
      { kind: 'tree', path: 'dir' },
      { kind: 'sync', path: 'n\u00e9\n' },
    ];
    const other = { exitCode: 23, message: 'cannot read directory dir' };
    store.failPaths(
      store.begin(R, ROOT, ops),
      new Map([
        ['dir', other],
        ['n\u00e9\n', failure],
      ]),
      T0,
    );
    assert.deepEqual(
      store
        .due(LATER, 100)
        .map((r) => [r.op.path, r.attempts, r.lastError])
        .sort(),
      [
        ['dir', 1, other.message],
        ['n\u00e9\n', 1, failure.message],
      ],
    );
    assert.equal(store.recoverInflight(LATER), 0, 'nothing left in flight');
  } finally {
    await done();
  }
});

test(`queue: a directory sent whole carries the sends queued below it, not the removals`, async () => {
  const { store, done } = await open();
  try {
    const queued: PathOp[] = [
      { kind: 'sync', path: 'd/a' },
      { kind: 'tree', path: 'd/sub' },
      { kind: 'delete', path: 'd/gone', isDir: false },
      { kind: 'sync', path: 'd2/a' }, // a sibling whose name starts the same
    ];
    store.fail(store.begin(R, ROOT, queued), failure, T0);
    store.fail(store.begin(OTHER, ROOT, [{ kind: 'sync', path: 'd/a' }]), failure, T0);
    const tree = store.begin(R, ROOT, [{ kind: 'tree', path: 'd' }]);
    const waiting = (): string[] =>
      store
        .due(LATER, 100)
        .map((r) => `${r.remoteId === R ? 'R' : 'OTHER'} ${r.op.path}`)
        .sort();
    assert.deepEqual(waiting(), ['OTHER d/a', 'R d/gone', 'R d2/a'], 'the sends below d joined its batch');
    store.fail(tree, failure, T0);
    assert.equal(store.due(LATER, 100).find((r) => r.op.path === 'd/a' && r.remoteId === R)?.attempts, 2);
    store.succeed(store.begin(R, ROOT, [{ kind: 'tree', path: 'd' }]));
    assert.deepEqual(waiting(), ['OTHER d/a', 'R d/gone', 'R d2/a'], 'its success settled them');
  } finally {
    await done();
  }
});

test(`queue: a directory's removal carries every row queued below it, removals included`, async () => {
  const { store, done } = await open();
  try {
    const queued: PathOp[] = [
      { kind: 'sync', path: 'd/a' },
      { kind: 'delete', path: 'd/gone', isDir: false },
      { kind: 'move', path: 'd/m', from: 'd/n' },
      { kind: 'sync', path: 'd2/a' }, // a sibling whose name starts the same
    ];
    store.fail(store.begin(R, ROOT, queued), failure, T0);
    const waiting = (): string[] =>
      store
        .due(LATER, 100)
        .map((r) => r.op.path)
        .sort();
    const removal = store.begin(R, ROOT, [{ kind: 'delete', path: 'd', isDir: true }]);
    assert.deepEqual(waiting(), ['d2/a'], 'every row below d joined the batch that removes d');
    store.succeed(removal);
    assert.deepEqual(waiting(), ['d2/a'], 'its success settled them: the removal mirrored d');
    store.fail(store.begin(R, ROOT, [{ kind: 'sync', path: 'e/x' }]), failure, T0);
    store.begin(R, ROOT, [{ kind: 'delete', path: 'e', isDir: false }]);
    assert.deepEqual(waiting(), ['d2/a', 'e/x'], "a file's removal carries only its own row");
  } finally {
    await done();
  }
});
