import type { PathOp } from '../coalesce/types.js';
import { displayPath, type RelPath } from '../paths.js';
import { printable } from '../printable.js';
import type { QueueRow, QueueStats } from './types.js';

/**
 * How queue rows look to people (`sersync2 queue`): pure text and JSON builders. Paths go
 * through `displayPath`, and control characters are shown escaped so a name with a newline
 * cannot break a table line.
 */

export function showPath(p: RelPath): string {
  return p === '' ? '.' : printable(displayPath(p));
}

/** `42s`, `3m05s`, `2h07m`, `4d03h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

export function describeOp(op: PathOp): { operation: string; path: string } {
  switch (op.kind) {
    case 'sync':
    case 'tree':
    case 'full':
      return { operation: op.kind, path: showPath(op.path) };
    case 'delete':
      return { operation: op.isDir ? 'delete dir' : 'delete', path: showPath(op.path) };
    case 'move':
      return { operation: 'move', path: `${showPath(op.from)} -> ${showPath(op.path)}` };
  }
}

function nextAttempt(row: QueueRow, now: number): string {
  if (row.state === 'inflight') return 'running';
  if (row.nextAttemptAt === null || row.nextAttemptAt <= now) return 'due';
  return `in ${formatDuration(row.nextAttemptAt - now)}`;
}

function age(row: QueueRow, now: number): string {
  return row.firstFailureAt === null ? '-' : formatDuration(now - row.firstFailureAt);
}

/** The `queue list` table (header + one line per row). */
export function queueTable(rows: readonly QueueRow[], now: number): string {
  const header = ['ID', 'REMOTE', 'OPERATION', 'PATH', 'ATTEMPTS', 'AGE', 'NEXT', 'LAST ERROR'];
  const lines = rows.map((r) => {
    const { operation, path } = describeOp(r.op);
    const error = printable(r.lastError ?? '');
    return [
      String(r.id),
      r.remoteId,
      operation,
      path,
      String(r.attempts),
      age(r, now),
      nextAttempt(r, now),
      error, // the last column: whole, since the end says why (`… Connection refused (111)`)
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [header, ...lines].map(format).join('\n') + '\n';
}

function when(at: number | null, now: number): string {
  return at === null
    ? '-'
    : `${new Date(at).toISOString()} (${formatDuration(Math.abs(now - at))} ${at <= now ? 'ago' : 'from now'})`;
}

/** `queue show`: every field of one row, and the sersync command it stands for. */
export function rowDetails(row: QueueRow, now: number, sersyncCommand: string): string {
  const { operation, path } = describeOp(row.op);
  const fields: [string, string][] = [
    ['id', String(row.id)],
    ['remote', row.remoteId],
    ['root', printable(row.root)],
    ['operation', operation],
    ['path', path],
    ['state', row.state],
    ['attempts', String(row.attempts)],
    ['first failure', when(row.firstFailureAt, now)],
    ['last failure', when(row.lastFailureAt, now)],
    ['exit code', row.exitCode === null ? '-' : String(row.exitCode)],
    ['last error', printable(row.lastError ?? '-')],
    ['next attempt', row.state === 'inflight' ? 'running now' : when(row.nextAttemptAt, now)],
    ['as sersync', printable(displayPath(sersyncCommand))],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n') + '\n';
}

/** A row for `--json`: the path as text (invalid UTF-8 shows as U+FFFD). */
export function rowJson(row: QueueRow): Record<string, unknown> {
  const op: Record<string, unknown> = { ...row.op, path: displayPath(row.op.path) };
  if (row.op.kind === 'move') op['from'] = displayPath(row.op.from);
  return { ...row, op };
}

/** `queue stats` as text. */
export function statsText(stats: QueueStats, now: number): string {
  const lines = [
    `queued: ${stats.inflight + stats.retry} (${stats.retry} waiting to retry, ${stats.inflight} being sent)`,
    `oldest failure: ${stats.oldestFailureAt === null ? '-' : `${formatDuration(now - stats.oldestFailureAt)} ago`}`,
  ];
  if (stats.byRemote.length > 0) {
    lines.push('per remote:', ...stats.byRemote.map((r) => `  ${r.remoteId}  ${r.count}`));
  }
  if (stats.byExitCode.length > 0) {
    lines.push('per rsync exit code:', ...stats.byExitCode.map((e) => `  ${e.exitCode}  ${e.count}`));
  }
  return lines.join('\n') + '\n';
}
