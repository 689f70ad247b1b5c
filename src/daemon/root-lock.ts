/**
 * One replicator per watched directory on this host: each watch root is held, by its real path
 * (and by its path as written when that is a symlink), as a Linux abstract Unix socket named after
 * it. The kernel releases the name when the holder exits, however it exits (`kill -9` too), any
 * user may hold one, and there is no file to go stale. The control socket cannot do this job: it
 * is keyed on the config's path and lives in the state directory, so the same config through a
 * symlink, or with another `--state-dir`, would get a second one, and every file would be pushed
 * twice.
 */
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { resolve as absolutePath } from 'node:path';
import { createConnection, createServer, type Server } from 'node:net';
import { SersyncError } from '../errors.js';
import { isWithinPath } from '../paths.js';

/** What a holder answers to whoever finds its name taken. */
export interface Holder {
  readonly pid: number;
  readonly config: string;
  /** The path its name stands for (absent from holders older than this field). */
  readonly path?: string;
}

/** A root is held by another process: `holder` when it answered as a sersync2, else null. */
export class RootHeldError extends SersyncError {
  constructor(
    message: string,
    readonly root: string,
    readonly holder: Holder | null,
  ) {
    super('ERR_SERSYNC_RUNNING', message);
  }
}

export interface RootLocks {
  /** Every path held (real, and as written), each to its root as configured. */
  readonly paths: ReadonlyMap<string, string>;
  release(): Promise<void>;
}

/** The abstract socket name (a leading NUL) for one path of a watch root (its real path, or as written). */
export function rootLockName(path: string): string {
  return `\0${LOCK_PREFIX}${createHash('sha256').update(path).digest('hex')}`;
}

const LOCK_PREFIX = 'sersync2/watch-root/';

/**
 * Holds every root's real path (and its path as written, see lockedPaths) for this process until
 * `release`. Throws `RootHeldError` naming the other process (pid, config) when one already holds
 * a root, and holds nothing then.
 */
export async function lockWatchRoots(roots: readonly string[], configFile: string): Promise<RootLocks> {
  const held: Server[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(held.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
  const paths = lockedPaths(roots);
  try {
    for (const [path, root] of paths) held.push(await hold(path, root, configFile));
  } catch (err) {
    await release();
    throw err;
  }
  return { paths, release };
}

/**
 * Each root's real path, and its path as written when that differs: a watch path that is a symlink
 * (a deploy's `current`) is followed when it is switched, so a second start on the same symlink
 * after a switch reaches another real path, and only the written one says it is the same tree.
 * Each maps to the root as configured, for messages.
 */
function lockedPaths(roots: readonly string[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const root of roots) {
    for (const path of [realpathSync(root), absolutePath(root)]) if (!paths.has(path)) paths.set(path, root);
  }
  return paths;
}

async function hold(path: string, root: string, configFile: string): Promise<Server> {
  const me: Holder = { pid: process.pid, config: configFile, path };
  const server = createServer((socket) => {
    socket.on('error', () => undefined); // a client that went away
    socket.end(`${JSON.stringify(me)}\n`);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(rootLockName(path), () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw new SersyncError(
        'ERR_SERSYNC_ROOT_LOCK',
        `cannot lock the watch root ${root}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const holder = await askHolder(rootLockName(path));
    const same = path === root ? root : `${root} (${path})`;
    const who =
      holder === null
        ? 'a process that does not answer as sersync2'
        : `another sersync2 (pid ${holder.pid}, config ${holder.config})`;
    throw new RootHeldError(
      `${who} already watches ${same}: two replicators of one tree would push every change twice; ` +
        `stop that one first${holder === null ? '' : ` (kill ${holder.pid})`}`,
      root,
      holder,
    );
  }
}

/**
 * The sersync2 that holds the watch root `root` (by its real path, else as written), or null when
 * none answers. It is found whatever its state directory, and with its control socket gone.
 */
export async function holderOf(root: string): Promise<Holder | null> {
  const paths = new Set<string>();
  try {
    paths.add(realpathSync(root));
  } catch {
    // gone, or not reachable by this user: as written only
  }
  paths.add(absolutePath(root));
  for (const path of paths) {
    const holder = await askHolder(rootLockName(path), 1000);
    if (holder !== null) return holder;
  }
  return null;
}

/** The holder of the socket `name`, or null when it does not answer as one. */
function askHolder(name: string, timeoutMs = 5000): Promise<Holder | null> {
  return new Promise((resolve) => {
    const socket = createConnection(name);
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('close', () => {
      try {
        const h = JSON.parse(data) as Partial<Holder>;
        resolve(
          typeof h.pid === 'number' && typeof h.config === 'string'
            ? { pid: h.pid, config: h.config, ...(typeof h.path === 'string' ? { path: h.path } : {}) }
            : null,
        );
      } catch {
        resolve(null);
      }
    });
    socket.on('error', () => undefined); // 'close' follows
  });
}

/** One of our roots and another replicator's root that contains it or lies inside it. */
export interface NestedRoot {
  readonly root: string;
  readonly holder: Holder & { readonly path: string };
  /** The other root contains ours (else it lies inside ours). */
  readonly contains: boolean;
}

/**
 * Other replicators on this host whose roots contain one of ours (`locks`) or lie inside one: a
 * change there is pushed by both. Legitimate when they push to different remotes, so it is only
 * said. Their names are listed by the kernel (`/proc/net/unix`); each is asked which path it holds.
 */
export async function nestedRoots(locks: RootLocks): Promise<NestedRoot[]> {
  const ours = locks.paths;
  const own = new Set([...ours.keys()].map(rootLockName));
  const others = [...listedRootLocks()].filter((name) => !own.has(name));
  // at most a second for one that does not answer (a stopped process): this runs at start
  const holders = await Promise.all(others.map((name) => askHolder(name, 1000)));
  const found = new Map<string, NestedRoot>();
  for (const holder of holders) {
    if (holder?.path === undefined || holder.pid === process.pid) continue;
    const theirs = holder.path;
    // an equal path has our own name, left out above
    for (const [path, root] of ours) {
      const contains = isWithinPath(path, theirs);
      if (contains || isWithinPath(theirs, path))
        found.set(`${holder.pid}\0${root}`, { root, holder: { ...holder, path: theirs }, contains });
    }
  }
  return [...found.values()];
}

/** The watch-root names bound on this host (this network namespace), each once. */
function listedRootLocks(): Set<string> {
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return new Set(); // not Linux, or /proc hidden: nothing to compare with
  }
  const names = new Set<string>();
  for (const line of table.split('\n')) {
    const at = line.indexOf(` @${LOCK_PREFIX}`);
    if (at < 0) continue;
    // libuv binds the whole sun_path: the kernel lists its NUL padding as '@'
    const listed = line.slice(at + 2).trim();
    names.add(`\0${listed.replace(/@+$/, '')}`);
  }
  return names;
}
