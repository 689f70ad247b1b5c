/**
 * Hostile source trees: what the replicator finds on its own side. Each case ends converged
 * (the replica equals the source, byte for byte), with an empty queue and the process alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { disposeRsyncDaemon, freePort, startRsyncDaemon, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { eventually } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import { startWriter } from '../lib/workload.js';
import type { CaseResult } from './result.js';

/**
 * The tests run as root, who reads any file whatever its mode: sersync2 runs here without the
 * capabilities that allow it (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), as an ordinary service
 * user would, so a mode-000 file is really unreadable to it and to its rsync.
 */
const WITHOUT_ROOT_READ = ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--'];

/**
 * A file and a directory the replicator cannot read (the directory inside a tree moved in):
 * everything else arrives, only they wait in the queue, with rsync's "Permission denied" and
 * "cannot read directory"; a full sync meanwhile, whose deletions rsync skips, waits too; once
 * readable and retried, they arrive, and the full sync is done.
 */
export async function unreadableFile(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const outside = join(rig.base, 'outside');
  const locked = join(rig.src, 'tree', 'locked');
  try {
    await rig.start([], { wrapper: WITHOUT_ROOT_READ });
    const secret = join(rig.src, 'secret.txt');
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    writeFileSync(secret, 'the replicator may not read this', { mode: 0o000 });
    writeFileSync(join(rig.src, 'b.txt'), 'b');
    mkdirSync(join(outside, 'locked'), { recursive: true });
    writeFileSync(join(outside, 'readable.txt'), 'r');
    writeFileSync(join(outside, 'locked', 'hidden.txt'), 'h');
    chmodSync(join(outside, 'locked'), 0o000);
    renameSync(outside, join(rig.src, 'tree'));
    await eventually(
      () => rig.queued().filter((r) => r.attempts > 0).length === 2,
      15_000,
      'two failed rows',
    );
    const rows = rig.queue().sort((x, y) => x.op.path.localeCompare(y.op.path));
    assert.deepEqual(
      rows.map((r) => r.op.path),
      ['secret.txt', 'tree'],
      'only the unreadable file and the tree holding the unreadable directory wait',
    );
    assert.match(rows[0]?.lastError ?? '', /Permission denied/);
    assert.match(rows[1]?.lastError ?? '', /cannot read directory tree\/locked/);
    for (const f of ['a.txt', 'b.txt']) assert.equal(readFileSync(join(rig.replica, f), 'utf8'), f[0]);
    assert.equal(readFileSync(join(rig.replica, 'tree', 'readable.txt'), 'utf8'), 'r');
    // Nor can it be watched: status says so while it lasts.
    const gaps = (): unknown[] =>
      rig.status().trees.flatMap((t) => t.gaps.map((g) => [g.path, g.reason, g.why]));
    await eventually(() => gaps().length > 0, 5_000, 'status to show the unwatchable directory');
    assert.deepEqual(gaps(), [['tree/locked', 'unwatchable', 'permission denied (openat)']]);
    assert.equal(rig.status().trees[0]?.watching, false);
    // A full sync meanwhile cannot read the locked directory either, and rsync then skips the
    // deletions of the directories it reaches after it (saying so on stdout only): the full sync
    // must not count as done.
    writeFileSync(join(rig.replica, 'stale.txt'), 'deleted from the tree while its event was missed');
    assert.equal(rig.cli(['resync']).status, 0);
    await eventually(
      () => rig.queued().some((r) => r.op.kind === 'full' && r.attempts > 0),
      15_000,
      'the full sync to wait in the queue',
    );
    chmodSync(secret, 0o644);
    chmodSync(locked, 0o755);
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    await rig.converged(15_000, 'after the file became readable');
    await eventually(() => gaps().length === 0, 5_000, 'status to show the directory watched');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    if (existsSync(locked)) chmodSync(locked, 0o755);
    await rig.stop();
  }
}

/**
 * A directory the replicator may list but not enter (mode 0644): its files cannot even be looked
 * at. Only the tree holding it waits in the queue, with rsync's "Permission denied", and status
 * and /metrics say so as a failure of the remote, never as a retry queue that cannot be written;
 * everything else arrives. Once enterable and retried, it arrives too.
 */
export async function searchlessDirectory(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const outside = join(rig.base, 'outside');
  const listed = join(rig.src, 'tree', 'listed');
  try {
    await rig.start([], { wrapper: WITHOUT_ROOT_READ });
    mkdirSync(join(outside, 'listed'), { recursive: true });
    writeFileSync(join(outside, 'readable.txt'), 'r');
    writeFileSync(join(outside, 'listed', 'inside.txt'), 'i');
    chmodSync(join(outside, 'listed'), 0o644);
    renameSync(outside, join(rig.src, 'tree'));
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    await eventually(() => rig.queued().some((r) => r.attempts > 0), 15_000, 'a failed row');
    const rows = rig.queue();
    assert.deepEqual(
      rows.map((r) => r.op.path),
      ['tree'],
      'only the tree holding the directory that cannot be entered waits',
    );
    assert.match(rows[0]?.lastError ?? '', /tree\/listed\/inside\.txt.*Permission denied/);
    assert.equal(readFileSync(join(rig.replica, 'tree', 'readable.txt'), 'utf8'), 'r');
    await eventually(() => existsSync(join(rig.replica, 'a.txt')), 15_000, 'a.txt beside it');
    const status = rig.status();
    assert.equal(status.queueWriteFailure, null, 'the queue is written: this is not its fault');
    assert.match(status.remotes[0]?.lastError ?? '', /Permission denied/);
    assert.equal(await rig.metric('sersync_queue_write_failing', {}), 0);
    chmodSync(listed, 0o755);
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    await rig.converged(15_000, 'after the directory could be entered');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    if (existsSync(listed)) chmodSync(listed, 0o755);
    await rig.stop();
  }
}

/**
 * Files removed, truncated or replaced while rsync reads them (rsync slowed down so that it
 * does): a vanished source is not a failure, and the last version of each file arrives.
 */
export async function vanishingFiles(
  work: string,
  daemon: RsyncDaemon,
  p: { files: number; seed: number },
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, spec: { params: '-artz --bwlimit=5000' } });
  try {
    await rig.start();
    await startWriter(['flicker', rig.src, String(p.files), String(p.seed)]).finished();
    await rig.converged(30_000, `after the flicker (seed ${p.seed})`);
    return { faults: p.files, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/** A file replaced by a directory of the same name and back, slowly and then in a quick series. */
export async function fileBecomesDirectory(
  work: string,
  daemon: RsyncDaemon,
  flips: number,
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const x = join(rig.src, 'x');
  const toDir = (i: number): void => {
    rmSync(x, { recursive: true, force: true });
    mkdirSync(join(x, 'inner'), { recursive: true });
    writeFileSync(join(x, 'inner', 'f'), `dir ${i}`);
  };
  const toFile = (i: number): void => {
    rmSync(x, { recursive: true, force: true });
    writeFileSync(x, `file ${i}`);
  };
  try {
    await rig.start();
    toFile(0);
    await rig.converged(10_000, 'a file');
    toDir(1);
    await rig.converged(10_000, 'the file became a directory');
    toFile(2);
    await rig.converged(10_000, 'the directory became a file');
    for (let i = 3; i < 3 + flips; i++) (i % 2 === 0 ? toFile : toDir)(i);
    await rig.converged(15_000, 'after quick flips');
    return { faults: flips + 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * Symlink loops of every shape: replicated as links, never followed (no hang, no endless tree).
 * An rsync daemon without chroot rewrites link targets (munged, or `..` and a leading `/`
 * removed), so this module is chrooted and does not munge: then links arrive byte-exact.
 */
export async function symlinkLoops(work: string): Promise<CaseResult> {
  const daemon = await startRsyncDaemon({ moduleLines: ['use chroot = yes', 'munge symlinks = no'] });
  const rig = Rig.create(work, { daemon, spec: { params: '-artuzl' } });
  try {
    await rig.start(['-r']);
    const d = join(rig.src, 'loops');
    mkdirSync(d);
    symlinkSync('self', join(d, 'self')); // points at itself
    symlinkSync('b', join(d, 'a'));
    symlinkSync('a', join(d, 'b'));
    symlinkSync('..', join(d, 'up')); // a directory loop if followed
    symlinkSync('.', join(d, 'here'));
    symlinkSync(rig.src, join(d, 'root'));
    writeFileSync(join(d, 'real.txt'), 'real');
    await rig.converged(10_000, 'symlink loops');
    for (const l of ['self', 'a', 'b', 'up', 'here', 'root'])
      assert.ok(lstatSync(join(rig.replica, 'loops', l)).isSymbolicLink(), `${l} is a link on the replica`);
    return { faults: 6, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A FIFO and a socket in the tree: sent as what they are (rsync -D), never opened (a FIFO
 * would block a reader forever). `diff -r` cannot compare them, so their types are checked.
 */
export async function specialFiles(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, spec: { params: '-artuzD' } });
  const specials = ['*.fifo', '*.socket'];
  try {
    await rig.start();
    mkdirSync(join(rig.src, 'sp'));
    assert.equal(spawnSync('mkfifo', [join(rig.src, 'sp', 'p.fifo')]).status, 0);
    const server = createServer();
    server.listen(join(rig.src, 'sp', 's.socket'));
    await once(server, 'listening');
    writeFileSync(join(rig.src, 'sp', 'after.txt'), 'after the specials');
    await rig.converged(10_000, 'a FIFO and a socket', specials);
    await eventually(
      () =>
        existsSync(join(rig.replica, 'sp', 's.socket')) &&
        lstatSync(join(rig.replica, 'sp', 'p.fifo')).isFIFO() &&
        lstatSync(join(rig.replica, 'sp', 's.socket')).isSocket(),
      10_000,
      'the FIFO and the socket on the replica',
    );
    server.close(); // removes the socket file
    await once(server, 'close');
    await rig.converged(10_000, 'the socket removed', specials);
    assert.equal(existsSync(join(rig.replica, 'sp', 's.socket')), false);
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * Files whose close never names them, while an upload and a database (an existing file written in
 * place) are written through descriptors kept open: maildir deliveries (written in tmp/, linked
 * into new/, unlinked from tmp/) arrive; the upload and the database are shown in `status`
 * (awaiting their close, pending, lag) and /metrics (pending) while they are written, and arrive
 * once nobody writes them, their descriptors still open.
 */
export async function unclosedFiles(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const open: number[] = [];
  let writer: NodeJS.Timeout | undefined;
  try {
    await rig.start();
    const db = join(rig.src, 'app.db');
    writeFileSync(db, 'page 00000\n'.repeat(64));
    await eventually(() => existsSync(join(rig.replica, 'app.db')), 15_000, 'the database as first written');
    const md = join(rig.src, 'Maildir');
    for (const d of ['tmp', 'new', 'cur']) mkdirSync(join(md, d), { recursive: true });
    const upload = openSync(join(rig.src, 'upload.bin'), 'w');
    open.push(upload);
    const pages = openSync(db, 'r+');
    open.push(pages);
    let chunks = 0;
    writer = setInterval(() => {
      writeSync(upload, `chunk ${++chunks}\n`);
      writeSync(pages, `page ${String(chunks).padStart(5, '0')}\n`, (chunks % 64) * 11); // in place
    }, 50);
    const mails = Array.from({ length: 5 }, (_, i) => `1700000000.M${i}P${process.pid}.host`);
    for (const name of mails) {
      writeFileSync(join(md, 'tmp', name), `Subject: ${name}\n\nbody\n`);
      linkSync(join(md, 'tmp', name), join(md, 'new', name));
      rmSync(join(md, 'tmp', name));
    }
    await eventually(
      () => mails.every((m) => existsSync(join(rig.replica, 'Maildir', 'new', m))),
      15_000,
      'the delivered mails on the replica',
    );
    await eventually(
      () => rig.status().lanes[0]?.awaitingClose === 2,
      15_000,
      'status: the upload and the database await their close',
    );
    const [remote] = rig.status().remotes;
    assert.ok(remote !== undefined);
    assert.ok(remote.pending >= 2, 'they are pending');
    assert.ok(remote.lagSeconds > 0, 'and count as lag');
    const metric = await rig.metric('sersync_pending_operations', { root: rig.src, remote: remote.remote });
    assert.ok((metric ?? 0) >= 2, `/metrics: they are pending (${metric})`);
    const held = await rig.metric('sersync_files_awaiting_close', { root: rig.src, remote: remote.remote });
    assert.equal(held, 2, '/metrics: both await their close');
    clearInterval(writer);
    await rig.converged(
      15_000,
      'the upload and the database, their descriptors still open, once nobody writes them',
    );
    assert.equal(rig.status().lanes[0]?.awaitingClose, 0);
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    clearInterval(writer);
    for (const fd of open) closeSync(fd);
    await rig.stop();
  }
}
