/**
 * The tree's boundary against a local user who may write the watched tree: symlink races run as
 * that user never bring a root-only file to the replica, and the replica still converges.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon } from '../../helpers/rsyncd.js';
import type { Unprivileged } from '../../helpers/unprivileged.js';
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
