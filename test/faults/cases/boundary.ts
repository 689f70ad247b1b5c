/**
 * The tree's boundary against a local user who may write the watched tree: symlink races run as
 * that user never bring a root-only file to the replica, and the replica still converges.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { DaemonStatus, RemoteReport } from '../../../src/daemon/status.js';
import { disposeRsyncDaemon, startRsyncDaemon } from '../../helpers/rsyncd.js';
import type { Unprivileged } from '../../helpers/unprivileged.js';
import { eventually } from '../../helpers/trees.js';
import { CLI, sersyncConfigXml, startSersync, writeConfig } from '../../helpers/sersync.js';
import type { Sshd } from '../../helpers/sshd.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

const ATTACKER = join(import.meta.dirname, '..', 'lib', 'attacker.js');
const SECRET = 'ROOT ONLY';

/** A directory only root may read, with a few files the attacker wants. */
function rootOnlyDir(dir: string): void {
  mkdirSync(dir, { mode: 0o700 });
  for (let i = 0; i < 3; i++)
    writeFileSync(join(dir, `root-only-${i}.txt`), `${SECRET} ${i}`, { mode: 0o600 });
  mkdirSync(join(dir, 'deeper'), { mode: 0o700 });
  writeFileSync(join(dir, 'deeper', 'root-only-deep.txt'), SECRET, { mode: 0o600 });
}

/** Regular files below `dir` (links not followed) that hold root-only content. */
function leaked(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => readFileSync(f, 'latin1').includes(SECRET));
}

export interface SymlinkRaceOptions {
  readonly tries: number;
  readonly seed: number;
}

/**
 * A directory renamed, then within 0–40 ms renamed again with a symlink to a root-only directory
 * put at the name it had, by a user who may write the tree: neither the rename run nor the send
 * that replaces it when it cannot run (the walk) may follow the link. After the attack the
 * replica equals the source, links replicated as links, the queue is empty, and no root-only
 * byte reached the replica.
 */
export async function symlinkRaces(
  work: string,
  user: Unprivileged,
  opts: SymlinkRaceOptions,
): Promise<CaseResult> {
  // Links kept as they are on the replica, so that the tree compares equal to the source.
  const daemon = await startRsyncDaemon({ moduleLines: ['use chroot = yes', 'munge symlinks = no'] });
  const rig = Rig.create(work, { daemon });
  const secret = join(rig.base, 'secret');
  try {
    rootOnlyDir(secret);
    for (let i = 0; i < opts.tries; i++) {
      mkdirSync(join(rig.src, `a${i}`));
      writeFileSync(join(rig.src, `a${i}`, 'page.html'), `page ${i}`);
    }
    user.grant(rig.src);
    await rig.start(['-r']);
    await rig.converged(30_000, 'the initial tree');
    const attacker = user.spawn([
      process.execPath,
      ATTACKER,
      'moves',
      rig.src,
      secret,
      String(opts.tries),
      String(opts.seed),
    ]);
    let stderr = '';
    attacker.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(attacker, 'exit')) as [number | null];
    assert.equal(code, 0, `the attacker failed: ${stderr}`);
    // Each race is several batches (the renames, the link, the removal): time for all of them on a busy machine.
    await rig.converged(60_000 + opts.tries * 500, `after ${opts.tries} races`);
    assert.deepEqual(leaked(rig.replica), [], 'root-only files on the replica');
    const received = (await daemon.received()).filter((p) => /root-only/.test(p));
    assert.deepEqual(received, [], 'root-only files sent to the daemon');
    for (let i = 0; i < opts.tries; i++) {
      const link = join(rig.replica, `b${i}`);
      assert.ok(lstatSync(link).isSymbolicLink(), `${link} is a link on the replica`);
    }
    return { faults: opts.tries, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A link planted in the middle of a path rsync has already been handed (`x/root-only-0.txt`,
 * then `x/` swapped for `x -> secret/`), while rsync has not read it yet: rsync older than 3.5
 * follows such a link. rsync is held at its start by a wrapper until the swap is made, so the
 * race is won every time. Its reads are confined to the tree, so nothing of `secret/` reaches the
 * replica, whatever rsync is installed; the path counts as gone, and the replica converges (the
 * link replicated as a link). With `ssh`, the runs go over ssh (real ssh and sshd, the key outside
 * the tree): ssh runs outside the confinement, rsync inside.
 */
/** The files the receiving rsync's `--log-file` (format `%i %n%L`) says it received. */
function receivedOverSsh(log: string): string[] {
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  return [...text.matchAll(/^\S+ \S+ \[\d+\] >f\S{9} (.*)$/gm)].map((m) => m[1] ?? '');
}

export async function midPathLink(work: string, ssh?: Sshd): Promise<CaseResult> {
  const daemon = await startRsyncDaemon({ moduleLines: ['use chroot = yes', 'munge symlinks = no'] });
  // Over ssh, the receiving rsync logs what it receives, as the daemon does.
  const serverLog = join(daemon.dir, '..', 'server.log');
  // The gate's files are where the confined rsync may write: the directory of its own log.
  const gates = mkdtempSync(join(work, 'gates-'));
  const params = `-artuz --log-file=${gates}/rsync.log`;
  const rig = Rig.create(
    work,
    ssh === undefined
      ? { daemon, spec: { params } }
      : { daemon, ssh, spec: { params: `${params} --remote-option=--log-file=${serverLog}` } },
  );
  const secret = join(rig.base, 'secret');
  const bin = join(rig.base, 'bin');
  const [gate, held, go] = ['gate', 'held', 'go'].map((f) => join(gates, f)) as [string, string, string];
  const real = spawnSync('sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).stdout.trim();
  mkdirSync(bin);
  // The first run after `gate` appears says it is held, and waits for `go` (not `--version`).
  writeFileSync(
    join(bin, 'rsync'),
    `#!/bin/sh\nif [ "$1" != --version ] && [ -e ${gate} ] && rm ${gate} 2>/dev/null; then\n  : > ${held}\n  while [ ! -e ${go} ]; do sleep 0.01; done\nfi\nexec ${real} "$@"\n`,
    { mode: 0o755 },
  );
  try {
    rootOnlyDir(secret);
    await rig.start([], {
      env: { PATH: [bin, ...(ssh === undefined ? [] : [ssh.bin]), process.env.PATH ?? ''].join(':') },
    });
    writeFileSync(gate, '');
    mkdirSync(join(rig.src, 'x'));
    writeFileSync(join(rig.src, 'x', 'root-only-0.txt'), 'bait');
    await eventually(() => existsSync(held), 15_000, 'a run holding x/root-only-0.txt');
    renameSync(join(rig.src, 'x'), join(rig.src, 'x.old'));
    symlinkSync(secret, join(rig.src, 'x'));
    writeFileSync(go, '');
    await rig.converged(20_000, 'after the link was planted mid-path');
    assert.deepEqual(leaked(rig.replica), [], 'root-only files on the replica');
    // Not even for a moment: a file read through the link would arrive as x/…, deleted by the next run.
    const received = ssh === undefined ? await daemon.received() : receivedOverSsh(serverLog);
    assert.deepEqual(
      received.filter((p) => p.startsWith('x/')),
      [],
      `the replica received files through the link: ${received.join(', ')}`,
    );
    assert.ok(lstatSync(join(rig.replica, 'x')).isSymbolicLink(), 'x is a link on the replica');
    assert.equal(readFileSync(join(rig.replica, 'x.old', 'root-only-0.txt'), 'utf8'), 'bait');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    writeFileSync(go, '');
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A local replica where another user could point it elsewhere (a directory of theirs on the way, a
 * world-writable one even when sticky, a symlink of theirs at its name) would have root write the
 * tree wherever they like, `--delete` included: `check` and the start refuse it, naming the part
 * and its owner, and create nothing there. A replica that is itself theirs (as `rsync -a` makes it,
 * the tree root's owner) in a directory only root may change is fine, and receives the tree. Then,
 * while running, the replica is removed and its directory given to that user: it is not made again
 * there, and `status` says why while it lasts; given back, it is made again and, holding nothing of
 * what it held, gets the whole tree (before, only the files of later changes).
 */
export async function replicaWhereOthersPoint(work: string, user: Unprivileged): Promise<CaseResult> {
  // short names: the control socket's path below each run's state directory must stay under 108 bytes
  const base = mkdtempSync(join(work, 'rp-'));
  const src = join(base, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'page.html'), 'page');
  const theirs = join(base, 'theirs');
  mkdirSync(theirs);
  user.grant(theirs);
  const sticky = join(base, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const ours = join(base, 'ours');
  mkdirSync(ours);
  const theirLink = join(ours, 'linked');
  symlinkSync(join(ours, 'elsewhere'), theirLink);
  lchownSync(theirLink, user.uid, user.gid);
  const refusals: [string, RegExp][] = [
    [join(theirs, 'replica'), new RegExp(`${theirs} belongs to another user \\(uid ${user.uid}\\)`)],
    [join(sticky, 'replica'), new RegExp(`others can write ${sticky} \\(mode 1777\\)`)],
    [theirLink, new RegExp(`the symlink ${theirLink} belongs to another user \\(uid ${user.uid}\\)`)],
  ];
  for (const [replica, why] of refusals) {
    const dir = mkdtempSync(join(base, 'r-'));
    const config = writeConfig(
      dir,
      sersyncConfigXml({ watch: src, localTargets: [replica], failLog: join(dir, 'fail.sh') }),
    );
    const state = join(dir, 'state');
    const check = spawnSync(process.execPath, [CLI, 'check', '-o', config, '--state-dir', state], {
      encoding: 'utf8',
    });
    assert.notEqual(check.status, 0, `check accepted ${replica}:\n${check.stdout}`);
    assert.match(check.stderr, new RegExp(`refusing to write the local replica ${replica}: ${why.source}`));
    const run = spawnSync(process.execPath, [CLI, '-r', '-o', config, '--state-dir', state], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(run.status, 0, `sersync2 started with ${replica}:\n${run.stdout}`);
    assert.match(run.stderr, why);
    assert.equal(existsSync(replica), false, `${replica} was created`);
  }
  // The replica theirs, its directory ours: the tree arrives.
  const replica = join(ours, 'replica');
  mkdirSync(replica);
  user.grant(replica);
  const dir = mkdtempSync(join(base, 'r-'));
  const config = writeConfig(
    dir,
    sersyncConfigXml({ watch: src, localTargets: [replica], failLog: join(dir, 'fail.sh') }),
  );
  const state = join(dir, 'state');
  const proc = await startSersync(config, ['-r'], state);
  try {
    writeFileSync(join(src, 'new.html'), 'new');
    // The event's run may land before the start's full sync has sent page.html: both awaited.
    await eventually(
      () => existsSync(join(replica, 'new.html')) && existsSync(join(replica, 'page.html')),
      15_000,
      'the tree on the replica',
    );
    assert.equal(readFileSync(join(replica, 'page.html'), 'utf8'), 'page');

    rmSync(replica, { recursive: true });
    lchownSync(ours, user.uid, user.gid);
    writeFileSync(join(src, 'while.html'), 'while');
    const cli = (...args: string[]): string => {
      const r = spawnSync(process.execPath, [CLI, ...args, '-o', config, '--state-dir', state], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const remote = (): RemoteReport | undefined =>
      (JSON.parse(cli('status', '--json')) as DaemonStatus).remotes[0];
    const why = `refusing to write the local replica ${replica}: ${ours} belongs to another user (uid ${user.uid})`;
    await eventually(
      () => (remote()?.queuedRetries ?? 0) > 0 && (remote()?.lastError ?? '').includes(why),
      15_000,
      'status: the change waiting, and why the replica is not made again',
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(remote())}`, { cause: err });
    });
    assert.equal(existsSync(replica), false, 'made again in their directory');
    lchownSync(ours, 0, 0);
    cli('queue', 'retry', '--all');
    await eventually(
      () => ['page.html', 'new.html', 'while.html'].every((f) => existsSync(join(replica, f))),
      15_000,
      'the whole tree on the replica made again',
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${readdirSync(replica).join(', ')}`, { cause: err });
    });
    assert.equal(remote()?.queuedRetries, 0);
  } finally {
    lchownSync(ours, 0, 0);
    await proc.stop();
  }
  return { faults: refusals.length + 1, files: 3, lost: 0 };
}
