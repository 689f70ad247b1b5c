/** What `sersync2 verify` prints and how it exits. Pure. */
import { displayPath } from '../paths.js';
import { DIFF_KINDS, type DiffKind, type Difference } from './itemize.js';
import type { LaneVerdict } from './verify.js';

/** Paths shown per kind. */
export const FIRST_PATHS = 10;

export type Counts = Record<DiffKind, number>;

/** One lane as `--json` prints it (and the daemon keeps as its last result). */
export interface LaneSummary {
  readonly root: string;
  readonly remote: string;
  readonly equal: boolean;
  readonly error: string | null;
  /** Drift paths per kind, and the first of them. */
  readonly drift: Counts;
  readonly driftPaths: number;
  readonly first: Partial<Record<DiffKind, string[]>>;
  /** Differences the running daemon is about to send (or that changed during the verify). */
  readonly pending: number;
  readonly firstPending: string[];
  /** Entries only the replica has, kept on purpose (`<delete start="false">`). */
  readonly keptExtra: number;
  /** Paths the remote's daemon refuses to receive (its module's policy), not compared, and the first. */
  readonly daemonRefused: number;
  readonly firstDaemonRefused: string[];
  /** Times compared to the second, the remote refusing the nanosecond window (see LaneVerdict). */
  readonly toTheSecond: boolean;
  /** Nothing listed that only the replica has, its daemon refusing --delete (see LaneVerdict). */
  readonly extrasNotListed: boolean;
}

export function summarize(v: LaneVerdict): LaneSummary {
  const drift = Object.fromEntries(DIFF_KINDS.map((k) => [k, 0])) as Counts;
  const first: Partial<Record<DiffKind, string[]>> = {};
  for (const d of v.drift) {
    drift[d.kind]++;
    const shown = (first[d.kind] ??= []);
    if (shown.length < FIRST_PATHS) shown.push(shownPath(d));
  }
  return {
    root: v.root,
    remote: v.remote,
    equal: v.error === null && v.drift.length === 0,
    error: v.error,
    drift,
    driftPaths: v.drift.length,
    first,
    pending: v.pending.length,
    firstPending: v.pending.slice(0, FIRST_PATHS).map(shownPath),
    keptExtra: v.keptExtra.length,
    daemonRefused: v.daemonRefused.length,
    firstDaemonRefused: v.daemonRefused.slice(0, FIRST_PATHS).map(displayPath),
    toTheSecond: v.toTheSecond,
    extrasNotListed: v.extrasNotListed,
  };
}

/** A path as people read it, `/` after a directory; the root is `./`. */
function shownPath(d: Difference): string {
  const p = d.path === '' ? '.' : displayPath(d.path);
  return d.isDir ? `${p}/` : p;
}

/** 0 every replica equals its tree, 1 some differ, 2 some could not be compared. */
export function exitCode(summaries: readonly LaneSummary[]): 0 | 1 | 2 {
  if (summaries.some((s) => s.error !== null)) return 2;
  return summaries.every((s) => s.equal) ? 0 : 1;
}

const KIND_TEXT: Record<DiffKind, string> = {
  missing: 'missing on the replica',
  extra: 'only on the replica',
  type: 'of another type on the replica',
  content: 'content differs',
  mode: 'permissions differ',
  owner: 'owner or group differs',
  mtime: 'modification time differs',
};

export function summaryText(summaries: readonly LaneSummary[]): string {
  const lines: string[] = [];
  for (const s of summaries) {
    const head = `${s.root} -> ${s.remote}: `;
    if (s.error !== null) {
      lines.push(`${head}could not compare: ${s.error}`);
      continue;
    }
    lines.push(`${head}${s.equal ? 'equal' : `${s.driftPaths} path(s) differ`}`);
    for (const k of DIFF_KINDS) {
      if (s.drift[k] === 0) continue;
      lines.push(`  ${k}: ${s.drift[k]} (${KIND_TEXT[k]})`);
      for (const p of s.first[k] ?? []) lines.push(`    ${p}`);
      if (s.drift[k] > FIRST_PATHS) lines.push(`    … ${s.drift[k] - FIRST_PATHS} more`);
    }
    if (s.pending > 0) {
      lines.push(`  pending: ${s.pending} (being sent by the running sersync2; not drift)`);
      for (const p of s.firstPending) lines.push(`    ${p}`);
    }
    if (s.keptExtra > 0)
      lines.push(`  kept: ${s.keptExtra} only on the replica, kept because <delete start="false">`);
    if (s.daemonRefused > 0) {
      lines.push(
        `  refused: ${s.daemonRefused} the daemon's module excludes (rsyncd.conf exclude or filter): not on the replica by its policy, not compared`,
      );
      for (const p of s.firstDaemonRefused) lines.push(`    ${p}`);
      if (s.daemonRefused > FIRST_PATHS) lines.push(`    … ${s.daemonRefused - FIRST_PATHS} more`);
    }
    if (s.toTheSecond)
      lines.push(
        '  note: modification times compared to the second (the remote refuses the nanosecond window: rsync older than 3.1.3, or refuse options): a file rewritten at the same size within the second of its copy is not found; --checksum finds it',
      );
    if (s.extrasNotListed)
      lines.push(
        '  note: what only the replica has is not listed (its daemon refuses --delete: rsyncd.conf refuse options); missing and differing files are',
      );
  }
  return `${lines.join('\n')}\n`;
}
