import type { PathPredicate } from '../filter/path-filter.js';
import type { RelPath } from '../paths.js';
import { walkTree } from '../sync/walk.js';
import type { PluginEvent } from './types.js';

/**
 * A directory sent whole (new, moved in, renamed), as the plugin must see it: the directory, then
 * every entry below it that the send carried (the filter applied), so that a file written before
 * the directory's watch existed (`cp -r`, `mkdir -p d && echo > d/z.sh`) is an event too.
 */
export function treeEvents(root: string, dir: RelPath, excluded: PathPredicate): PluginEvent[] {
  const out: PluginEvent[] = [{ root, path: dir, isDir: true, op: 'sync' }];
  walkTree(root, dir, excluded, (path, isDir) => out.push({ root, path, isDir, op: 'sync' }));
  return out;
}
