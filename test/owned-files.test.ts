/**
 * The files sersync2 writes as root, attacked by another local user who may create names where
 * they live (a shared sticky directory such as /tmp): nothing is ever written through a link.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  open,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  chmodSync,
  chownSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { writePidFile } from '../src/daemon/detach.js';
import { openLog } from '../src/log/logger.js';
import { openAppend, readFileNoFollow } from '../src/owned-files.js';
import { failLogMirror } from '../src/queue/fail-log-mirror.js';
import { resolveStateDir } from '../src/queue/state-dir.js';
import { openWorkStore } from '../src/queue/store.js';
import { testConfig } from './queue/helpers/config.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/trees.js';
import { useUnprivileged, type Unprivileged } from './helpers/unprivileged.js';

const attacker = useUnprivileged();

interface World {
  /** A root-owned sticky directory everyone may write, like /tmp. */
  readonly shared: string;
  /** A root-owned file the attacker wants overwritten. */
  readonly victim: string;
  readonly user: Unprivileged;
  /** `ln -s victim NAME` in the shared directory, run as the attacker. */
  readonly plant: (name: string) => void;
}

async function world(t: TestContext): Promise<World | null> {
  const user = attacker.user();
  if (user === null) {
    t.skip(attacker.reason());
    return null;
  }
  const work = await tempDir('sersync-owned-');
  t.after(work.remove);
  const shared = join(work.path, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const victim = join(work.path, 'victim');
  writeFileSync(victim, 'ORIGINAL');
  user.reach(shared);
  const plant = (name: string): void => {
    const r = user.run(['ln', '-s', victim, join(shared, name)]);
    assert.equal(r.status, 0, r.stderr);
  };
  return { shared, victim, user, plant };
}

test('the fail log in a shared sticky directory: links planted at its name and at temp names are replaced, never written through, and the directory is warned about', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const file = join(w.shared, 'rsync_fail_log.sh');
  w.plant('rsync_fail_log.sh');
  w.plant(`rsync_fail_log.sh.tmp-${process.pid}`); // the name the mirror used to write through
  const config = testConfig(w.shared, { watch: '/W', failLog: file });
  const store = openWorkStore(join(w.shared, '..', 'q.sqlite'));
  t.after(() => {
    store.close();
  });
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
  const mirror = failLogMirror(config, () => store, log);
  for (let i = 0; i < 2; i++)
    store.fail(store.begin('127.0.0.1::tongbu1', '/W', [{ kind: 'sync', path: 'a.txt' }]), {
      exitCode: 23,
      message: 'failed',
    });
  mirror.update(store.failedAtLeast(2));
  assert.equal(readFileSync(w.victim, 'utf8'), 'ORIGINAL', 'root wrote through the planted link');
  const st = lstatSync(file);
  assert.ok(st.isFile() && st.uid === 0 && (st.mode & 0o777) === 0o600, 'the fail log is root’s own file');
  assert.match(readFileSync(file, 'latin1'), /a\.txt/);
  assert.ok(
    lines.some((l) => l.includes('which other users can write (mode 1777)')),
    `no warning about the directory:\n${lines.join('')}`,
  );
  assert.ok(
    lines.some((l) => l.includes('kept it as')),
    'the planted link was set aside, not followed',
  );
});

test("a fail log of root's too large to read is set aside unread, and said so (not taken for sersync's)", async (t) => {
  const work = await tempDir('sersync-bigfaillog-');
  t.after(() => work.remove());
  const file = join(work.path, 'rsync_fail_log.sh');
  writeFileSync(file, '');
  truncateSync(file, 256 * 1024 * 1024 + 1); // sparse: a size, no memory
  const store = openWorkStore(join(work.path, 'q.sqlite'));
  t.after(() => {
    store.close();
  });
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
  failLogMirror(testConfig(work.path, { watch: '/W', failLog: file }), () => store, log).update([]);
  const kept = readdirSync(work.path).filter((f) => f.startsWith('rsync_fail_log.sh.sersync-'));
  assert.equal(kept.length, 1, 'set aside, not overwritten');
  assert.equal(statSync(join(work.path, kept[0] ?? '')).size, 256 * 1024 * 1024 + 1);
  assert.equal(statSync(file).size, 0, 'the mirror took its place');
  const said = lines.map((l) => String((JSON.parse(l) as { msg?: string }).msg)).join('\n');
  assert.match(
    said,
    /found a fail log larger than 256 MiB at .* \(not read to tell whether this queue wrote it\); kept it as /,
  );
  assert.doesNotMatch(said, /sersync's\?/);
});

test('the pid file: a link planted at its name is replaced, never written through', async (t) => {
  const w = await world(t);
  if (w === null) return;
  w.plant('sersync2.pid');
  const pid = writePidFile(join(w.shared, 'sersync2.pid'));
  assert.equal(readFileSync(w.victim, 'utf8'), 'ORIGINAL');
  assert.equal(readFileSync(join(w.shared, 'sersync2.pid'), 'utf8'), `${process.pid}\n`);
  assert.ok(lstatSync(join(w.shared, 'sersync2.pid')).isFile());
  pid.remove();
});

test('the log file: a link, a file of another user, a hard link and a directory others may swap it in are refused; in a sticky directory it is created owner-only', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const at = (name: string): string => join(w.shared, name);
  w.plant('link.log');
  assert.throws(
    () => openAppend(at('link.log'), 'log file'),
    /refusing to write the log file .*: it is a symlink/,
  );
  assert.throws(() => openLog({ level: 'info', file: at('link.log') }), /it is a symlink/);
  assert.equal(w.user.run(['touch', at('theirs.log')]).status, 0);
  assert.throws(() => openAppend(at('theirs.log'), 'log file'), /it belongs to another user/);
  writeFileSync(at('linked.log'), '');
  linkSync(at('linked.log'), at('second-name'));
  assert.throws(() => openAppend(at('linked.log'), 'log file'), /it has other hard links/);
  const open = join(w.shared, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  assert.throws(() => openAppend(join(open, 'x.log'), 'log file'), /others can write its directory/);
  closeSync(openAppend(at('mine.log'), 'log file'));
  const st = statSync(at('mine.log'));
  assert.ok(st.uid === 0 && (st.mode & 0o777) === 0o600);
  assert.equal(readFileSync(w.victim, 'utf8'), 'ORIGINAL');
});

test('the state directory: one others may write, or of another user, is refused', async (t) => {
  const w = await world(t);
  if (w === null) return;
  assert.throws(
    () => resolveStateDir(w.shared, null),
    /cannot use state directory .*others can write it \(mode 1777\)/,
  );
  const theirs = join(w.shared, 'theirs');
  assert.equal(w.user.run(['mkdir', '-m', '700', theirs]).status, 0);
  assert.throws(() => resolveStateDir(theirs, null), /theirs belongs to another user \(uid \d+\)/);
});

test('the log file: a sticky directory of another user is refused (its owner may swap the file)', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const theirs = join(w.shared, 'theirs');
  assert.equal(w.user.run(['mkdir', '-m', '1755', theirs]).status, 0);
  assert.throws(
    () => openAppend(join(theirs, 's.log'), 'log file'),
    new RegExp(
      `refusing to write the log file .*: ${theirs} belongs to another user \\(uid ${w.user.uid}\\)`,
    ),
  );
  assert.throws(() => openLog({ level: 'info', file: join(theirs, 's.log') }), /belongs to another user/);
  assert.deepEqual(readdirSync(theirs), []);
});

test('every file root writes, reached through a link another user planted in a sticky directory: refused, nothing written where it leads', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const target = join(w.shared, '..', 'root-only');
  mkdirSync(target, { mode: 0o700 });
  const link = join(w.shared, 'planted');
  assert.equal(w.user.run(['ln', '-s', target, link]).status, 0);
  const why = new RegExp(`the symlink ${link} belongs to another user \\(uid ${w.user.uid}\\)`);
  assert.throws(() => resolveStateDir(link, null), why);
  assert.throws(() => resolveStateDir(join(link, 'below'), null), why);
  assert.throws(() => writePidFile(join(link, 'sersync2.pid')), why);
  assert.throws(() => openAppend(join(link, 's.log'), 'log file'), why);
  const failLog = join(link, 'rsync_fail_log.sh');
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
  const store = openWorkStore(join(w.shared, '..', 'q.sqlite'));
  t.after(() => {
    store.close();
  });
  failLogMirror(testConfig(w.shared, { watch: '/W', failLog }), () => store, log).update([]);
  assert.equal(lines.length, 1, lines.join(''));
  assert.match(lines[0] ?? '', new RegExp(`the fail log ${failLog} is not written: ${why.source}`));
  assert.deepEqual(readdirSync(target), [], 'root wrote where the link leads');
});

test('a directory on the way that others may write without the sticky bit is refused; links of root or this user are followed', async (t) => {
  const w = await world(t);
  if (w === null) return;
  const open = join(w.shared, '..', 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  assert.throws(
    () => resolveStateDir(join(open, 'state'), null),
    new RegExp(`others can write ${open} \\(mode 0777\\)`),
  );
  assert.throws(() => writePidFile(join(open, 'sersync2.pid')), /others can write its directory/);
  // root's own relative link (as /var/run -> ../run), and `..` after it taken where the link leads
  const work = join(w.shared, '..');
  mkdirSync(join(work, 'real'), { mode: 0o700 });
  mkdirSync(join(work, 'etc'), { mode: 0o700 });
  symlinkSync('../real', join(work, 'etc', 'alias'));
  writePidFile(`${work}/etc/alias/../real/sersync2.pid`);
  assert.equal(readFileSync(join(work, 'real', 'sersync2.pid'), 'utf8'), `${process.pid}\n`);
});

/**
 * Runs `act` while every thread of libuv's pool waits on a FIFO, then lets them go: a file the code
 * under test asked to open asynchronously (by name) is opened only after `act` (as on a busy machine).
 */
async function beforeQueuedOpens(dir: string, act: () => void): Promise<void> {
  const fifos = Array.from({ length: Number(process.env['UV_THREADPOOL_SIZE'] ?? 4) }, (_, i) =>
    join(dir, `pool-${i}`),
  );
  const waiting = fifos.map((fifo) => {
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    return new Promise<void>((resolve, reject) => {
      open(fifo, 'r', (err, fd) => {
        if (err !== null) return reject(err);
        closeSync(fd);
        rmSync(fifo);
        resolve();
      });
    });
  });
  act();
  for (const fifo of fifos) closeSync(openSync(fifo, 'w')); // waits for its reader: no race
  await Promise.all(waiting);
}

test('the log file: lines go to the file that was checked, at start and at each reopen, never to a link put at its name after the check', async (t) => {
  const work = await tempDir('sersync-log-fd-');
  t.after(work.remove);
  const file = join(work.path, 's.log');
  const victim = join(work.path, 'victim');
  writeFileSync(victim, 'ORIGINAL');
  const swap = (keep: string): void => {
    renameSync(file, join(work.path, keep));
    symlinkSync(victim, file);
  };
  let log: ReturnType<typeof openLog> | null = null;
  await beforeQueuedOpens(work.path, () => {
    log = openLog({ level: 'info', file });
    swap('first.log');
  });
  const { logger, reopen } = log as unknown as ReturnType<typeof openLog>;
  logger.info('line one');
  rmSync(file);
  await beforeQueuedOpens(work.path, () => {
    reopen();
    swap('second.log');
  });
  logger.info('line two');
  const text = (name: string): string => readFileSync(join(work.path, name), 'utf8');
  // the lines are written asynchronously, where they are written
  await eventually(
    () =>
      text('victim') !== 'ORIGINAL' ||
      (/line one/.test(text('first.log')) && /line two/.test(text('second.log'))),
    10_000,
    'the two lines',
  );
  assert.equal(readFileSync(victim, 'utf8'), 'ORIGINAL', 'the log was written through the link');
  assert.match(readFileSync(join(work.path, 'first.log'), 'utf8'), /line one/);
  assert.match(readFileSync(join(work.path, 'second.log'), 'utf8'), /line two/);
});

test('a file root wrote earlier is read back only while it is still its own and small: another user may put a file of any size there', async (t) => {
  const work = await tempDir('sersync-readback-');
  t.after(() => work.remove());
  const file = join(work.path, 'fail.sh');
  writeFileSync(file, 'ours\n');
  assert.deepEqual(readFileNoFollow(file, 1024), Buffer.from('ours\n'));
  truncateSync(file, 300 * 1024 * 1024); // sparse: a size, no memory
  assert.equal(readFileNoFollow(file, 1024), 'too-large', 'larger than asked for: not read');
  writeFileSync(file, 'theirs\n');
  chownSync(file, 65534, 65534);
  assert.equal(readFileNoFollow(file, 1024), 'other', "another user's file: not read");
  rmSync(file);
  assert.equal(readFileNoFollow(file, 1024), null);
});
