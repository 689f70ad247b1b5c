/**
 * rsync's `--itemize-changes` output (`--out-format=%i %n`) read as differences between a tree
 * and its replica. Pure: the caller runs the dry run and feeds the lines.
 */
import { unescapeRsyncName, type RelPath } from '../paths.js';

/**
 * What differs at one path, seen from the replica: `missing` (in the tree, not on the replica),
 * `extra` (on the replica only), `type` (a file where the tree has a directory, or the like),
 * `content` (size, checksum, a symlink's target), `mode` (permissions, ACLs, xattrs), `owner`
 * (user or group), `mtime`.
 */
export const DIFF_KINDS = ['missing', 'extra', 'type', 'content', 'mode', 'owner', 'mtime'] as const;
export type DiffKind = (typeof DIFF_KINDS)[number];

export interface Difference {
  readonly path: RelPath;
  readonly kind: DiffKind;
  /** The entry in the tree is a directory (for `extra`: the replica's entry). */
  readonly isDir: boolean;
  /** Every attribute that differs, most significant first (`content`, `mode`, …). */
  readonly attributes: readonly DiffKind[];
}

/** `YXcstpoguax name`: update type, file type, nine attribute columns, the name. */
const ITEM = /^([<>ch.])([fdLDS])([.+ ?cstTpoguax]{9}) (.+)$/;
const DELETING = /^\*deleting {1,3}(.+)$/;

/** Which column of the nine says what: c s t p o g u a x. */
const COLUMN_KIND: readonly (DiffKind | null)[] = [
  'content', // c: checksum differs (a file), or a symlink's / device's value
  'content', // s: size
  'mtime', // t (T: set to the transfer time)
  'mode', // p: permissions
  'owner', // o
  'owner', // g
  null, // u/n/b: access, change or creation time: never preserved, never drift
  'mode', // a: ACL
  'mode', // x: extended attributes
];

/** `dir/` → `dir`, `./` → '' (the root). */
function relPath(name: string): { path: RelPath; slash: boolean } {
  const slash = name.endsWith('/');
  const bare = slash ? name.slice(0, -1) : name;
  return { path: bare === '.' ? '' : unescapeRsyncName(bare), slash };
}

/**
 * One line of the dry run; null for a line that says nothing differs (`-ii` lists unchanged
 * entries, `.d          ./`) and for anything that is not an item (progress, stats).
 */
export function parseItemLine(line: string): Difference | null {
  const del = DELETING.exec(line);
  if (del !== null) {
    const { path, slash } = relPath(del[1] ?? '');
    return { path, kind: 'extra', isDir: slash, attributes: ['extra'] };
  }
  const m = ITEM.exec(line);
  if (m === null) return null;
  const [, , type = '', columns = '', name = ''] = m;
  const { path } = relPath(name);
  const isDir = type === 'd';
  if (columns === '+++++++++') return { path, kind: 'missing', isDir, attributes: ['missing'] };
  const attributes: DiffKind[] = [];
  for (const [i, k] of COLUMN_KIND.entries()) {
    const c = columns[i];
    if (k === null || c === undefined || c === '.' || c === ' ' || c === '?') continue;
    if (!attributes.includes(k)) attributes.push(k);
  }
  attributes.sort((a, b) => DIFF_KINDS.indexOf(a) - DIFF_KINDS.indexOf(b));
  const [kind] = attributes;
  return kind === undefined ? null : { path, kind, isDir, attributes };
}

/**
 * Every difference in a dry run's output (`\r` and `\n` both end lines: progress2 rewrites its
 * line with `\r`, and rsync escapes both in names). A path rsync names twice keeps its first line.
 */
export function parseItemized(output: string): Difference[] {
  const seen = new Map<RelPath, Difference>();
  for (const line of output.split(/[\r\n]/)) {
    const d = parseItemLine(line);
    if (d !== null && !seen.has(d.path)) seen.set(d.path, d);
  }
  return [...seen.values()];
}

/**
 * A type change reads like a missing entry: rsync replaces it as if new, and a dry run lists no
 * removal of the entry in the way. What shows is what lies below it: a replica directory where
 * the tree has a file lists its contents as extra. Those missing entries become `type`.
 */
export function withTypeChanges(diffs: readonly Difference[]): Difference[] {
  const extras = diffs.filter((d) => d.kind === 'extra').map((d) => d.path);
  return diffs.map((d) =>
    d.kind === 'missing' && !d.isDir && extras.some((e) => e.startsWith(`${d.path}/`))
      ? { ...d, kind: 'type', attributes: ['type'] }
      : d,
  );
}
