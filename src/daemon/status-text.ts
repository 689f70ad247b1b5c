/** `sersync2 status` for people: a few summary lines and two compact tables. */
import { printable } from '../printable.js';
import { formatDuration } from '../queue/present.js';
import type { DaemonStatus } from './status.js';

export function statusText(s: DaemonStatus): string {
  const ago = (at: number | null): string => (at === null ? '-' : `${formatDuration(s.now - at)} ago`);
  const reloaded =
    s.reloads === 0 ? '' : `, reloaded ${plural(s.reloads, 'time')} (last ${ago(s.lastReloadAt)})`;
  const next =
    s.fullSync.nextAt === null ? 'no crontab' : `next in ${formatDuration(s.fullSync.nextAt - s.now)}`;
  const summary = [
    `sersync2 ${s.version}, pid ${s.pid}, up ${formatDuration(s.uptimeSeconds * 1000)}${reloaded}`,
    `config:    ${s.configFile}`,
    `rsync:     ${s.pool.inFlight} of ${s.pool.maxConcurrent} running, ${s.pool.started} started`,
    `full sync: last ${s.fullSync.lastAt === null ? 'never' : ago(s.fullSync.lastAt)}, ${next}`,
  ];
  const trees = table(
    ['TREE', 'WATCHING', 'DIRECTORIES', 'EVENTS', 'PENDING'],
    s.trees.map((t) => [
      printable(t.root),
      t.watching ? 'yes' : 'NO',
      String(t.directories),
      String(t.events),
      String(t.pending),
    ]),
  );
  const remotes = table(
    [
      'REMOTE',
      'IN FLIGHT',
      'PENDING',
      'RETRIES',
      'RSYNC RUNS',
      'FILES',
      'SENT',
      'LAST SUCCESS',
      'LAST FAILURE',
    ],
    s.remotes.map((r) => {
      const error = r.lastError === null ? '' : `: ${printable(r.lastError)}`;
      const failure = r.lastFailureAt === null ? '-' : `${ago(r.lastFailureAt)}${error}`;
      return [
        r.remote,
        String(r.inFlight),
        String(r.pending),
        String(r.queuedRetries),
        String(r.rsyncRuns),
        String(r.filesSent),
        formatBytes(r.bytesSent),
        ago(r.lastSuccessAt),
        failure, // the last column: whole, since the end says why (`… Connection refused (111)`)
      ];
    }),
  );
  return `${summary.join('\n')}\n\n${trees}\n${remotes}`;
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/** `512 B`, `1.5 KiB`, `3.2 GiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
