import type { PathOp } from '../coalesce/types.js';

/**
 * Which rows queued below an op's path its batch takes over (its outcome settles them): a
 * directory sent whole (`tree`, `move`) carries the sends below it, not the removals (a send
 * deletes nothing); a directory's removal mirrors it (sersync's delete form: what is gone goes,
 * what exists is sent), so it carries every row below it. Pure.
 */
export function adoptsBelow(op: PathOp): 'sends' | 'all' | null {
  if (op.path === '') return null;
  if (op.kind === 'tree' || op.kind === 'move') return 'sends';
  if (op.kind === 'delete' && op.isDir) return 'all';
  return null;
}
