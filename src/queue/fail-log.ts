import type { PathOp } from '../coalesce/types.js';
import type { Config, Remote, RsyncSettings } from '../config/types.js';
import { fromUtf8, type RelPath } from '../paths.js';
import { remoteKind } from '../config/remote-kinds.js';
import type { QueueRow } from './types.js';

/**
 * sersync's fail log (`<failLog path>`, default `/tmp/rsync_fail_log.sh`), kept as a read-only
 * mirror of the retry queue: every row that has failed again after its first retry appears as
 * `#errno <status>\n<command>\n\n`, the shell command sersync would have run for it. We never
 * execute the file (the queue retries); operators and their scripts can still read it.
 *
 * Everything here is pure and works on byte strings (one char per byte, see `paths.ts`), because
 * a path in a command may hold any bytes; config strings are converted with `fromUtf8`.
 */

/** Words the shell reads literally without any quoting. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** Characters sersync's `"…"` quoting (only `$` escaped) cannot carry safely. */
const NEEDS_SINGLE_QUOTES = /["`\\\n]/;

/** `s` as one shell word: unchanged when safe, else single-quoted (`'` written as `'\''`). */
export function shellWord(s: string): string {
  return SHELL_SAFE.test(s) ? s : singleQuoted(s);
}

function singleQuoted(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * sersync's quoting of a path, `"` + s with `$` escaped + `"`, so ordinary names give the
 * same bytes sersync wrote. A name holding `"`, a back-tick, `\` or a newline broke sersync's
 * line (or ran code); it is single-quoted instead, which the shell reads literally.
 */
export function sersyncQuoted(s: string): string {
  return NEEDS_SINGLE_QUOTES.test(s) ? singleQuoted(s) : `"${s.replaceAll('$', '\\$')}"`;
}

/** The `system()` status sersync printed after `#errno`: exit code × 256, or -1 (killed, not started). */
export function sersyncStatus(exitCode: number | null): number {
  return exitCode === null || exitCode < 0 ? -1 : exitCode * 256;
}

export interface SersyncCommandInput {
  readonly rsync: RsyncSettings;
  readonly remote: Remote;
  /** The watch root (the command's `cd`). */
  readonly root: string;
  readonly op: PathOp;
  /** `<inotify><delete start>`: whether deletes (and full syncs) carry `--delete`. */
  readonly deleteEnabled: boolean;
  /** `<debug start="true">`: sersync then left out ` >/dev/null 2>&1 `. */
  readonly debug: boolean;
  /** The crontab filter's rsync patterns, appended to a full sync as `--exclude=`. */
  readonly fullSyncExcludes: readonly string[];
}

/** `commonParams` as written when the shell would read it unchanged, else word by word quoted. */
function renderParams(rsync: RsyncSettings): string {
  const raw = fromUtf8(rsync.commonParamsRaw);
  return /^[A-Za-z0-9_@%+=:,./ \t-]*$/.test(raw)
    ? raw
    : rsync.commonParams.map((w) => shellWord(fromUtf8(w))).join(' ');
}

/**
 * The shell command sersync would run for `op` (spec §3.8 templates), as a byte string. Where
 * sersync's line could not work it follows sersync-ts instead: ssh targets get no
 * `--password-file` and take the port as `ssh -p`, and `--exclude=*` is quoted so the shell
 * cannot glob it against a file named `--exclude=…`.
 */
export function renderSersyncCommand(input: SersyncCommandInput): string {
  const { rsync, remote, op } = input;
  const kind = remoteKind(remote);
  const words = (ws: readonly string[], around: string): string =>
    ws.length === 0 ? '' : `${around}${ws.map((w) => shellWord(fromUtf8(w))).join(' ')}${around}`;
  // sersync's template: the transport (`-e ssh`, `--port`) and timeout together, the login after the destination.
  const transport = words(kind.transport(rsync), ' ');
  const timeout = kind.networked && rsync.timeoutS !== null ? ` --timeout=${rsync.timeoutS} ` : '';
  const dest = shellWord(fromUtf8(kind.destination(rsync, '')));
  const password = kind.login(rsync).length === 0 ? '' : ` ${words(kind.login(rsync), '')}`;
  const del = input.deleteEnabled ? '--delete' : '';
  const redirect = input.debug ? '' : ' >/dev/null 2>&1 ';
  const head = `cd ${shellWord(fromUtf8(input.root))} && rsync ${renderParams(rsync)} -R `;
  switch (op.kind) {
    case 'sync':
    case 'tree':
    case 'move':
      return `${head}${transport}${timeout}${sersyncQuoted(`./${op.path}`)} ${dest}${password}${redirect}`;
    case 'delete':
      return `${head}${transport}${timeout}${del} ./ ${includeChain(op.path, op.isDir)} ${dest}${password}${redirect}`;
    case 'full': {
      const excludes = input.fullSyncExcludes.map((e) => ` --exclude=${sersyncQuoted(fromUtf8(e))}`).join('');
      return `${head}${del} ./ ${transport}${timeout}${dest}${password}${excludes}${redirect}`;
    }
  }
}

/** sersync's include chain: each parent with its `/`, the path, `path/***` for a directory, then exclude all. */
function includeChain(path: RelPath, isDir: boolean): string {
  const parents = [...path.matchAll(/\//g)].map(
    (m) => ` --include=${sersyncQuoted(path.slice(0, m.index + 1))}`,
  );
  const below = isDir ? `  --include=${sersyncQuoted(`${path}/***`)}` : '';
  return ` ${parents.join('')} --include=${sersyncQuoted(path)}${below} --exclude="*" `;
}

/**
 * The `Remote` a queue row names: the config's, or (when the remote has since been removed from
 * the config) one read back from its id (`host::module`, `host:path`, `/local/path`).
 */
export function remoteFor(config: Config, remoteId: string): Remote {
  const known = config.localpaths.flatMap((l) => l.remotes).find((r) => r.id === remoteId);
  return known ?? remoteFromId(remoteId);
}

export function remoteFromId(id: string): Remote {
  const daemon = /^([^:]*)::(.*)$/.exec(id);
  if (daemon !== null)
    return { id, target: { kind: 'daemon', host: daemon[1] ?? '', module: daemon[2] ?? '' } };
  const ssh = /^([^/:]+):(.*)$/.exec(id);
  if (ssh !== null) return { id, target: { kind: 'ssh', host: ssh[1] ?? '', path: ssh[2] ?? '' } };
  return { id, target: { kind: 'local', path: id } };
}

/** The sersync command line standing for a queue row under this config (byte string). */
export function sersyncCommandFor(config: Config, row: QueueRow): string {
  return renderSersyncCommand({
    rsync: config.rsync,
    remote: remoteFor(config, row.remoteId),
    root: row.root,
    op: row.op,
    deleteEnabled: config.inotify.delete,
    debug: config.debug,
    fullSyncExcludes: config.crontab.filter.enabled ? config.crontab.filter.excludes : [],
  });
}

/** One fail-log entry: `#errno N`, the command, a blank line (byte string). */
export function renderFailLogEntry(config: Config, row: QueueRow): string {
  return `#errno ${sersyncStatus(row.exitCode)}\n${sersyncCommandFor(config, row)}\n\n`;
}

/** The whole fail-log file for these rows, as bytes. */
export function renderFailLog(config: Config, rows: readonly QueueRow[]): Buffer {
  return Buffer.from(rows.map((r) => renderFailLogEntry(config, r)).join(''), 'latin1');
}
