/**
 * rsync confined to the tree. rsync older than 3.5 follows a symlink that another user
 * plants in the middle of a listed path between our listing and its read (`a/` swapped for
 * `a -> /etc` once `a/x` is listed sends `/etc/x` to the replica). So every run starts through
 * `sersync-confine` (native/confine.c): a Landlock ruleset lets rsync read only the directory it
 * starts in (held open, `PINNED_FD`), the system files every rsync reads, and what its remote
 * needs; a planted link then meets EACCES, wherever it points. It writes only a local replica (the
 * receiver runs here, as root) and what `commonParams` names. A remote shell (ssh, or `-e` in
 * `commonParams`) reads its keys, which such a link could then bring along: it runs outside the
 * confinement, started for rsync by the helper's supervisor (native/shell.c).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { remoteKind } from '../config/remote-kinds.js';
import { localFilesNamed, localPlacesWritten, remoteShellValues } from '../config/rsync-options.js';
import type { Remote, RsyncSettings } from '../config/types.js';
import { packageFile } from '../package-files.js';
import { isExhaustion } from '../process-start.js';
import type { RunAccess } from './task.js';

/** The helper, built by node-gyp at install beside the inotify binding. */
export const CONFINE_HELPER = packageFile('native', 'build', 'Release', 'sersync-confine');

/**
 * What any rsync reads besides the tree, none of it secret: its program's libraries, locales and
 * character sets (all below /usr and /lib), user and group names (rsync sends names with ids),
 * host name resolution, popt's option aliases, OpenSSL's config, and harmless devices.
 */
const SYSTEM_READS: readonly string[] = [
  '/usr',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/bin',
  '/sbin',
  '/etc/ld.so.cache',
  '/etc/ld.so.preload',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/var/lib/sss/mc',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/resolv.conf',
  '/etc/gai.conf',
  '/etc/services',
  '/etc/protocols',
  '/etc/localtime',
  '/etc/popt',
  '/etc/popt.d',
  '/etc/ssl/openssl.cnf',
  '/dev/null',
  '/dev/zero',
  '/dev/random',
  '/dev/urandom',
];

/**
 * What a run to `remote` must read besides the tree and the system's files: its kind's own (the
 * password file, a local replica) and the files `commonParams` names (`--exclude-from=/etc/…`).
 * (Options that follow links out of the tree, `-L` and the like, are refused with the config.) Pure.
 */
export function runReads(remote: Remote, rsync: RsyncSettings): readonly string[] {
  return [...remoteKind(remote).reads(rsync), ...localFilesNamed(rsync.commonParams)];
}

/**
 * Where a run to `remote` may write: a local replica (its receiver runs here), and what
 * `commonParams` names (`--log-file=/var/log/…`, `--backup-dir=/…`). Nowhere else, the tree
 * included: rsync as root never writes where a link another user planted leads. Pure.
 */
export function runWrites(remote: Remote, rsync: RsyncSettings): readonly string[] {
  const { replica } = remoteKind(remote);
  return [...(replica === null ? [] : [replica]), ...localPlacesWritten(rsync.commonParams)];
}

/** What every rsync may write: discarding output. */
const SYSTEM_WRITES: readonly string[] = ['/dev/null'];

/**
 * The command that runs `rsync argv`, started in the tree's directory held open as `fd`, confined.
 * A remote shell named in `argv` is started by the helper's relay, outside the confinement.
 */
export function confinedCommand(
  access: RunAccess,
  fd: number,
  argv: readonly string[],
): { readonly command: string; readonly args: string[] } {
  const shells = remoteShellValues(argv);
  const rsync = [...argv];
  for (const { word, at } of shells) {
    const w = rsync[word] ?? '';
    rsync[word] = `${w.slice(0, at)}${RELAY} ${w.slice(at)}`;
  }
  const allowed = [
    ...SYSTEM_READS,
    ...programReads(),
    ...access.reads,
    ...(shells.length > 0 ? [CONFINE_HELPER] : []),
  ];
  const writable = [...SYSTEM_WRITES, ...access.writes];
  return {
    command: CONFINE_HELPER,
    args: [
      '--allow-fd',
      String(fd),
      ...allowed.flatMap((p) => ['--allow', p]),
      ...writable.flatMap((p) => ['--allow-write', p]),
      ...(shells.length > 0 ? ['--shell-outside'] : []),
      '--',
      'rsync',
      ...rsync,
    ],
  };
}

/** How rsync's `-e` names the relay. */
const RELAY = `${rshWord(CONFINE_HELPER)} --relay`;

/**
 * `word` as one word of rsync's `-e`: rsync splits it at spaces outside quotes and drops the quotes
 * (no backslashes), so it is quoted, a `'` in it written as `'"'"'`. Pure.
 */
export function rshWord(word: string): string {
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

let program: string[] | undefined;

/**
 * The installed rsync's own reads beyond the system's: the directory it is in and the `lib` beside
 * it (an rsync built into /opt/rsync/bin, or a wrapper script, which its shell reads), and `~/.popt`.
 * Looked for again while there is no rsync: one installed later is run as it should be.
 */
function programReads(): readonly string[] {
  if (program !== undefined) return program;
  const found = onPath('rsync');
  if (found === null) return [join(homedir(), '.popt')];
  program = [join(homedir(), '.popt'), dirname(found), join(dirname(dirname(found)), 'lib')];
  return program;
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      const file = join(dir, name);
      accessSync(file, constants.X_OK);
      return realpathSync(file);
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** Whether runs can be confined here: the kernel's Landlock ABI, or why not. */
export type Confinement = { readonly abi: number } | { readonly unavailable: string };

/** Asks the helper (a process: done once, off the start's path). */
export async function probeConfinement(): Promise<Confinement> {
  if (!existsSync(CONFINE_HELPER))
    return { unavailable: `its helper ${CONFINE_HELPER} is not built (npm install builds it)` };
  try {
    const { stdout } = await promisify(execFile)(CONFINE_HELPER, ['--abi'], { timeout: 10_000 });
    const abi = Number(stdout.trim());
    return abi > 0
      ? { abi }
      : { unavailable: 'this kernel has no Landlock (Linux 5.13 or later, with landlock among its LSMs)' };
  } catch (err) {
    if (isExhaustion(err)) throw err; // says nothing of the helper (see lookAtRsync)
    return { unavailable: `its helper ${CONFINE_HELPER} fails: ${(err as Error).message}` };
  }
}

/** How `check` says it. */
export function describeConfinement(confinement: Confinement): string {
  return 'unavailable' in confinement
    ? `no: ${confinement.unavailable}`
    : `yes: rsync reads only the tree and the system's files, and writes only a local replica (Landlock ABI ${confinement.abi})`;
}
