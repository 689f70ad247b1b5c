/** A Lua string literal holding the UTF-8 bytes of `s`; `\ddd` escapes work in every Lua version. */
export function luaString(s: string): string {
  let out = '"';
  for (const c of Buffer.from(s, 'utf8')) {
    const plain = c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c;
    out += plain ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
  }
  return `${out}"`;
}

export interface LsyncdSpec {
  readonly source: string;
  /** `rsync://user@host:port/module`. */
  readonly target: string;
  readonly passwordFile: string;
  /** Seconds to aggregate events; lsyncd's default is 15. */
  readonly delay: number;
  readonly logFile: string;
  readonly statusFile: string;
}

/**
 * The lsyncd configuration of the measured baseline (research peers.md §4.1): `default.rsync`,
 * foreground, insist, the given delay, everything else lsyncd's defaults. Pure.
 */
export function lsyncdConfig(spec: LsyncdSpec): string {
  return [
    'settings {',
    `  logfile = ${luaString(spec.logFile)},`,
    `  statusFile = ${luaString(spec.statusFile)},`,
    '  statusInterval = 1,',
    '  nodaemon = true,',
    '  insist = true,',
    '}',
    'sync {',
    '  default.rsync,',
    `  source = ${luaString(spec.source)},`,
    `  target = ${luaString(spec.target)},`,
    `  delay = ${spec.delay},`,
    `  rsync = { password_file = ${luaString(spec.passwordFile)} },`,
    '}',
    '',
  ].join('\n');
}
