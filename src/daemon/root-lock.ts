/**
 * One replicator per watched directory on this host: each real path of a watch root is held as
 * a Linux abstract Unix socket named after it. The kernel releases the name when the holder exits,
 * however it exits (`kill -9` too), any user may hold one, and there is no file to go stale. The
 * control socket cannot do this job: it is keyed on the config's path and lives in the state
 * directory, so the same config through a symlink, or with another `--state-dir`, would get a
 * second one, and every file would be pushed twice.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { SersyncError } from '../errors.js';

/** What a holder answers to whoever finds its name taken. */
export interface Holder {
  readonly pid: number;
  readonly config: string;
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
  release(): Promise<void>;
}

/** The abstract socket name (a leading NUL) for one real path. */
export function rootLockName(realRoot: string): string {
  return `\0sersync2/watch-root/${createHash('sha256').update(realRoot).digest('hex')}`;
}

/**
 * Holds every root's real path for this process until `release`. Throws `RootHeldError` naming
 * the other process (pid, config) when one already holds a root, and holds nothing then.
 */
export async function lockWatchRoots(roots: readonly string[], configFile: string): Promise<RootLocks> {
  const held: Server[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(held.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
  try {
    for (const real of new Set(roots.map((r) => realpathSync(r)))) {
      const root = roots.find((r) => realpathSync(r) === real) ?? real;
      held.push(await hold(real, root, configFile));
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { release };
}

async function hold(real: string, root: string, configFile: string): Promise<Server> {
  const me: Holder = { pid: process.pid, config: configFile };
  const server = createServer((socket) => {
    socket.on('error', () => undefined); // a client that went away
    socket.end(`${JSON.stringify(me)}\n`);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(rootLockName(real), () => {
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
    const holder = await askHolder(real);
    const same = real === root ? root : `${root} (${real})`;
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

/** The holder of `real`'s name, or null when it does not answer as one. */
function askHolder(real: string): Promise<Holder | null> {
  return new Promise((resolve) => {
    const socket = createConnection(rootLockName(real));
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('close', () => {
      try {
        const h = JSON.parse(data) as Partial<Holder>;
        resolve(
          typeof h.pid === 'number' && typeof h.config === 'string' ? { pid: h.pid, config: h.config } : null,
        );
      } catch {
        resolve(null);
      }
    });
    socket.on('error', () => undefined); // 'close' follows
  });
}
