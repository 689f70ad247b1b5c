/** What the running daemon still has to send, and which differences that explains. Pure. */
import type { PathOp } from '../coalesce/types.js';
import { isWithin, type RelPath } from '../paths.js';

/** One lane's outstanding work, as the daemon answers `pending` on its control socket. */
export interface PendingLane {
  readonly root: string;
  readonly remote: string;
  /** Waiting, in flight, or queued for retry. */
  readonly ops: readonly PathOp[];
}

/** Whether some outstanding op will bring `path` to the replica (or take it away). */
export function isPending(path: RelPath, ops: readonly PathOp[]): boolean {
  return ops.some((op) => {
    switch (op.kind) {
      case 'full':
        return true;
      case 'sync':
        return op.path === path;
      case 'tree':
      case 'delete':
        return isWithin(path, op.path);
      case 'move':
        return isWithin(path, op.path) || isWithin(path, op.from);
    }
  });
}

/** The ops of one lane among the daemon's answer (none when it has no such lane). */
export function opsOf(lanes: readonly PendingLane[], root: string, remote: string): PathOp[] {
  return lanes.filter((l) => l.root === root && l.remote === remote).flatMap((l) => l.ops);
}
