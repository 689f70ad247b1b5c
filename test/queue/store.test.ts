import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PathOp } from '../../src/coalesce/types.js';
import { fromBytes } from '../../src/paths.js';
import { SCHEMA_VERSION } from '../../src/queue/schema.js';
import { openWorkStore } from '../../src/queue/store.js';
import type { QueueRow, QueueStore } from '../../src/queue/types.js';
import { tempDir } from '../helpers/tmp.js';
import { WAL_DAMAGES } from '../helpers/wal-damage.js';

const R = '127.0.0.1::tongbu1';
const ROOT = '/srv/www';
const T0 = 1_700_000_000_000;

/** A store in a fresh directory with a settable clock. */
async function withStore(
  fn: (
    s: QueueStore,
    ctx: { file: string; clock: { now: number }; changes: (readonly QueueRow[])[] },
  ) => void,
  maxIntervalMinutes = 60,
): Promise<void> {
  const dir = await tempDir();
  const clock = { now: T0 };
  const changes: (readonly QueueRow[])[] = [];
  const file = join(dir.path, 'q.sqlite');
  const store = openWorkStore(file, {
    now: () => clock.now,
    maxIntervalMinutes,
    onFailLogRowsChange: (rows) => changes.push(rows),
  });
  try {
    fn(store, { file, clock, changes });
  } finally {
    store.close();
    await dir.remove();
  }
}

const sync = (path: string): PathOp => ({ kind: 'sync', path });
const paths = (rows: readonly QueueRow[]): string[] => rows.map((r) => r.op.path).sort();

test('begin records inflight rows before rsync starts, succeed forgets them', async () => {
  await withStore((s) => {
    const b1 = s.begin(R, ROOT, [sync('a.txt'), sync('sub/b.txt')]);
    const b2 = s.begin(R, ROOT, [sync('c.txt')]);
    assert.ok(b2 > b1, 'batch ids increase');
    assert.deepEqual(paths(s.list()), ['a.txt', 'c.txt', 'sub/b.txt']);
    assert.ok(
      s
        .list()
        .every((r) => r.state === 'inflight' && r.attempts === 0 && r.remoteId === R && r.root === ROOT),
    );
    s.succeed(b1);
    assert.deepEqual(paths(s.list()), ['c.txt']);
    s.succeed(b2);
    assert.deepEqual(s.list(), []);
    assert.equal(s.nextDueAt(), null);
  });
});

test('lastFailures: per lane, the line of the retry row that failed last (what its remote last said); in-flight rows and other lanes left out', async () => {
  await withStore((s, { clock }) => {
    const down = {
      exitCode: 10,
      message: 'rsync: [sender] failed to connect to h: Connection refused (111)',
    };
    const full = {
      exitCode: 23,
      message: 'rsync: [receiver] write failed on "b" (in m): No space left on device (28)',
    };
    s.fail(s.begin(R, ROOT, [sync('a')]), down);
    clock.now += 1000;
    s.fail(s.begin(R, ROOT, [sync('b')]), full);
    clock.now += 1000;
    s.begin(R, ROOT, [sync('c')]); // in flight: no failure yet
    s.fail(s.begin('other::m', ROOT, [sync('a')]), down);
    assert.deepEqual(
      s.lastFailures().sort((x, y) => x.remoteId.localeCompare(y.remoteId)),
      [
        { remoteId: R, root: ROOT, failure: full },
        { remoteId: 'other::m', root: ROOT, failure: down },
      ].sort((x, y) => x.remoteId.localeCompare(y.remoteId)),
    );
    assert.deepEqual(s.lastFailures([{ remoteId: 'other::m', root: ROOT }]), [
      { remoteId: 'other::m', root: ROOT, failure: down },
    ]);
  });
});

test('fail turns a batch into retry rows with exponential back-off capped at timeToExecute', async () => {
  await withStore((s, { clock }) => {
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const b = s.begin(R, ROOT, [sync('a.txt')]);
      s.fail(b, { exitCode: 10, message: 'rsync error: error in socket IO (code 10)' });
      const next = s.nextDueAt();
      assert.ok(next !== null);
      delays.push(next - clock.now);
      assert.deepEqual(s.due(next - 1, 10), [], 'not due before its time');
      assert.equal(s.due(next, 10).length, 1);
      clock.now = next;
    }
    // 5 s doubling, then never more than the 2-minute cap (timeToExecute="2").
    assert.deepEqual(delays, [5e3, 10e3, 20e3, 40e3, 80e3, 120e3, 120e3, 120e3, 120e3, 120e3, 120e3, 120e3]);
    const [row] = s.list();
    assert.ok(row !== undefined);
    assert.equal(row.attempts, 12, 'never dropped, attempts keep counting');
    assert.equal(row.state, 'retry');
    assert.equal(row.exitCode, 10);
    assert.equal(row.lastError, 'rsync error: error in socket IO (code 10)');
    assert.equal(row.firstFailureAt, T0);
    assert.equal(row.lastFailureAt, clock.now - 120e3);
  }, 2);
});

test('a row begun again supersedes the queued one: new op, attempts carried over', async () => {
  await withStore((s, { clock }) => {
    const b1 = s.begin(R, ROOT, [sync('a.txt'), sync('b.txt')]);
    s.fail(b1, { exitCode: 12, message: 'x' });
    clock.now += 60_000;
    const b2 = s.begin(R, ROOT, [{ kind: 'delete', path: 'a.txt', isDir: false }]);
    const a = s.list().find((r) => r.op.path === 'a.txt');
    assert.ok(a !== undefined);
    assert.deepEqual(a.op, { kind: 'delete', path: 'a.txt', isDir: false });
    assert.equal(a.state, 'inflight');
    assert.equal(a.attempts, 1);
    assert.equal(a.firstFailureAt, T0, 'the first failure is remembered');
    assert.equal(a.nextAttemptAt, null);
    // b.txt is still a retry row of the old batch; a.txt now belongs to b2.
    s.succeed(b2);
    assert.deepEqual(paths(s.list()), ['b.txt']);
  });
});

test('a row that takes over a removal or a move owes that removal; a send over a send does not', async () => {
  await withStore((s) => {
    const b1 = s.begin(R, ROOT, [
      { kind: 'delete', path: 'x', isDir: true },
      { kind: 'move', path: 'm', from: 'o' },
      sync('f'),
    ]);
    s.fail(b1, { exitCode: 10, message: 'down' });
    const b2 = s.begin(R, ROOT, [sync('x'), sync('m'), sync('f'), sync('new')]);
    s.fail(b2, { exitCode: 10, message: 'down' });
    const owes = Object.fromEntries(s.list().map((r) => [r.op.path, r.owesRemoval]));
    assert.deepEqual(owes, { x: true, m: true, f: false, new: false });
    // It stays owed when the row is taken over again by a send.
    const b3 = s.begin(R, ROOT, [sync('x')]);
    assert.equal(s.list().find((r) => r.op.path === 'x')?.owesRemoval, true);
    s.succeed(b3);
  });
});

test("an older batch's outcome does not touch rows a newer batch took over", async () => {
  await withStore((s) => {
    const b1 = s.begin(R, ROOT, [sync('a.txt'), sync('b.txt')]);
    const b2 = s.begin(R, ROOT, [sync('a.txt')]);
    s.succeed(b1);
    assert.deepEqual(paths(s.list()), ['a.txt'], 'a.txt waits for b2');
    const b3 = s.begin(R, ROOT, [sync('c.txt')]);
    const b4 = s.begin(R, ROOT, [sync('c.txt')]);
    s.fail(b3, { exitCode: 10, message: 'old' });
    assert.equal(
      s.list().find((r) => r.op.path === 'c.txt')?.state,
      'inflight',
      'b3 failing does not touch b4',
    );
    s.succeed(b4);
    s.succeed(b2);
    assert.deepEqual(s.list(), []);
  });
});

test('the same path on two remotes or two roots is two rows', async () => {
  await withStore((s) => {
    s.begin(R, ROOT, [sync('a.txt')]);
    s.begin('10.0.0.2::m2', ROOT, [sync('a.txt')]);
    s.begin(R, '/srv/other', [sync('a.txt')]);
    assert.equal(s.list().length, 3);
  });
});

test('every kind of op and every byte of a name round-trips', async () => {
  await withStore((s) => {
    const odd = fromBytes(Buffer.from([0x66, 0xff, 0xfe, 0x0a, 0x22, 0x60, 0x24, 0x27]));
    const ops: PathOp[] = [
      { kind: 'sync', path: odd },
      { kind: 'tree', path: 'new dir' },
      { kind: 'delete', path: 'gone', isDir: true },
      { kind: 'delete', path: 'gone.txt', isDir: false },
      { kind: 'move', path: 'to', from: `from ${odd}` },
      { kind: 'full', path: '' },
    ];
    s.begin(R, ROOT, ops);
    const byPath = new Map(s.list().map((r) => [r.op.path, r.op]));
    for (const op of ops) assert.deepEqual(byPath.get(op.path), op);
  });
});

test('due returns due retry rows oldest first, at most limit, and leaves them queued', async () => {
  await withStore((s, { clock }) => {
    for (const p of ['a', 'b', 'c']) {
      s.fail(s.begin(R, ROOT, [sync(p)]), { exitCode: 10, message: '' });
      clock.now += 1000;
    }
    s.begin(R, ROOT, [sync('inflight')]);
    const due = s.due(T0 + 60_000, 2);
    assert.deepEqual(
      due.map((r) => r.op.path),
      ['a', 'b'],
    );
    assert.equal(s.due(T0 + 60_000, 10).length, 3, 'inflight rows are never due');
    assert.equal(s.nextDueAt(), T0 + 5000);
  });
});

test('a row due later than the longest wait is due now: the clock was set back since it failed', async () => {
  await withStore((s, { clock }) => {
    s.fail(s.begin(R, ROOT, [sync('a')]), { exitCode: 10, message: '' }); // due at T0 + 5 s
    clock.now = T0 - 2 * 3_600_000; // an NTP step of two hours back
    assert.deepEqual(
      s.due(clock.now, 10).map((r) => r.op.path),
      ['a'],
      'not left waiting until the wall clock catches up',
    );
    clock.now = T0 - 30 * 60_000; // half an hour back: within the longest wait (60 min)
    assert.deepEqual(s.due(clock.now, 10), [], 'a step shorter than the longest wait only delays it');
  }, 60);
});

test('shiftTimes moves every time a row holds with a step of the wall clock: waits and ages stay', async () => {
  await withStore((s, { clock }) => {
    s.begin(R, ROOT, [sync('waiting')]); // inflight, never failed: no failure times
    s.fail(s.begin(R, ROOT, [sync('a')], T0 - 10_000), { exitCode: 10, message: '' });
    const step = -30 * 60_000;
    s.shiftTimes(step);
    clock.now = T0 + step;
    const [a] = s.list().filter((r) => r.op.path === 'a');
    assert.deepEqual(
      [a?.firstFailureAt, a?.lastFailureAt, a?.nextAttemptAt],
      [T0 + step, T0 + step, T0 + step + 5000],
    );
    assert.equal(s.retriesByLane()[0]?.oldestSeenAt, T0 + step - 10_000, 'its lag: still 10 s');
    const [waiting] = s.list().filter((r) => r.op.path === 'waiting');
    assert.equal(waiting?.firstFailureAt, null);
  });
});

test('recoverInflight makes rows a crash left inflight due now, without counting a failure', async () => {
  await withStore((s, { clock }) => {
    s.begin(R, ROOT, [sync('a'), sync('b')]);
    s.fail(s.begin(R, ROOT, [sync('c')]), { exitCode: 10, message: '' });
    clock.now += 1000;
    assert.equal(s.recoverInflight(), 2);
    assert.deepEqual(paths(s.due(clock.now, 10)), ['a', 'b']);
    assert.ok(s.list().every((r) => r.state === 'retry'));
    assert.equal(s.list().find((r) => r.op.path === 'a')?.attempts, 0);
    assert.equal(s.recoverInflight(), 0);
  });
});

test('a queue file found empty (truncated, or a crash before its first write) is not a clean stop', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'q.sqlite');
    writeFileSync(file, '', { mode: 0o600 });
    const s = openWorkStore(file);
    assert.equal(s.takeCleanStopMark(), false, 'whatever it held is unknown: the full sync must run');
    s.close();
  } finally {
    await dir.remove();
  }
});

test('busyTimeoutMs: once open, a write waits only that long for a lock held elsewhere', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'q.sqlite');
    const s = openWorkStore(file, { busyTimeoutMs: 100 });
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    try {
      const started = performance.now();
      assert.throws(() => s.begin('r', '/w', [{ kind: 'sync', path: 'a' }]), { code: 'SQLITE_BUSY' });
      // The wait at open is 5 s: a write after it would have frozen the daemon's event loop as long.
      assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    s.close();
  } finally {
    await dir.remove();
  }
});

test('the clean-stop mark survives a reopen and is taken once', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'q.sqlite');
    let s = openWorkStore(file);
    assert.equal(s.takeCleanStopMark(), true, 'a new queue had no previous run to lose work');
    assert.equal(s.takeCleanStopMark(), false, 'taking clears it');
    s.markCleanStop();
    s.close();
    s = openWorkStore(file);
    assert.equal(s.takeCleanStopMark(), true);
    assert.equal(s.takeCleanStopMark(), false, 'taking clears it');
    s.close();
  } finally {
    await dir.remove();
  }
});

test('10,000 ops are begun in one transaction: fast, and all or nothing', async () => {
  await withStore((s) => {
    const ops = Array.from({ length: 10_000 }, (_, i) => sync(`d${i % 100}/file-${i}.txt`));
    const t = process.hrtime.bigint();
    const b = s.begin(R, ROOT, ops);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    assert.equal(s.stats().inflight, 10_000);
    // Tens of ms on an idle machine; the bound leaves room for a loaded 2-core CI box.
    assert.ok(ms < 1500, `begin of 10,000 ops took ${ms.toFixed(1)} ms`);
    s.fail(b, { exitCode: 10, message: 'down' });
    assert.equal(s.stats().retry, 10_000);

    const broken = [
      ...ops.slice(0, 5000).map((o) => sync(`again/${o.path}`)),
      { kind: 'bogus' } as unknown as PathOp,
    ];
    assert.throws(() => s.begin(R, ROOT, broken));
    assert.equal(s.stats().inflight, 0, 'a batch that cannot be recorded whole is not recorded at all');
  });
});

test('the fail-log hook hears of rows failed twice, and of their end', async () => {
  await withStore((s, { changes }) => {
    const b1 = s.begin(R, ROOT, [sync('a'), sync('b')]);
    s.fail(b1, { exitCode: 1, message: '' });
    assert.equal(changes.length, 0, 'a first failure is not in sersync’s fail log');
    const b2 = s.begin(R, ROOT, [sync('a')]);
    s.fail(b2, { exitCode: 1, message: '' });
    assert.deepEqual(
      changes.at(-1)?.map((r) => [r.op.path, r.attempts]),
      [['a', 2]],
    );
    const b3 = s.begin(R, ROOT, [sync('a')]);
    s.succeed(b3);
    assert.deepEqual(changes.at(-1), []);
    const count = changes.length;
    s.succeed(s.begin(R, ROOT, [sync('b')]));
    assert.equal(changes.length, count, 'b never reached the fail log, so its success changes nothing there');
  });
});

test('list filters by remote, path prefix and limit, newest failures first', async () => {
  await withStore((s, { clock }) => {
    for (const p of ['www/a', 'www/b', 'img/c']) {
      s.fail(s.begin(R, ROOT, [sync(p)]), { exitCode: 10, message: '' });
      clock.now += 1000;
    }
    s.fail(s.begin('10.0.0.2::m2', ROOT, [sync('www/z')]), { exitCode: 10, message: '' });
    s.begin(R, ROOT, [sync('www/never-failed')]);
    assert.deepEqual(
      s.list().map((r) => r.op.path),
      ['www/z', 'img/c', 'www/b', 'www/a', 'www/never-failed'],
    );
    assert.deepEqual(
      s.list({ remoteId: R, pathPrefix: 'www/', limit: 2 }).map((r) => r.op.path),
      ['www/b', 'www/a'],
    );
    assert.deepEqual(s.list({ remoteId: 'nope::x' }), []);
  });
});

test('makeDue, drop, stats and importRows serve the operator', async () => {
  await withStore((s, { clock }) => {
    s.fail(s.begin(R, ROOT, [sync('a'), sync('b')]), { exitCode: 10, message: '' });
    s.fail(s.begin('10.0.0.2::m2', ROOT, [sync('c')]), { exitCode: 5, message: '' });
    s.begin(R, ROOT, [sync('d')]);
    const [a] = s.list({ pathPrefix: 'a' });
    assert.ok(a !== undefined);
    assert.equal(s.makeDue([a.id], clock.now), 1);
    assert.deepEqual(paths(s.due(clock.now, 10)), ['a']);
    assert.equal(s.makeDue('all', clock.now), 3, 'inflight d is left alone');
    assert.equal(s.list({ pathPrefix: 'd' })[0]?.nextAttemptAt, null);

    assert.deepEqual(s.stats(), {
      inflight: 1,
      retry: 3,
      byRemote: [
        { remoteId: R, count: 3 },
        { remoteId: '10.0.0.2::m2', count: 1 },
      ],
      byExitCode: [
        { exitCode: 10, count: 2 },
        { exitCode: 5, count: 1 },
      ],
      oldestFailureAt: T0,
    });

    assert.equal(s.drop([a.id, 999]), 1);
    assert.equal(s.get(a.id), null);

    const added = s.importRows(
      [
        {
          remoteId: R,
          root: ROOT,
          op: sync('b'),
          attempts: 2,
          failure: { exitCode: 1, message: 'imported' },
        },
        {
          remoteId: R,
          root: ROOT,
          op: sync('new'),
          attempts: 2,
          failure: { exitCode: 1, message: 'imported' },
        },
      ],
      clock.now,
    );
    assert.equal(added, 1, 'b is already queued and left as it was');
    const imported = s.list({ pathPrefix: 'new' })[0];
    assert.ok(imported !== undefined);
    assert.equal(imported.state, 'retry');
    assert.equal(imported.attempts, 2);
    assert.equal(imported.nextAttemptAt, clock.now);
    assert.equal(s.list({ pathPrefix: 'b' })[0]?.lastError, '');

    assert.equal(s.drop('all'), 4);
    assert.deepEqual(s.list(), []);
  });
});

test('the database is owner-only, versioned, and survives a reopen', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'q.sqlite');
    const s = openWorkStore(file);
    s.fail(s.begin(R, ROOT, [sync('kept')]), { exitCode: 10, message: 'x' });
    s.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const raw = new Database(file);
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();
    const again = openWorkStore(file);
    assert.deepEqual(paths(again.list()), ['kept']);
    again.close();
  } finally {
    await dir.remove();
  }
});

test("a lane's retries count their lag from when the change was seen, not from the failure", async () => {
  await withStore((s, { clock }) => {
    const seen = clock.now - 9_000;
    clock.now += 1_000;
    s.fail(s.begin(R, ROOT, [sync('a')], seen), { exitCode: 10, message: '' });
    assert.deepEqual(s.retriesByLane(), [{ remoteId: R, root: ROOT, count: 1, oldestSeenAt: seen }]);
    // Retried later as part of a newer batch: the change is still as old as when it was first seen.
    clock.now += 60_000;
    s.fail(s.begin(R, ROOT, [sync('a'), sync('b')], clock.now), { exitCode: 10, message: '' });
    assert.equal(s.retriesByLane()[0]?.oldestSeenAt, seen);
    // Without a time given, a change counts as seen when it is recorded.
    s.begin('10.0.0.2::m2', ROOT, [sync('c')]);
    assert.equal(s.retriesByLane().find((l) => l.remoteId === '10.0.0.2::m2')?.oldestSeenAt, clock.now);
  });
});

test('a database from the previous schema upgrades in place; its rows count their lag from their failure', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'q.sqlite');
    const raw = new Database(file);
    // The tables as release 2 of the schema left them, with one failed row.
    raw.exec(`
      CREATE TABLE work (id INTEGER PRIMARY KEY, remote TEXT NOT NULL, root TEXT NOT NULL, path BLOB NOT NULL,
        kind TEXT NOT NULL, is_dir INTEGER NOT NULL DEFAULT 0, from_path BLOB, state TEXT NOT NULL,
        batch INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, first_failure_at INTEGER,
        last_failure_at INTEGER, exit_code INTEGER, last_error TEXT, next_attempt_at INTEGER,
        owes_removal INTEGER NOT NULL DEFAULT 1, UNIQUE (remote, root, path));
      CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      INSERT INTO meta VALUES ('last_batch', 1), ('clean_stop', 'yes');
      INSERT INTO work (remote, root, path, kind, state, batch, attempts, first_failure_at, last_failure_at,
                        exit_code, last_error, next_attempt_at)
        VALUES ('${R}', '${ROOT}', x'6f6c64', 'sync', 'retry', 1, 1, ${T0}, ${T0}, 10, 'refused', ${T0});
    `);
    raw.pragma('user_version = 2');
    raw.close();
    const s = openWorkStore(file);
    try {
      assert.deepEqual(paths(s.list()), ['old']);
      assert.equal(s.retriesByLane()[0]?.oldestSeenAt, T0);
    } finally {
      s.close();
    }
  } finally {
    await dir.remove();
  }
});

test('a database from a newer release is refused, not damaged', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'q.sqlite');
    openWorkStore(file).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openWorkStore(file), { code: 'ERR_SERSYNC_QUEUE_VERSION' });
  } finally {
    await dir.remove();
  }
});

test('kill -9 after begin loses nothing: the next process recovers the rows', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'q.sqlite');
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./helpers/begin-and-hang.js', import.meta.url)), file, '250'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    for await (const chunk of child.stdout) {
      out += String(chunk);
      if (out.includes('begun')) break;
    }
    assert.match(out, /begun/);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL');

    const s = openWorkStore(file);
    assert.equal(s.takeCleanStopMark(), false, 'a killed process left no clean-stop mark');
    assert.equal(s.recoverInflight(T0), 250);
    assert.equal(s.due(T0, 1000).length, 250);
    s.close();
  } finally {
    await dir.remove();
  }
});

for (const { name, damage } of WAL_DAMAGES) {
  test(`kill -9, then the -wal ${name}: the next start is not clean (it resyncs)`, async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'q.sqlite');
      const first = openWorkStore(file);
      first.takeCleanStopMark();
      first.markCleanStop(); // a clean stop: the main database holds the mark
      first.close();
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('./helpers/begin-and-hang.js', import.meta.url)), file, '30'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      assert.match(line.toString(), /begun/);
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      assert.ok(existsSync(`${file}-wal`), 'the killed run left its -wal');
      damage(`${file}-wal`);

      const s = openWorkStore(file);
      assert.equal(s.list().length, 0, 'the rows the -wal held are gone (what the resync repairs)');
      assert.equal(s.takeCleanStopMark(), false, 'the killed run did not stop cleanly');
      s.markCleanStop();
      s.close();
      const again = openWorkStore(file);
      assert.equal(again.takeCleanStopMark(), true, 'a clean stop after it is clean again');
      again.close();
    } finally {
      await dir.remove();
    }
  });
}

test('due and nextDueAt for given lanes leave out the rows of trees and remotes no longer in the config', async () => {
  await withStore((s, { clock }) => {
    const gone = 'removed::module';
    for (const [remote, path] of [
      [gone, 'old.txt'],
      [R, 'live.txt'],
    ] as const) {
      const b = s.begin(remote, ROOT, [sync(path)]);
      s.fail(b, { exitCode: 10, message: 'down' });
      clock.now += 1000; // the removed remote's row is due first
    }
    const lanes = [{ root: ROOT, remoteId: R }];
    const later = clock.now + 3_600_000;
    assert.deepEqual(
      s.due(later, 1, lanes).map((r) => r.op.path),
      ['live.txt'],
      "the removed remote's older row does not crowd it out",
    );
    assert.equal(s.due(later, 10).length, 2, 'without lanes, every row');
    const live = s.nextDueAt(lanes);
    assert.ok(live !== null);
    assert.ok(live > (s.nextDueAt() ?? Infinity), 'the orphaned row does not keep the next retry due');
    assert.equal(s.nextDueAt([{ root: ROOT, remoteId: 'other::x' }]), null);
  });
});

test('a row whose rsync could not start (127) is tried again every 5 s, however often; a remote failure backs off', async () => {
  await withStore((s) => {
    for (let i = 0; i < 8; i++) {
      s.fail(s.begin(R, ROOT, [sync('not-started')]), { exitCode: 127, message: 'cannot run rsync: EMFILE' });
      s.fail(s.begin(R, ROOT, [sync('remote-down')]), { exitCode: 10, message: 'connection refused' });
    }
    const wait = (path: string): number =>
      (s.list().find((r) => r.op.path === path)?.nextAttemptAt ?? 0) - T0;
    assert.equal(wait('not-started'), 5000);
    assert.equal(wait('remote-down'), 5000 * 2 ** 7, 'the eighth failure: 5 s doubled seven times');
  });
});
