import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import type { Remote, RsyncSettings } from '../config/types.js';
import { remoteKind } from '../config/remote-kinds.js';
import { replicaUnmounted, type LocalReplica } from './local-replica.js';

/**
 * Whether a remote looks reachable again, cheaply: a TCP connect to the rsync daemon or ssh
 * port, or a writable local directory on its own file system (`replica`, see `LocalReplica`). A
 * failed remote's queued work waits for back-off; a successful probe releases it at once, so a
 * remote that comes back converges in seconds.
 */
export function probeRemote(
  remote: Remote,
  rsync: RsyncSettings,
  replica?: LocalReplica,
  timeoutMs = 1000,
): Promise<boolean> {
  const target = remoteKind(remote).probe(rsync);
  if ('writable' in target) {
    // the directory a backup disk covered is writable too: not an answer while it is away
    if (replica !== undefined && replicaUnmounted(replica) !== null) return Promise.resolve(false);
    try {
      accessSync(target.writable, constants.W_OK);
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  }
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => {
      done(true);
    });
    socket.once('timeout', () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}
