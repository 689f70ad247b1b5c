import { posix } from 'node:path';
import type { LocalPath, Remote, RemoteTarget, RsyncSettings } from './types.js';
import { displayPath, fromUtf8, type RelPath } from '../paths.js';

/**
 * One object per kind of remote (rsync daemon, ssh, local directory), owning what differs between
 * them: how rsync reaches it, how it logs in, its socket tuning, its destination string, whether a
 * network lies between (timeouts, the stall backstop) and where a probe knocks. Pure.
 */
export interface RemoteKind {
  /** How rsync reaches it: `-e ssh [-p N]` over ssh, `--port=N` to a daemon; nothing locally. */
  transport(rsync: RsyncSettings): string[];
  /** Its login: `--password-file` for a daemon (rsync refuses it over ssh). */
  login(rsync: RsyncSettings): string[];
  /**
   * Socket tuning: daemons get TCP_NODELAY unless `commonParams` sets `--sockopts`; without it
   * Nagle and delayed ACKs stall rsync's small protocol messages (~135 ms per run on loopback).
   */
  tuning(rsync: RsyncSettings): string[];
  /** `[user@]host::module`, `[user@]host:path`, or the directory; `sub` appends a directory. */
  destination(rsync: RsyncSettings, sub: RelPath): string;
  /**
   * How a run into directory `to` names `from` on the replica as its `--link-dest` basis (both
   * relative to the tree). A daemon takes it from the module's root (`/from`): one patched for
   * CVE-2026-29518 with `use chroot = no` (Debian's 3.2.7-1+deb12u5 on) resolves a basis that climbs
   * out of the destination (`../from`) to nothing, and sends every file again. Elsewhere relative
   * to the destination directory, the receiver's own path.
   */
  linkDest(to: string, from: string): string;
  /** A network lies between: rsync's `--timeout` and the stall backstop apply. */
  readonly networked: boolean;
  /** What a probe looks at: the daemon's or ssh's port, or whether the directory is writable. */
  probe(rsync: RsyncSettings): ProbeTarget;
  /** How `check` names it. */
  describe(as: string): string;
  /**
   * What rsync must read for it besides the tree and the system's files, its reads confined to the
   * tree (`src/sync/confine.ts`). Not ssh's keys: the remote shell runs outside the confinement.
   */
  reads(rsync: RsyncSettings): readonly string[];
  /**
   * The local replica's directory, where rsync writes for it on this machine (its receiver runs
   * here); null for a daemon or ssh, whose replica is on the other side.
   */
  readonly replica: string | null;
  /**
   * The tree path of a file its receiver named in an error (`write failed on "NAME"`, bytes), for
   * runs into the replica's top; null when NAME is not below it. A daemon's receiver names files
   * from its module's root (with a leading `/` when chrooted), the others absolute (an ssh path
   * relative to the login's home is found as a `/path/` part, the home being unknown here).
   */
  readonly treePath: (name: RelPath) => RelPath | null;
}

export type ProbeTarget = { readonly host: string; readonly port: number } | { readonly writable: string };

/** The local replicas of these trees (`<remote path>`), in config order. Pure. */
export function localReplicas(localpaths: readonly LocalPath[]): string[] {
  return localpaths.flatMap((t) =>
    t.remotes.flatMap((r) => (r.target.kind === 'local' ? [r.target.path] : [])),
  );
}

export function remoteKind(remote: Remote): RemoteKind {
  return kindOf(remote.target);
}

function kindOf(t: RemoteTarget): RemoteKind {
  switch (t.kind) {
    case 'daemon':
      return {
        transport: (rsync) => (rsync.port === null ? [] : [`--port=${rsync.port}`]),
        login: (rsync) =>
          rsync.auth.enabled && rsync.auth.passwordFile !== ''
            ? [`--password-file=${rsync.auth.passwordFile}`]
            : [],
        tuning: (rsync) =>
          rsync.commonParams.some((p) => p.startsWith('--sockopts')) ? [] : ['--sockopts=TCP_NODELAY'],
        destination: (rsync, sub) => `${user(rsync)}${bracketed(t.host)}::${t.module}${tail(sub)}`,
        linkDest: (_to, from) => `/${from}`,
        networked: true,
        probe: (rsync) => ({ host: unbracketed(t.host), port: rsync.port ?? 873 }),
        describe: (as) => `rsync daemon module${as}`,
        reads: (rsync) =>
          rsync.auth.enabled && rsync.auth.passwordFile !== '' ? [rsync.auth.passwordFile] : [],
        replica: null,
        // `/sub/f` from a module with `use chroot = yes`, `sub/f` without
        treePath: (name) => below(name.replace(/^\/+/, ''), t.module.split('/').slice(1).join('/')),
      };
    case 'ssh':
      return {
        // sersync passed `--port`, which means nothing over ssh: the port is ssh's.
        transport: (rsync) => ['-e', rsync.port === null ? 'ssh' : `ssh -p ${rsync.port}`],
        login: () => [],
        tuning: () => [],
        destination: (rsync, sub) => `${user(rsync)}${bracketed(t.host)}:${t.path}${tail(sub)}`,
        linkDest: relativeBasis,
        networked: true,
        probe: (rsync) => ({ host: unbracketed(t.host), port: rsync.port ?? 22 }),
        describe: (as) => `over ssh${as}`,
        reads: () => [],
        replica: null,
        treePath: (name) => {
          if (t.path.startsWith('/')) return below(name, t.path);
          const prefix = dirPrefix(t.path);
          const at = prefix === '' ? -1 : name.indexOf(`/${fromUtf8(prefix)}`);
          return at < 0 ? null : below(name.slice(at + 1), t.path);
        },
      };
    case 'local':
      return {
        transport: () => [],
        login: () => [],
        tuning: () => [],
        destination: (_rsync, sub) => `${t.path}${sub === '' ? '/' : tail(sub)}`,
        linkDest: relativeBasis,
        networked: false,
        probe: () => ({ writable: t.path }),
        describe: () => 'local directory',
        // rsync's receiver, forked from the same process, reads the replica's files and listings
        reads: () => [t.path],
        replica: t.path,
        treePath: (name) => below(name, t.path),
      };
  }
}

/** `name` relative to directory `dir` (UTF-8 text; '' or '.' for the names' own top), or null when not below it. */
function below(name: RelPath, dir: string): RelPath | null {
  const prefix = fromUtf8(dirPrefix(dir));
  if (!name.startsWith(prefix) || name.length === prefix.length) return null;
  const rest = name.slice(prefix.length);
  // rsync names the top itself `.` (`failed to set times on "."`): the tree's root.
  return rest === '.' ? '' : rest;
}

/** `dir` as the start of the names below it: '' for the top itself, else ending in one '/'. */
function dirPrefix(dir: string): string {
  const n = posix.normalize(dir === '' ? '.' : dir);
  return n === '.' || n === './' ? '' : n.endsWith('/') ? n : `${n}/`;
}

function relativeBasis(to: string, from: string): string {
  return posix.relative(to, from);
}

/**
 * A host as rsync's destinations take it: an IPv6 address in brackets (`[2001:db8::5]::www`). Bare,
 * rsync splits `2001:db8::5::www` at its first `::` and looks up a host named `2001:db8` (sersync
 * pasted it bare, so its IPv6 remotes never received anything unless written in brackets).
 */
function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** A host as a socket connects to it: an IPv6 address without the brackets a destination needs. */
export function unbracketed(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

function user(rsync: RsyncSettings): string {
  return rsync.auth.enabled && rsync.auth.users !== '' ? `${rsync.auth.users}@` : '';
}

function tail(sub: RelPath): string {
  return sub === '' ? '' : `/${displayPath(sub)}/`;
}
