/**
 * Hostile file names through the real CLI: created, renamed and deleted, as files and as
 * directories, byte-exact on the replica; none is read by a shell or as an rsync option.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

/** Names as bytes (latin1 strings: one char per byte), so invalid UTF-8 is expressible. */
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

export const HOSTILE_NAMES: readonly string[] = [
  'with space',
  ' leading space',
  'trailing space ',
  "it's",
  'say "hi"',
  '`touch INJECTED`',
  '$(touch INJECTED2)',
  'x; touch PWNED',
  'a && touch PWNED2 || true',
  'new\nline',
  'tab\there',
  'carriage\rreturn',
  '-rf',
  '--delete',
  '--include=*',
  '-e touch PWNED3',
  'back\\slash',
  'trailing\\',
  'a\\*b',
  'star*',
  'q?mark',
  '[bracket]',
  '#hash',
  ';semi',
  '..dots',
  '.hidden',
  '~tilde',
  '%s%n%x',
  '\u0001control\u001b[31m',
  utf8('ünïcödé-名前'),
  'inv\xe9lid-\xff\xfe-utf8', // not UTF-8: Latin-1 é, then 0xff 0xfe
  'x'.repeat(255), // NAME_MAX
  utf8('é'.repeat(127)) + 'x', // 255 bytes, multibyte
];

const bytesOf = (name: string): Buffer => Buffer.from(name, 'latin1');

/** `dir/name` as bytes below `root`. */
function abs(root: string, ...parts: readonly string[]): Buffer {
  return Buffer.concat([
    Buffer.from(root),
    ...parts.map((p) => Buffer.concat([Buffer.from('/'), bytesOf(p)])),
  ]);
}

/** A chain of directories about `bytes` long below the root, ending in a file: the path as parts. */
function deepPath(bytes: number): string[] {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length + 201 < bytes - 120; i++) {
    parts.push(`${String(i).padStart(3, '0')}${'d'.repeat(197)}`);
    length += 201;
  }
  parts.push(`deep-file-${'f'.repeat(bytes - length - 11)}`);
  return parts;
}

const INJECTED = ['INJECTED', 'INJECTED2', 'PWNED', 'PWNED2', 'PWNED3'];

export async function hostileNames(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  try {
    await rig.start();
    const { src } = rig;
    // As files, as directories holding them, and as a 4,000-byte path.
    for (const n of HOSTILE_NAMES) writeFileSync(abs(src, n), bytesOf(`content of ${n}`));
    mkdirSync(abs(src, 'dirs'));
    for (const n of HOSTILE_NAMES) {
      mkdirSync(abs(src, 'dirs', n));
      writeFileSync(abs(src, 'dirs', n, n), bytesOf(n));
    }
    const deep = deepPath(4000);
    assert.ok(Buffer.byteLength(deep.join('/')) >= 3990, 'a 4,000-byte path');
    mkdirSync(abs(src, ...deep.slice(0, -1)), { recursive: true });
    writeFileSync(abs(src, ...deep), 'at the bottom');
    await rig.converged(30_000, 'hostile names created');
    // Renamed (files and directories), then half of them deleted.
    mkdirSync(abs(src, 'moved'));
    HOSTILE_NAMES.forEach((n, i) => {
      renameSync(abs(src, n), abs(src, 'moved', n));
      renameSync(abs(src, 'dirs', n), abs(src, 'dirs', `${i}-${n}`.slice(0, 255)));
    });
    renameSync(abs(src, deep[0] ?? ''), abs(src, 'deep-renamed'));
    await rig.converged(30_000, 'hostile names renamed');
    HOSTILE_NAMES.forEach((n, i) => {
      if (i % 2 === 0) rmSync(abs(src, 'moved', n));
      else rmSync(abs(src, 'dirs', `${i}-${n}`.slice(0, 255)), { recursive: true });
    });
    await rig.converged(30_000, 'hostile names deleted');
    for (const where of [src, rig.replica, rig.base, process.cwd()])
      for (const f of INJECTED) assert.equal(existsSync(join(where, f)), false, `${where}/${f}: a name ran`);
    return { faults: HOSTILE_NAMES.length * 3 + 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * Real files with temporary-looking names (`.env.sample`, `notes~`) are held 2 s before they are
 * sent: while held they count as pending and as lag in status and /metrics, and a stop in that
 * moment queues them, so the next start sends them (without a full resync) instead of losing them.
 */
export async function heldNamesAcrossStop(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    await rig.start();
    const held = ['.env.sample', 'notes~'];
    for (const name of held) writeFileSync(join(rig.src, name), `a real file named ${name}\n`);
    const [remote] = rig.status().remotes;
    assert.ok(remote !== undefined);
    assert.equal(remote.pending, held.length, 'held files are pending');
    assert.ok(remote.lagSeconds > 0, 'and count as lag');
    const metric = await rig.metric('sersync_pending_operations', { root: rig.src, remote: remote.remote });
    assert.equal(metric, held.length);
    await rig.stop(); // within the 2 s they are held
    for (const name of held)
      assert.ok(!existsSync(join(rig.replica, name)), `${name} was sent before the stop`);
    await rig.start();
    await rig.converged(15_000, 'the held files, after a stop while they were held');
    assert.deepEqual(rig.logLines(/did not stop cleanly/), [], 'queued at the stop: no full resync');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}
