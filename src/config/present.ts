/** A resolved Config shown to people (`sersync2 check`) and to programs (`check --json`); secrets never shown. */
import { printable } from '../printable.js';
import { remoteKind } from './remote-kinds.js';
import type { Config, ConfigWarning, InotifyToggles, Remote, RsyncSettings } from './types.js';

const HIDDEN = '(hidden)';

/** The Config as JSON: regexes as their source, the CDN password hidden. */
export function configToJson(config: Config): string {
  return JSON.stringify(
    config,
    (key, value: unknown) => (value instanceof RegExp ? value.source : key === 'password' ? HIDDEN : value),
    2,
  );
}

export function formatWarning(file: string, w: ConfigWarning): string {
  return printable(`${file}:${w.line}:${w.column}: warning: ${w.message}`);
}

function onOff(on: boolean): string {
  return on ? 'on' : 'off';
}

function quoteWords(words: readonly string[]): string {
  return words.map((w) => JSON.stringify(w)).join(' ');
}

function describeRemote(remote: Remote, config: Config): string {
  const { enabled, users } = config.rsync.auth;
  const as = enabled && users !== '' ? `, as ${users}` : '';
  return `${remote.id}  (${remoteKind(remote).describe(as)})`;
}

function timeoutText(rsync: RsyncSettings): string {
  if (rsync.timeoutS !== null) return `${rsync.timeoutS} s`;
  return rsync.stallTimeoutS > 0 ? `off (stalled remote given up after ${rsync.stallTimeoutS} s)` : 'none';
}

function events(toggles: InotifyToggles): string {
  const names = Object.keys(toggles) as (keyof InotifyToggles)[];
  const on = names.filter((n) => toggles[n]);
  const off = names.filter((n) => !toggles[n]);
  return `${on.join(' ') || 'none'}${off.length > 0 ? `   (off: ${off.join(' ')})` : ''}`;
}

function pluginLines(config: Config): string[] {
  const p = config.plugin;
  const lines = [
    `plugin          ${p.enabled && p.name !== null ? `${p.name}, after each event's syncs` : 'off'}`,
  ];
  if (p.command !== null) {
    const c = p.command;
    const filter = c.includes.length > 0 ? `, only ${c.includes.map((i) => i.expression).join(' ')}` : '';
    lines.push(
      `  command       ${quoteWords(c.prefix)} <path> ${quoteWords(c.suffix)}`.trimEnd() +
        `  (ignoreError ${onOff(c.ignoreError)}, timeout ${c.timeoutS} s, concurrency ${c.concurrency}${filter})`,
    );
  }
  if (p.socket !== null) {
    const s = p.socket;
    lines.push(`  socket        ${s.host}:${s.port}, ${s.framing} framing, watch ${s.watch}`);
  }
  if (p.refreshCDN !== null) {
    const c = p.refreshCDN;
    const target =
      c.mode === 'chinacache'
        ? `${c.domainName}:${c.port} user ${c.username} password ${HIDDEN}`
        : `${c.method} ${c.urlTemplate}`;
    const mapping = c.regex ? `, regex ${c.match}` : '';
    lines.push(`  refreshCDN    ${c.mode}: ${target}, base ${c.baseUrl}${mapping}, watch ${c.watch}`);
  }
  if (p.http !== null) {
    const h = p.http;
    lines.push(`  http          POST ${h.url} (${h.format}, timeout ${h.timeoutS} s), watch ${h.watch}`);
  }
  return lines;
}

/**
 * The resolved configuration as aligned text lines, control characters escaped.
 * `stateDirOverride` is `--state-dir` from the command line, which wins over `<state dir>`.
 */
export function describeConfig(config: Config, stateDirOverride: string | null): string[] {
  const { rsync, crontab, filter, failLog } = config;
  const stateDir =
    stateDirOverride !== null
      ? `${stateDirOverride}  (--state-dir)`
      : config.stateDir !== null
        ? `${config.stateDir}  (<state dir>)`
        : 'the default location';
  const lines = [`config file     ${config.file}`, `state dir       ${stateDir}`, ''];
  config.localpaths.forEach((tree, i) => {
    lines.push(`tree ${i + 1}          ${tree.watch}`);
    for (const remote of tree.remotes) lines.push(`  remote        ${describeRemote(remote, config)}`);
  });
  const auth = rsync.auth.enabled
    ? `user ${rsync.auth.users === '' ? '(none)' : rsync.auth.users}, password file ${rsync.auth.passwordFile}`
    : 'off';
  lines.push(
    '',
    `rsync options   ${rsync.commonParamsRaw}   → ${quoteWords(rsync.commonParams)}`,
    `  auth          ${auth}`,
    `  port          ${rsync.port === null ? 'default' : String(rsync.port)}`,
    `  timeout       ${timeoutText(rsync)}`,
    `  ssh           ${onOff(rsync.ssh)}`,
    `events          ${events(config.inotify)}`,
    `filter          ${onOff(filter.enabled)}${filter.excludes.length > 0 ? `, ${filter.excludes.length} exclude expression(s)` : ''}`,
  );
  // One push each: spreading 100,000 excludes into one call overflows the stack.
  for (const e of filter.excludes)
    lines.push(`  exclude       ${e.expression}   (matched as /${e.regex.source}/${e.regex.flags})`);
  lines.push(
    `temp files      built-in temp names dropped: ${onOff(config.tempFiles.builtin)}; dot files ignored: ${onOff(config.tempFiles.ignoreDotFiles)}`,
    `fail log        ${failLog.path}: a list of the failed syncs, rewritten from the retry queue, never run`,
    `  retries       by the queue, 5 s after a failure, doubling up to every ${failLog.timeToExecuteMinutes} min (timeToExecute)`,
    `crontab         ${crontab.enabled ? (crontab.cron !== null ? `cron "${crontab.cron}"` : `every ${crontab.scheduleMinutes} min`) : 'off'}`,
    `  filter        ${onOff(crontab.filter.enabled)}${crontab.filter.excludes.length > 0 ? `: ${crontab.filter.excludes.join(' ')}` : ''}`,
    ...pluginLines(config),
    `host            ${config.host.ip}:${config.host.port}, metrics ${onOff(config.host.metrics)}`,
    `debug           ${onOff(config.debug)}`,
    `file system     xfs ${onOff(config.fileSystem.xfs)}, watcher ${config.fileSystem.watcher}`,
  );
  return lines.map(printable);
}
