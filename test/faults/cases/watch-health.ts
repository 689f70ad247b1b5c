/**
 * Faults that blind the watcher without a word from the kernel to the user: file systems mounted
 * and unmounted in the tree (and under its root), the inotify watch limit reached while running,
 * the root swapped for a symlink, a symlinked watch path switched by a deploy. Each case asserts
 * that the replica converges once the cause is gone AND that `sersync2 status --json` and
 * `/metrics` show the fault while it lasts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PathOp } from '../../../src/coalesce/types.js';
import type { TreeReport } from '../../../src/daemon/status.js';
import { freePort, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { createUnprivileged, type Unprivileged } from '../../helpers/unprivileged.js';
import { eventually, treeDiff } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

const LIMITED = fileURLToPath(new URL('../../daemon/limited-child.js', import.meta.url));

/** Why tmpfs cannot be mounted here (not root, no CAP_SYS_ADMIN), or undefined when it can. */
export function mountUnavailable(): string | undefined {
  const probe = join('/tmp', `sersync-mount-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'sersync-probe', probe], {
      encoding: 'utf8',
    });
    if (r.error !== undefined) return `mount(8) cannot run: ${r.error.message}`;
    if (r.status !== 0) return `mounting tmpfs is not permitted here: ${r.stderr.trim()}`;
    spawnSync('umount', [probe]);
    return undefined;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Why a private user namespace (to lower the watch limit for one process) is not available. */
export function userNamespaceUnavailable(): string | undefined {
  const probe = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `unshare(1) cannot run: ${probe.error.message}`;
  return probe.status === 0 ? undefined : `no private user namespace here: ${probe.stderr.trim()}`;
}

/** Why a FUSE file system (bindfs) cannot be mounted here, or undefined when it can. */
export function fuseUnavailable(): string | undefined {
  const probe = join('/tmp', `sersync-fuse-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  try {
    const r = spawnSync('bindfs', [probe, probe], { encoding: 'utf8' });
    if (r.error !== undefined) return `bindfs cannot run (.ci/run installs it): ${r.error.message}`;
    if (r.status !== 0) return `mounting a FUSE file system is not permitted here: ${r.stderr.trim()}`;
    spawnSync('umount', [probe]);
    return undefined;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

function mountTmpfs(dir: string): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'sersync-test', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount ${dir}: ${r.stderr}`);
}

function unmount(dir: string): void {
  const r = spawnSync('umount', [dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `umount ${dir}: ${r.stderr}`);
}

/** Unmounts whatever the case left mounted at these places (a failed case must not leak mounts). */
function unmountAll(dirs: readonly string[]): void {
  for (const dir of dirs)
    while (spawnSync('mountpoint', ['-q', dir]).status === 0) spawnSync('umount', [dir]);
}

/** The one tree of the rig as `status --json` shows it. */
function tree(rig: Rig): TreeReport {
  const [t] = rig.status().trees;
  assert.ok(t !== undefined, 'status shows the tree');
  return t;
}

/** Waits until `status --json` shows `want` for the tree. */
async function statusShows(rig: Rig, want: (t: TreeReport) => boolean, what: string): Promise<TreeReport> {
  let last: TreeReport | undefined;
  await eventually(() => want((last = tree(rig))), 20_000, `status --json to show ${what}`).catch(
    (err: unknown) => {
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
    },
  );
  return last as TreeReport;
}

async function degradedMetric(rig: Rig, reason: string): Promise<number | undefined> {
  return rig.metric('sersync_tree_degraded', { root: rig.opts.spec?.watch ?? rig.src, reason });
}

/**
 * A disk mounted in the tree when watching began, unmounted (the kernel drops its watches), then
 * mounted again: while it is away status and /metrics say `unmounted` (the tree is not WATCHING
 * whole), the replica keeps its copy, even through a full sync; mounted again, it converges.
 */
export async function mountedInTree(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const mnt = join(rig.src, 'mnt');
  try {
    mkdirSync(mnt);
    writeFileSync(join(mnt, 'under.txt'), 'the directory the disk is mounted on');
    mountTmpfs(mnt);
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    writeFileSync(join(mnt, 'm1.txt'), 'on the disk mounted before start');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the unmount');

    unmount(mnt);
    const away = await statusShows(rig, (t) => t.degraded.includes('unmounted'), 'the unmounted disk');
    assert.deepEqual(away.gaps, [{ path: 'mnt', reason: 'unmounted' }]);
    assert.equal(away.watching, false, 'not WATCHING while part of the tree is away');
    assert.equal(await degradedMetric(rig, 'unmounted'), 1, '/metrics: degraded, reason unmounted');
    assert.equal(await rig.metric('sersync_tree_watching', { root: rig.src }), 0);
    // a full sync meanwhile (crontab, `sersync2 resync`) sends the rest but neither deletes the
    // disk's copy nor sends the directory under it
    writeFileSync(join(rig.src, 'during.txt'), 'written while the disk is away');
    assert.equal(rig.cli(['resync']).status, 0);
    await eventually(() => existsSync(join(rig.replica, 'during.txt')), 10_000, 'the resync');
    await eventually(() => rig.queued().length === 0, 10_000, 'the resync done');
    assert.ok(
      existsSync(join(rig.replica, 'mnt', 'm1.txt')),
      'a full sync keeps the copy of an unmounted disk',
    );
    assert.ok(!existsSync(join(rig.replica, 'mnt', 'under.txt')), 'the directory under it is not sent');

    mountTmpfs(mnt);
    writeFileSync(join(mnt, 'm2.txt'), 'on the disk mounted again');
    await rig.converged(20_000, 'the file system mounted again');
    const back = await statusShows(rig, (t) => t.degraded.length === 0, 'no gap any more');
    assert.equal(back.watching, true);
    assert.equal(await degradedMetric(rig, 'unmounted'), 0);
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      unmountAll([mnt]);
    });
  }
}

/**
 * A directory mounted over after start (a bind mount: no event at all), then lazily unmounted: the
 * directory it covered is the tree's own again, so nothing is degraded (status and /metrics), its
 * own content is watched and the replica converges to it, the mount's files gone from it.
 */
export async function mountedAfterStart(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const sub = join(rig.src, 'sub');
  const other = join(rig.base, 'other');
  try {
    mkdirSync(sub);
    mkdirSync(other);
    writeFileSync(join(sub, 'own.txt'), "the tree's own directory");
    writeFileSync(join(other, 'bound.txt'), 'elsewhere');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the mount');
    const r = spawnSync('mount', ['--bind', other, sub], { encoding: 'utf8' });
    assert.equal(r.status, 0, `mount --bind: ${r.stderr}`);
    writeFileSync(join(sub, 'via-bind.txt'), 'through the bind mount');
    await rig.converged(20_000, 'a directory bind-mounted after start');

    const l = spawnSync('umount', ['-l', sub], { encoding: 'utf8' });
    assert.equal(l.status, 0, `umount -l: ${l.stderr}`);
    writeFileSync(join(sub, 'after.txt'), 'in the uncovered directory');
    await rig.converged(20_000, "the tree's own directory uncovered");
    assert.ok(!existsSync(join(rig.replica, 'sub', 'bound.txt')), "the mount's files left the replica");
    const back = await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'nothing degraded');
    assert.deepEqual(back.gaps, []);
    assert.equal(await degradedMetric(rig, 'unmounted'), 0);
    assert.equal(await rig.metric('sersync_tree_watching', { root: rig.src }), 1);
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      unmountAll([sub]);
    });
  }
}

/**
 * A new watcher for the tree, as at any watcher restart: the root moved away (the watcher sees it
 * go and is dropped) and back (a new one is started, the tree resynced).
 */
async function rootAwayAndBack(rig: Rig, away: string): Promise<void> {
  renameSync(rig.src, away);
  await statusShows(rig, (t) => t.degraded.includes('root-gone'), 'the root gone');
  renameSync(away, rig.src);
  await statusShows(rig, (t) => t.watcher === 'inotify', 'the root watched again');
  await eventually(() => rig.logLines(/watched directory is back/).length > 0, 5000, 'a new watcher');
}

/**
 * A tmpfs mounted over a directory after start, a new watcher (a restart), then the tmpfs
 * unmounted: the directory it covered is still the tree's own (the new watcher goes on from what
 * the one before knew), so its content reaches the replica and nothing is degraded.
 */
export async function mountedAfterStartAcrossRestart(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const sub = join(rig.src, 'sub');
  const away = join(rig.base, 'away');
  try {
    mkdirSync(sub);
    writeFileSync(join(sub, 'own.txt'), "the tree's own directory");
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the mount');
    mountTmpfs(sub);
    writeFileSync(join(sub, 'on-tmpfs.txt'), 'on the tmpfs');
    await rig.converged(20_000, 'a tmpfs mounted after start');

    await rootAwayAndBack(rig, away);
    await rig.converged(20_000, 'the tree watched by a new watcher');
    unmount(sub);
    writeFileSync(join(sub, 'after.txt'), 'in the uncovered directory');
    await rig.converged(20_000, "the tree's own directory uncovered");
    assert.ok(
      existsSync(join(rig.replica, 'sub', 'own.txt')),
      "the directory's own file is back on the replica",
    );
    assert.ok(!existsSync(join(rig.replica, 'sub', 'on-tmpfs.txt')), "the tmpfs's files left the replica");
    const back = await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'nothing degraded');
    assert.deepEqual(back.gaps, []);
    assert.equal(await degradedMetric(rig, 'unmounted'), 0);
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      unmountAll([sub, join(away, 'sub')]);
    });
  }
}

/**
 * A disk there at start unmounted (a gap), then a new watcher (a restart): the gap is kept, status
 * and /metrics still show it, and the resync that follows the restart neither deletes the disk's
 * copy nor sends the directory under it; mounted again, the tree converges and is whole.
 */
export async function gapAcrossRestart(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const mnt = join(rig.src, 'mnt');
  const away = join(rig.base, 'away');
  try {
    mkdirSync(mnt);
    writeFileSync(join(mnt, 'under.txt'), 'the directory the disk is mounted on');
    mountTmpfs(mnt);
    writeFileSync(join(mnt, 'm1.txt'), 'on the disk mounted before start');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the unmount');
    unmount(mnt);
    await statusShows(rig, (t) => t.degraded.includes('unmounted'), 'the unmounted disk');

    await rootAwayAndBack(rig, away);
    writeFileSync(join(rig.src, 'after.txt'), 'written after the restart');
    await eventually(() => existsSync(join(rig.replica, 'after.txt')), 10_000, 'a change after the restart');
    await eventually(() => rig.queued().length === 0, 10_000, 'the resync after the restart done');
    const kept = tree(rig);
    assert.deepEqual(kept.gaps, [{ path: 'mnt', reason: 'unmounted' }], 'the gap outlives the restart');
    assert.equal(kept.watching, false);
    assert.equal(await degradedMetric(rig, 'unmounted'), 1);
    assert.ok(existsSync(join(rig.replica, 'mnt', 'm1.txt')), "the resync keeps the disk's copy");
    assert.ok(!existsSync(join(rig.replica, 'mnt', 'under.txt')), 'the directory under it is not sent');

    mountTmpfs(mnt);
    writeFileSync(join(mnt, 'm2.txt'), 'on the disk mounted again');
    await rig.converged(20_000, 'the file system mounted again');
    const back = await statusShows(rig, (t) => t.degraded.length === 0, 'no gap any more');
    assert.equal(back.watching, true);
    return { faults: 3, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      unmountAll([mnt, join(away, 'mnt')]);
    });
  }
}

/**
 * A tmpfs mounted over the watch root after start (a directory of the same owner: watched and
 * replicated), then unmounted: the directory under it is the one watched at start, so it is
 * watched again and the tree resynced, nothing degraded (status and /metrics); the replica
 * converges to it, with a file written after the unmount.
 */
export async function rootMountedOver(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the mount');
    mountTmpfs(rig.src);
    writeFileSync(join(rig.src, 'on-tmpfs.txt'), 'on the tmpfs');
    await rig.converged(20_000, 'the tmpfs mounted over the root');

    unmount(rig.src);
    writeFileSync(join(rig.src, 'after.txt'), 'written after the unmount');
    await rig.converged(20_000, 'the root uncovered');
    const back = await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'watching again');
    assert.equal(back.watcher, 'inotify');
    assert.equal(await degradedMetric(rig, 'unmounted'), 0);
    assert.equal(await rig.metric('sersync_tree_watching', { root: rig.src }), 1);
    writeFileSync(join(rig.src, 'later.txt'), 'an event in the uncovered root');
    await rig.converged(10_000, 'a change in the uncovered root');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      unmountAll([rig.src]);
    });
  }
}

/**
 * The watch root is itself a mount point, unmounted and mounted again: while it is away nothing is
 * sent (the directory under it is not the tree: the replica keeps its content), status and /metrics
 * say so; once mounted again the replica follows the new content.
 */
export async function rootRemounted(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    writeFileSync(join(rig.src, 'under.txt'), 'the directory the root is mounted on');
    mountTmpfs(rig.src);
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the unmount');

    unmount(rig.src);
    const away = await statusShows(rig, (t) => t.degraded.includes('unmounted'), 'the unmounted root');
    assert.equal(away.watching, false);
    assert.equal(await rig.metric('sersync_tree_watching', { root: rig.src }), 0);
    assert.equal(await degradedMetric(rig, 'unmounted'), 1);
    // two more root checks: still nothing sent from the directory under the mount
    await statusShows(rig, (t) => t.degraded.includes('unmounted'), 'the root still unmounted');
    assert.ok(existsSync(join(rig.replica, 'a.txt')), 'the replica keeps its content');
    assert.ok(!existsSync(join(rig.replica, 'under.txt')), 'the covered directory is not sent');

    mountTmpfs(rig.src);
    writeFileSync(join(rig.src, 'a.txt'), 'a, on the new mount');
    writeFileSync(join(rig.src, 'b.txt'), 'b');
    await rig.converged(20_000, 'the root mounted again');
    const back = await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'watching again');
    assert.equal(back.watcher, 'inotify');
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      unmountAll([rig.src]);
    });
  }
}

/**
 * The inotify watch limit (lowered in a private user namespace) reached by a new directory tree
 * while running: status and /metrics say which directories are not watched and how many; their
 * files still arrive, and removals in them replicate (sent whole now and then, pruned); once watches
 * are freed the tree is watched whole again and resynced.
 */
export async function watchLimitWhileRunning(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    for (let i = 0; i < 10; i++) mkdirSync(join(rig.src, 'spare', `s${i}`), { recursive: true });
    // the root, spare and its 10: 12 watches of 14
    await rig.start(['-r'], {
      wrapper: ['unshare', '--user', '--map-root-user', process.execPath, LIMITED, '14'],
    });
    await rig.converged(10_000, 'before the limit');
    for (let i = 0; i < 10; i++) {
      mkdirSync(join(rig.src, 'big', `b${i}`), { recursive: true });
      writeFileSync(join(rig.src, 'big', `b${i}`, 'f.txt'), `${i}`);
    }
    const limited = await statusShows(
      rig,
      (t) => t.degraded.includes('watch-limit') && t.unwatchedDirectories > 0,
      'the watch limit',
    );
    assert.equal(limited.watching, false, 'not WATCHING while part of the tree is not');
    assert.ok(limited.gaps.every((g) => g.reason === 'watch-limit' && g.path.startsWith('big/')));
    assert.equal(await rig.metric('sersync_tree_watching', { root: rig.src }), 0);
    assert.equal(
      await rig.metric('sersync_tree_unwatched_directories', { root: rig.src }),
      limited.unwatchedDirectories,
    );
    await rig.converged(30_000, 'the files in the directories that could not be watched');
    const gap = join(rig.src, limited.gaps[0]?.path ?? 'big');
    writeFileSync(join(gap, 'later.txt'), 'written into an unwatched directory');
    await rig.converged(30_000, 'a file written later into an unwatched directory (periodic send)');
    rmSync(join(gap, 'later.txt'));
    await rig.converged(30_000, 'a file removed from an unwatched directory (the periodic send prunes)');
    assert.ok(
      (await statusShows(rig, (t) => t.degraded.includes('watch-limit'), 'still at the limit')).gaps.length >
        0,
    );
    const warning = rig.logLines(/part of the tree is not watched/);
    assert.equal(warning.length, 1, 'said once');
    assert.match(String(warning[0]?.msg), /sysctl -w fs\.inotify\.max_user_watches=\d+/);
    assert.equal(rig.logLines('watcher error').length, 0, 'no error lines for the limit');

    rmSync(join(rig.src, 'spare'), { recursive: true }); // frees 11 watches
    await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'the whole tree watched again');
    writeFileSync(join(rig.src, 'big', 'b9', 'watched.txt'), 'watched now');
    await rig.converged(10_000, 'after the watches could be added');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * Stops sersync2: `queue list` must hold a row `queued` matches (`what`); runs `meanwhile`, starts it
 * again, and the replica converges with no resync of every tree (the stop was clean).
 */
async function acrossStop(
  rig: Rig,
  queued: (op: PathOp) => boolean,
  what: string,
  meanwhile: () => void,
): Promise<void> {
  await rig.stop();
  const rows = rig.queued();
  assert.ok(
    rows.some((r) => queued(r.op)),
    `${what} queued at the stop: ${JSON.stringify(rows)}`,
  );
  meanwhile();
  await rig.start();
  await rig.converged(15_000, `${what}, sent at the start`);
  assert.deepEqual(rig.logLines(/did not stop cleanly/), [], 'queued at the stop: no resync of every tree');
}

/**
 * The watch limit reached, then sersync2 stopped to raise it (its warning's advice) and started
 * again: what was written into an unwatched directory after its last periodic send is queued at the
 * stop (`queue list` shows it while stopped) and sent at the start, with no full resync. The stop
 * used to be clean without it, and the file never arrived.
 */
export async function watchLimitRaisedAcrossStop(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    for (let i = 0; i < 10; i++) mkdirSync(join(rig.src, 'spare', `s${i}`), { recursive: true });
    await rig.start(['-r'], {
      wrapper: ['unshare', '--user', '--map-root-user', process.execPath, LIMITED, '14'],
    });
    await rig.converged(10_000, 'before the limit');
    for (let i = 0; i < 10; i++) mkdirSync(join(rig.src, 'big', `b${i}`), { recursive: true });
    const limited = await statusShows(rig, (t) => t.unwatchedDirectories > 0, 'the watch limit');
    const gap = limited.gaps.find((g) => g.reason === 'watch-limit');
    assert.ok(gap !== undefined, JSON.stringify(limited.gaps));
    // Only a periodic send can bring this one: it pins when the next is due (10 s on).
    writeFileSync(join(rig.src, gap.path, 'sent-whole.txt'), 'brought by a periodic send');
    await rig.converged(30_000, 'a file in an unwatched directory, by its periodic send');
    writeFileSync(join(rig.src, gap.path, 'before-stop.txt'), 'written just before the stop');
    await acrossStop(
      rig,
      (op) => op.kind === 'tree' && op.path === gap.path,
      'the unwatched directory',
      () => {
        assert.ok(!existsSync(join(rig.replica, gap.path, 'before-stop.txt')), 'sent before the stop');
      },
    ); // started again with the limit raised
    await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'the whole tree watched');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * A crash (`kill -9`), a file written while nothing runs, then a start that fails while setting its
 * watches (the watch limit), then one that works: the failed start must not record a clean stop
 * (it did: its cleanup marked one), so the working start still runs the resync the crash owes, and
 * the file arrives.
 */
export async function failedStartAfterCrash(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  try {
    for (let i = 0; i < 20; i++) mkdirSync(join(rig.src, `d${i}`));
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the crash');
    await rig.kill9();
    writeFileSync(join(rig.src, 'while-down.txt'), 'written while nothing ran');
    await assert.rejects(
      rig.start([], { wrapper: ['unshare', '--user', '--map-root-user', process.execPath, LIMITED, '14'] }),
      /exited/,
      'the start at the watch limit fails',
    );
    await rig.start();
    await rig.converged(15_000, 'the file written while down, sent by the resync the crash owes');
    assert.equal(rig.logLines(/did not stop cleanly/).length, 1, 'the start after the failed one resyncs');
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * The watched directory gone when sersync2 is stopped (moved away by a deploy or an operator), and
 * back, with changes, before the next start: the stop queues a full sync of the tree (no event can
 * say what changed meanwhile), which the start sends; status showed `root-gone` while it lasted.
 */
export async function rootGoneAcrossStop(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const away = join(rig.base, 'away');
  try {
    writeFileSync(join(rig.src, 'kept.txt'), 'there all along');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the root left');
    renameSync(rig.src, away);
    await statusShows(rig, (t) => t.degraded.includes('root-gone'), 'the root gone');
    assert.equal(await degradedMetric(rig, 'root-gone'), 1);
    writeFileSync(join(away, 'while-away.txt'), 'written where no watch looks');
    await acrossStop(
      rig,
      (op) => op.kind === 'full',
      'a full sync of the tree',
      () => {
        renameSync(away, rig.src);
      },
    );
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * The watch root on a file system whose files change without an event here: a FUSE mount (bindfs,
 * as sshfs, s3fs or mergerfs are) whose source is written directly, as another NFS client writes
 * a share. inotify cannot see those writes, so status, /metrics, `check` and the start's log say
 * the tree is on such a file system for as long as it is; a full sync brings what they wrote.
 */
export async function rootOnSharedFileSystem(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const source = join(rig.base, 'other-host');
  try {
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'a.txt'), 'before start');
    const mounted = spawnSync('bindfs', [source, rig.src], { encoding: 'utf8' });
    assert.equal(mounted.status, 0, `bindfs: ${mounted.stderr}`);
    const check = rig.cli(['check']);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, new RegExp(`WARNING: ${rig.src} is on fuse, which other hosts`));
    await rig.start(['-r']);
    await rig.converged(10_000, 'the start');

    const shared = await statusShows(rig, (t) => t.sharedFileSystems.length > 0, 'the shared file system');
    assert.deepEqual(shared.sharedFileSystems, [{ path: '', fstype: 'fuse' }]);
    assert.equal(await rig.metric('sersync_tree_shared_file_systems', { root: rig.src }), 1);
    assert.equal(rig.logLines(/part of the tree is on a file system other hosts/).length, 1);

    writeFileSync(join(rig.src, 'here.txt'), 'written through this host: seen');
    await eventually(() => existsSync(join(rig.replica, 'here.txt')), 10_000, 'a write through the mount');
    writeFileSync(join(source, 'elsewhere.txt'), 'written by "another host": no event');
    assert.equal(rig.cli(['resync']).status, 0);
    await rig.converged(20_000, 'the full sync');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      spawnSync('umount', [rig.src]);
    });
  }
}

/** The length past which the kernel refuses a path (PATH_MAX, its NUL included). */
const PATH_MAX = 4096;

/**
 * A directory made while running whose path is longer than PATH_MAX (a chain of long names, made
 * with relative `cd`s as a program deep in a tree does): neither inotify nor rsync can reach it.
 * While it lasts, status and /metrics say `unwatchable` (with the path and why), not WATCHING
 * whole, and a full sync fails instead of claiming the replica whole; once the chain's top is
 * renamed short, it is watched and sent, and the replica converges.
 */
export async function pathPastPathMax(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  // The top name is the longest, so that renaming it short brings the chain within PATH_MAX.
  const top = `top${'t'.repeat(247)}`;
  try {
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the deep chain');

    const names = [top];
    let length = rig.src.length + 1 + top.length;
    while (length < PATH_MAX) {
      const name = `d${String(names.length).padStart(2, '0')}${'x'.repeat(237)}`;
      names.push(name);
      length += 1 + name.length;
    }
    assert.ok(length - top.length + 1 < PATH_MAX, 'renamed short, the chain fits');
    // Each directory is entered by its name (a shell's cd gives up past PATH_MAX: it tracks $PWD).
    const made = spawnSync(
      process.execPath,
      [
        '-e',
        "for (const n of process.argv.slice(1)) { require('fs').mkdirSync(n); process.chdir(n); } require('fs').writeFileSync('deep.txt', 'deep')",
        ...names,
      ],
      { cwd: rig.src, encoding: 'utf8' },
    );
    assert.equal(made.status, 0, `the deep chain: ${made.stderr}`);

    const deepest = names.join('/');
    const blind = await statusShows(
      rig,
      (t) => t.degraded.includes('unwatchable'),
      'the directory past PATH_MAX',
    );
    assert.equal(blind.watching, false, 'not WATCHING while part of the tree is not');
    assert.deepEqual(
      blind.gaps.map((g) => [g.path, g.reason]),
      [[deepest, 'unwatchable']],
    );
    assert.match(blind.gaps[0]?.why ?? '', /PATH_MAX/);
    assert.equal(await degradedMetric(rig, 'unwatchable'), 1, '/metrics: degraded, reason unwatchable');
    assert.equal(await rig.metric('sersync_tree_watching', { root: rig.src }), 0);
    // rsync cannot reach it either: a full sync meanwhile fails, it does not claim the replica whole
    // (rsync skips the path, and the deletions of the directories after it, printing no `rsync:` line).
    assert.equal(rig.cli(['resync']).status, 0);
    await eventually(
      () => /filename overflows max-path len/.test(rig.status().remotes[0]?.lastError ?? ''),
      15_000,
      'the full sync to fail on the path past PATH_MAX',
    );
    const said = (): number => rig.logLines(/a directory cannot be watched/).length;
    await eventually(() => said() > 0, 5_000, 'the log line for the unwatchable directory');

    renameSync(join(rig.src, top), join(rig.src, 't'));
    const whole = await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'the chain watched');
    assert.equal(whole.gaps.length, 0);
    assert.equal(await degradedMetric(rig, 'unwatchable'), 0);
    await rig.converged(20_000, 'the file past PATH_MAX, once within it');
    writeFileSync(join(rig.src, 't', ...names.slice(1), 'later.txt'), 'seen by its own watch');
    await rig.converged(10_000, 'a file written later in the once unwatchable directory');
    assert.equal(said(), 1, 'said once, though tried again every second');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    // node's rm gives up on a path past PATH_MAX; rm(1) descends by name
    spawnSync('rm', ['-rf', '--', join(rig.src, top)]);
  }
}

/**
 * A tree past the watch limit when it must be watched again: the root swapped (`mv src src.old &&
 * mv new src`) for a tree larger than the limit, then a reload (SIGHUP) while degraded. Each goes
 * on degraded (`watch-limit`, the unwatched directories sent whole now and then), as a tree that
 * grows past the limit does, instead of stopping replication or the daemon.
 */
export async function watchLimitOnRestoreAndReload(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const next = join(rig.base, 'next');
  try {
    for (let i = 0; i < 3; i++) mkdirSync(join(rig.src, `d${i}`));
    await rig.start(['-r'], {
      wrapper: ['unshare', '--user', '--map-root-user', process.execPath, LIMITED, '14'],
    });
    await rig.converged(10_000, 'before the swap');
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(next, `n${i}`), { recursive: true });
      writeFileSync(join(next, `n${i}`, 'f.txt'), `${i}`);
    }
    renameSync(rig.src, `${rig.src}.old`);
    renameSync(next, rig.src);
    const limited = await statusShows(
      rig,
      (t) => t.degraded.includes('watch-limit') && t.unwatchedDirectories > 0,
      'the swapped-in tree watched as far as the limit allows',
    );
    assert.ok(!limited.degraded.includes('watcher-restarting'), JSON.stringify(limited.degraded));
    assert.equal(await degradedMetric(rig, 'watch-limit'), 1);
    await rig.converged(30_000, 'the swapped-in tree, past the limit');

    rig.running.child.kill('SIGHUP');
    await eventually(() => rig.status().reloads === 1, 20_000, 'the reload');
    const reloaded = await statusShows(
      rig,
      (t) => t.degraded.includes('watch-limit'),
      'degraded after the reload',
    );
    assert.ok(reloaded.unwatchedDirectories > 0);
    writeFileSync(join(rig.src, 'n19', 'after-reload.txt'), 'still replicated');
    await rig.converged(30_000, 'a change after the reload');
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * The root swapped for a symlink to a directory root may read (`mv src src.old && ln -s SECRET
 * src`): nothing is sent, the replica is left as it is (no copy of the target, no --delete), status
 * and /metrics say `root-replaced`; with the directory put back, replication resumes.
 */
export async function rootSwappedForSymlink(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const secret = join(rig.base, 'secret');
  try {
    mkdirSync(secret, { mode: 0o700 });
    writeFileSync(join(secret, 'shadow'), 'root only');
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    await rig.start(['-r']);
    await rig.converged(10_000, 'before the swap');
    // The attack, by a user who may write the root's parent (not the root, not the secret).
    const attacker = createUnprivileged();
    try {
      const run = (argv: readonly string[]): void => {
        const r = attacker.user === null ? spawnSync(argv[0] ?? '', argv.slice(1)) : attacker.user.run(argv);
        assert.equal(r.status, 0, `${argv.join(' ')}: ${String(r.stderr)}`);
      };
      if (attacker.user === null) process.stderr.write(`# the swap runs as root: ${attacker.reason}\n`);
      else {
        attacker.user.reach(rig.src);
        chownSync(rig.base, attacker.user.uid, attacker.user.gid);
      }
      run(['mv', rig.src, `${rig.src}.old`]);
      run(['ln', '-s', secret, rig.src]);
    } finally {
      if (attacker.user !== null) attacker.remove();
    }
    const replaced = await statusShows(rig, (t) => t.degraded.includes('root-replaced'), 'the replaced root');
    assert.equal(replaced.watching, false);
    assert.equal(await degradedMetric(rig, 'root-replaced'), 1);
    writeFileSync(join(secret, 'more'), 'a change in the target');
    await statusShows(rig, (t) => t.degraded.includes('root-replaced'), 'still refused at the next checks');
    await statusShows(rig, (t) => t.degraded.includes('root-replaced'), 'still refused');
    assert.ok(!existsSync(join(rig.replica, 'shadow')), "the link's target is never sent");
    assert.equal(readFileSync(join(rig.replica, 'a.txt'), 'utf8'), 'a', 'the replica is left as it is');
    assert.equal(rig.logLines(/watched directory was replaced/).length, 1, 'said once, loudly');

    rmSync(rig.src);
    renameSync(`${rig.src}.old`, rig.src);
    writeFileSync(join(rig.src, 'b.txt'), 'b');
    await rig.converged(20_000, 'the directory put back');
    await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'watching again');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * A link on the way to the root, swapped by a user who owns the directory it is in, towards a
 * directory only root reads: `chain`, the deploy layout `current -> releases/live` (root's link)
 * with `live` made the user's link; `parent`, a parent of a root-owned root (`alice/site/www`,
 * `site` made the user's link to a directory holding a `www`). Refused as `root-replaced` in
 * status and /metrics, nothing of the target is sent; with the directory put back, it converges.
 */
export async function linkOnTheWaySwapped(
  work: string,
  daemon: RsyncDaemon,
  attacker: Unprivileged,
  shape: 'chain' | 'parent',
): Promise<CaseResult> {
  const base = join(work, `on-the-way-${shape}-${Date.now()}`);
  const owned = join(base, shape === 'chain' ? 'releases' : 'alice'); // the attacker's directory
  const swapped = join(owned, shape === 'chain' ? 'live' : 'site');
  const watch = shape === 'chain' ? join(base, 'current') : join(swapped, 'www');
  const secret = join(base, 'secret');
  const secretRoot = shape === 'chain' ? secret : join(secret, 'www');
  mkdirSync(shape === 'chain' ? swapped : watch, { recursive: true });
  writeFileSync(join(shape === 'chain' ? swapped : watch, 'index.html'), 'site');
  if (shape === 'chain') symlinkSync(join('releases', 'live'), watch);
  mkdirSync(secretRoot, { recursive: true, mode: 0o700 });
  chmodSync(secret, 0o700);
  writeFileSync(join(secretRoot, 'shadow'), 'root only');
  attacker.reach(owned);
  chownSync(owned, attacker.uid, attacker.gid);
  const rig = Rig.create(work, { daemon, metricsPort: await freePort(), spec: { watch } });
  try {
    await rig.start(['-r']);
    await eventually(() => existsSync(join(rig.replica, 'index.html')), 10_000, 'the site on the replica');
    const plant = [
      ['mv', swapped, `${swapped}.old`],
      ['ln', '-s', shape === 'chain' ? secretRoot : secret, swapped],
    ];
    for (const argv of plant) {
      const r = attacker.run(argv);
      assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
    }
    const replaced = await statusShows(rig, (t) => t.degraded.includes('root-replaced'), 'the replaced root');
    assert.equal(replaced.watching, false);
    assert.equal(await degradedMetric(rig, 'root-replaced'), 1);
    writeFileSync(join(secretRoot, 'more'), 'a change in the target');
    await statusShows(rig, (t) => t.degraded.includes('root-replaced'), 'still refused at the next checks');
    assert.ok(!existsSync(join(rig.replica, 'shadow')), "the link's target is never sent");
    assert.ok(!existsSync(join(rig.replica, 'more')), "the link's target is never sent");
    assert.equal(
      readFileSync(join(rig.replica, 'index.html'), 'utf8'),
      'site',
      'the replica is left as it is',
    );

    rmSync(swapped);
    renameSync(`${swapped}.old`, swapped);
    writeFileSync(join(shape === 'chain' ? swapped : watch, 'b.txt'), 'b');
    await statusShows(rig, (t) => t.watching && t.degraded.length === 0, 'watching again');
    await eventually(
      () => existsSync(join(rig.replica, 'b.txt')),
      20_000,
      'a change after the directory came back',
    );
    // Planted before a start, the link makes the start fail, naming it.
    await rig.stop();
    for (const argv of plant) assert.equal(attacker.run(argv).status, 0);
    const refused = rig.cli([]);
    assert.notEqual(refused.status, 0);
    assert.match(
      refused.stderr,
      new RegExp(
        `refusing to watch .*: it leads through ${swapped}, a symlink owned by uid ${attacker.uid} to a directory of uid 0`,
      ),
    );
    assert.ok(!existsSync(join(rig.replica, 'shadow')), "the link's target is never sent");
    return { faults: 2, files: 2, lost: 0 };
  } finally {
    await rig.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

/**
 * A watch path the config names as a symlink, switched by a deploy (`ln -s releases/2 current.tmp
 * && mv -T current.tmp current`): the new release is watched and replicated (the replica becomes
 * it), status shows the switch, and an edit in the old release sends nothing.
 */
export async function deploySwitchesSymlink(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const base = join(work, `deploy-${Date.now()}`);
  const releases = join(base, 'releases');
  const current = join(base, 'current');
  mkdirSync(join(releases, '1'), { recursive: true });
  writeFileSync(join(releases, '1', 'index.html'), 'release 1');
  writeFileSync(join(releases, '1', 'only-in-1.txt'), 'gone in 2');
  symlinkSync(join(releases, '1'), current);
  const rig = Rig.create(work, { daemon, metricsPort: await freePort(), spec: { watch: current } });
  const same = (dir: string) => (): boolean => {
    try {
      return treeDiff(dir, rig.replica) === '';
    } catch {
      return false;
    }
  };
  try {
    await rig.start(['-r']);
    await eventually(same(join(releases, '1')), 10_000, 'release 1 on the replica');
    mkdirSync(join(releases, '2', 'assets'), { recursive: true });
    writeFileSync(join(releases, '2', 'index.html'), 'release 2');
    writeFileSync(join(releases, '2', 'assets', 'app.js'), 'js');
    symlinkSync(join(releases, '2'), `${current}.tmp`);
    renameSync(`${current}.tmp`, current); // mv -T
    const switched = await statusShows(rig, (t) => t.rootSwitches === 1, 'the switch');
    assert.equal(switched.resolvedRoot, realpathSync(join(releases, '2')));
    assert.equal(await rig.metric('sersync_tree_root_switches_total', { root: current }), 1);
    await eventually(same(join(releases, '2')), 20_000, 'release 2 on the replica');
    writeFileSync(join(releases, '1', 'edit-in-old.txt'), 'the old release');
    writeFileSync(join(releases, '2', 'new.txt'), 'the new release');
    await eventually(same(join(releases, '2')), 10_000, 'a change in the new release');
    assert.ok(!existsSync(join(rig.replica, 'edit-in-old.txt')), 'the old release is not watched');
    return { faults: 1, files: 3, lost: 0 };
  } finally {
    await rig.stop();
    rmSync(base, { recursive: true, force: true });
  }
}
