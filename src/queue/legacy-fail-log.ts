import type { PathOp } from '../coalesce/types.js';
import type { Config, RemoteTarget } from '../config/types.js';
import { displayPath, type RelPath } from '../paths.js';
import type { ImportedRow } from './types.js';

/**
 * Reading the fail log sersync left behind (`rsync_fail_log.sh`): `#errno N` lines, the shell
 * commands of spec §3.8 (sync `"./rel"` with `\$` escapes; the include-chain delete form), blank
 * lines. The file is read as a byte string (one char per byte) so names keep every byte.
 *
 * Quoting is read the way sersync wrote it, not the way a shell would run it: sersync escaped
 * only `$` inside `"…"`, so `\$` is a `$` and every other character (back-tick, backslash) is part
 * of the name, and a `"` not followed by a blank is part of the name too. sersync-ts's own fail
 * log (single quotes for such names) reads back the same way.
 */

export interface LegacyCommand {
  /** 1-based line where the command starts. */
  readonly line: number;
  /** The `#errno` status just above it (exit code × 256, or -1), null when it had none. */
  readonly status: number | null;
  /** Its first line as written (byte string), for a report that shows what was not imported. */
  readonly text: string;
  /** The `cd` directory (UTF-8 text, like the config's watch roots). */
  readonly root: string;
  readonly target: RemoteTarget;
  readonly op: PathOp;
}

export interface LegacyProblem {
  readonly line: number;
  /** The first line of what could not be used (byte string). */
  readonly text: string;
  readonly reason: string;
}

export interface LegacyParse {
  readonly commands: readonly LegacyCommand[];
  readonly problems: readonly LegacyProblem[];
}

interface Word {
  readonly text: string;
  /** Any part of it was quoted or escaped: never an operator, option or redirection. */
  readonly quoted: boolean;
  /** The unquoted `&&` between `cd W` and `rsync`. */
  readonly and: boolean;
}

class NotACommand extends Error {}

const BLANK = new Set([' ', '\t', '\r']);

/** The words of one command starting at `start`, and where the next command starts. */
function tokenize(s: string, start: number): { words: Word[]; next: number } {
  const words: Word[] = [];
  let text: string | null = null;
  let quoted = false;
  const finish = (): void => {
    if (text !== null) words.push({ text, quoted, and: false });
    text = null;
    quoted = false;
  };
  let i = start;
  for (;;) {
    const c = s[i];
    if (c === undefined || c === '\n') {
      finish();
      return { words, next: i + 1 };
    }
    if (BLANK.has(c)) {
      finish();
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new NotACommand("a ' is never closed");
      // A name may hold a newline, but a quote that swallows the next command is a broken line.
      if (/\n(#errno -?\d|cd )/.test(s.slice(i, end)))
        throw new NotACommand("a ' runs into the next command");
      text = (text ?? '') + s.slice(i + 1, end);
      quoted = true;
      i = end + 1;
    } else if (c === '"') {
      const { value, end } = sersyncDoubleQuoted(s, i + 1);
      text = (text ?? '') + value;
      quoted = true;
      i = end + 1;
    } else if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined) throw new NotACommand('a \\ ends the file');
      if (n !== '\n') text = (text ?? '') + n;
      quoted = true;
      i += 2;
    } else if (c === '&' && s[i + 1] === '&' && text === null) {
      words.push({ text: '&&', quoted: false, and: true });
      i += 2;
    } else {
      text = (text ?? '') + c;
      i++;
    }
  }
}

/** sersync's `"…"` from `from` (after the opening quote): `\$` is `$`; ends at a `"` before a blank. */
function sersyncDoubleQuoted(s: string, from: number): { value: string; end: number } {
  let value = '';
  for (let i = from; ; i++) {
    const c = s[i];
    if (c === undefined || c === '\n') throw new NotACommand('a " is never closed on its line');
    if (c === '\\' && s[i + 1] === '$') {
      value += '$';
      i++;
    } else if (c === '"' && (s[i + 1] === undefined || s[i + 1] === '\n' || BLANK.has(s[i + 1] ?? ''))) {
      return { value, end: i };
    } else {
      value += c;
    }
  }
}

/** `[user@]host::module`, `[user@]host:path`, or a local directory. */
function parseDestination(d: string): RemoteTarget {
  const text = displayPath(d);
  const remote = /^(?:[^@:/]*@)?([^:/][^:]*)(::?)(.+)$/.exec(text);
  if (remote !== null) {
    const [, host = '', sep, rest = ''] = remote;
    return sep === '::' ? { kind: 'daemon', host, module: rest } : { kind: 'ssh', host, path: rest };
  }
  if (text.startsWith('/')) return { kind: 'local', path: text.replace(/(.)\/+$/, '$1') };
  throw new NotACommand(`cannot read the destination ${text}`);
}

/** The path a delete's include chain names: every parent `d/`, the path, `path/***` for a directory. */
function fromIncludeChain(includes: readonly string[]): { path: RelPath; isDir: boolean } {
  const below = includes.filter((p) => p.endsWith('/***'));
  const named = includes.filter((p) => !p.endsWith('/') && !p.endsWith('/***'));
  const [path] = named;
  if (path === undefined || named.length !== 1 || path === '')
    throw new NotACommand('the include chain names no single path');
  const expected = [...path.matchAll(/\//g)].map((m) => path.slice(0, m.index + 1));
  const parents = includes.filter((p) => p.endsWith('/'));
  if (parents.length !== expected.length || parents.some((p, i) => p !== expected[i])) {
    throw new NotACommand('the include chain does not lead to its path');
  }
  if (below.length > 1 || (below.length === 1 && below[0] !== `${path}/***`)) {
    throw new NotACommand('the include chain does not lead to its path');
  }
  return { path, isDir: below.length === 1 };
}

const REDIRECTIONS = new Set(['>/dev/null', '2>&1']);

/** Reads `cd W && rsync … -R …` into what it was meant to do. */
function interpret(words: readonly Word[]): Omit<LegacyCommand, 'line' | 'status' | 'text'> {
  const plain = (w: Word | undefined, text: string): boolean =>
    w !== undefined && !w.quoted && w.text === text;
  const [cd, root, and, rsync] = words;
  if (!plain(cd, 'cd') || root === undefined || and?.and !== true || !plain(rsync, 'rsync')) {
    throw new NotACommand('not a "cd DIR && rsync …" command');
  }
  const args = words.slice(4);
  while (args.length > 0 && !(args.at(-1)?.quoted ?? true) && REDIRECTIONS.has(args.at(-1)?.text ?? ''))
    args.pop();
  const r = args.findIndex((w) => plain(w, '-R'));
  if (r < 0) throw new NotACommand('rsync has no -R');
  let source: string | null = null;
  let dest: string | null = null;
  let del = false;
  const includes: string[] = [];
  for (let i = r + 1; i < args.length; i++) {
    const w = args[i];
    if (w === undefined) break;
    if (w.text === '-e') i++;
    else if (w.text === '--delete') del = true;
    else if (w.text.startsWith('--include=')) includes.push(w.text.slice('--include='.length));
    else if (/^--(exclude|port|timeout|password-file)=/.test(w.text)) continue;
    else if (w.text.startsWith('-')) throw new NotACommand(`unexpected option ${displayPath(w.text)}`);
    else if (w.text.startsWith('./') && source === null) source = w.text;
    else if (dest === null) dest = w.text;
    else throw new NotACommand(`unexpected word ${displayPath(w.text)}`);
  }
  if (source === null || dest === null) throw new NotACommand('rsync has no source or no destination');
  const target = parseDestination(dest);
  const base = { root: displayPath(root.text), target };
  if (source !== './') {
    if (includes.length > 0) throw new NotACommand('a file sync with an include chain');
    const path = source.slice(2).replace(/\/+$/, '');
    if (path === '') throw new NotACommand('an empty path');
    return { ...base, op: { kind: 'sync', path } };
  }
  if (includes.length === 0) return { ...base, op: { kind: 'full', path: '' } };
  const { path, isDir } = fromIncludeChain(includes);
  // Without --delete (inotify delete off) the include chain only sent the path: a sync.
  const op: PathOp = del ? { kind: 'delete', path, isDir } : { kind: isDir ? 'tree' : 'sync', path };
  return { ...base, op };
}

/** Every command of a legacy fail log, and every line that could not be read as one. */
export function parseLegacyFailLog(text: string): LegacyParse {
  const commands: LegacyCommand[] = [];
  const problems: LegacyProblem[] = [];
  let status: number | null = null;
  let pos = 0;
  let line = 1;
  while (pos < text.length) {
    const eol = text.indexOf('\n', pos);
    const first = text.slice(pos, eol < 0 ? text.length : eol);
    const nextLine = eol < 0 ? text.length : eol + 1;
    const errno = /^#errno (-?\d+)[ \t\r]*$/.exec(first);
    if (errno !== null) {
      status = Number(errno[1]);
    } else if (first.trim() === '' || first.startsWith('#')) {
      // structure, not commands
    } else {
      try {
        const { words, next } = tokenize(text, pos);
        commands.push({ line, status, text: first, ...interpret(words) });
        line += countNewlines(text, pos, next);
        pos = next;
        status = null;
        continue;
      } catch (err) {
        if (!(err instanceof NotACommand)) throw err;
        problems.push({ line, text: first, reason: err.message });
        status = null;
      }
    }
    pos = nextLine;
    line++;
  }
  return { commands, problems };
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** A destination as rsync is given it (without the user). */
function targetText(t: RemoteTarget): string {
  switch (t.kind) {
    case 'daemon':
      return `${t.host}::${t.module}`;
    case 'ssh':
      return `${t.host}:${t.path}`;
    case 'local':
      return t.path;
  }
}

function sameTarget(a: RemoteTarget, b: RemoteTarget): boolean {
  switch (a.kind) {
    case 'daemon':
      return b.kind === 'daemon' && a.host === b.host && a.module === b.module;
    case 'ssh':
      return b.kind === 'ssh' && a.host === b.host && a.path === b.path;
    case 'local':
      return b.kind === 'local' && a.path === b.path;
  }
}

/** The rsync exit code behind a `system()` status (-1 when it was a signal or unknown). */
export function exitCodeOfStatus(status: number | null): number {
  return status !== null && status >= 0 && status % 256 === 0 ? status / 256 : -1;
}

export interface LegacyImport {
  readonly rows: readonly ImportedRow[];
  readonly problems: readonly LegacyProblem[];
}

/**
 * Turns parsed commands into retry rows of this config: the root must be one of its watched
 * trees and the destination one of that tree's remotes (matched by target, so the row carries
 * the config's remote id). A sync of what is now a directory becomes a tree sync, as sersync's
 * `rsync -r "./dir"` was. Commands the config cannot place are problems, never dropped silently.
 */
export function legacyToRows(
  config: Config,
  parsed: readonly LegacyCommand[],
  source: string,
  isDirectory: (root: string, path: RelPath) => boolean,
): LegacyImport {
  const rows: ImportedRow[] = [];
  const problems: LegacyProblem[] = [];
  for (const c of parsed) {
    const local = config.localpaths.find((l) => l.watch === c.root.replace(/(.)\/+$/, '$1'));
    const remote = local?.remotes.find((r) => sameTarget(r.target, c.target));
    if (local === undefined || remote === undefined) {
      const where =
        local === undefined
          ? `${c.root} is not a watched tree`
          : `its destination ${targetText(c.target)} is not a remote of ${local.watch}`;
      problems.push({ line: c.line, text: c.text, reason: `${where} in ${config.file}` });
      continue;
    }
    const op: PathOp =
      c.op.kind === 'sync' && isDirectory(local.watch, c.op.path) ? { kind: 'tree', path: c.op.path } : c.op;
    rows.push({
      remoteId: remote.id,
      root: local.watch,
      op,
      attempts: 2,
      failure: { exitCode: exitCodeOfStatus(c.status), message: `imported from ${source}:${c.line}` },
    });
  }
  return { rows, problems };
}
