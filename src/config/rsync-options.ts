/**
 * rsync's option grammar, as far as sersync2 must read `commonParams` and the argv it builds: which
 * options make the sender follow links (refused with the config), and where a remote shell is named
 * (its runs start the shell outside the confinement, `src/sync/confine.ts`). Pure.
 */

/** rsync's short options that take a value, in a cluster (`-e ssh`, `-T/tmp`, `-@1`): the rest is the value. */
const SHORT_WITH_VALUE = new Set(['B', 'e', 'f', 'M', 'T', '@']);
/** rsync's long options that take a value, which may be the next word (`--exclude -e`). */
const LONG_WITH_VALUE = new Set(
  (
    'info debug backup-dir suffix chmod checksum-choice cc block-size rsh rsync-path max-delete ' +
    'max-size min-size max-alloc partial-dir usermap groupmap chown timeout contimeout ' +
    'modify-window temp-dir compare-dest copy-dest link-dest compress-choice zc compress-level zl ' +
    'skip-compress filter exclude exclude-from include include-from files-from copy-as address port ' +
    'sockopts outbuf remote-option out-format log-format log-file log-file-format password-file ' +
    'early-input bwlimit stop-after stop-at write-batch only-write-batch read-batch protocol iconv ' +
    'checksum-seed'
  )
    .split(' ')
    .map((name) => `--${name}`),
);
const FOLLOWING_LONG = new Set(['--copy-links', '--copy-unsafe-links', '--copy-dirlinks']);
/** `-L` (copy-links) and `-k` (copy-dirlinks). */
const FOLLOWING_SHORT = new Set(['-L', '-k']);
const REMOTE_SHELL = new Set(['-e', '--rsh']);
/**
 * Options whose value names a file or directory this side's rsync reads: filter files, the list of
 * files, and the receiver's own directories (a local replica's run has the receiver here).
 */
const READS_LOCAL_FILE = new Set([
  '--exclude-from',
  '--include-from',
  '--files-from',
  '--filter',
  '-f',
  '--temp-dir',
  '-T',
  '--link-dest',
  '--compare-dest',
  '--copy-dest',
  '--backup-dir',
  '--partial-dir',
  '--read-batch',
]);

/**
 * Options whose value names where this side's rsync writes: its own log and batch files (and the
 * batch's `.sh` beside it), and a local receiver's directories outside the replica.
 */
const WRITES_LOCAL_FILE = new Set(['--log-file', '--write-batch', '--only-write-batch']);
const WRITES_LOCAL_DIR = new Set(['--temp-dir', '-T', '--backup-dir', '--partial-dir']);

/** Where an option's value begins: `words[word].slice(at)`. */
export interface ValueAt {
  readonly word: number;
  readonly at: number;
}

/** One option among words: its name (`-e`, `--rsh`) and, when it takes one, where its value is. */
interface Found {
  readonly option: string;
  readonly value: ValueAt | null;
}

function* optionsIn(words: readonly string[]): Generator<Found> {
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      if (eq > 0) yield { option: w.slice(0, eq), value: { word: i, at: eq + 1 } };
      else if (LONG_WITH_VALUE.has(w))
        yield { option: w, value: i + 1 < words.length ? { word: ++i, at: 0 } : null };
      else yield { option: w, value: null };
      continue;
    }
    if (!/^-[^-]/.test(w)) continue;
    for (let j = 1; j < w.length; j++) {
      const option = `-${w[j] ?? ''}`;
      if (!SHORT_WITH_VALUE.has(w[j] ?? '')) {
        yield { option, value: null };
        continue;
      }
      if (j < w.length - 1) yield { option, value: { word: i, at: j + 1 } };
      else yield { option, value: i + 1 < words.length ? { word: ++i, at: 0 } : null };
      break;
    }
  }
}

/** The option among `words` that makes rsync's sender follow symlinks, or null. */
export function linkFollowingOption(words: readonly string[]): string | null {
  for (const { option } of optionsIn(words))
    if (FOLLOWING_LONG.has(option) || FOLLOWING_SHORT.has(option)) return option;
  return null;
}

/**
 * The absolute paths that options among `words` name for this side's rsync to read
 * (`--exclude-from=/etc/x`, `--filter=merge /etc/y`). Not what others read: a remote shell's key
 * (`-e 'ssh -i /root/.ssh/k'`), a path on the remote (`--rsync-path`, `--remote-option`).
 */
export function localFilesNamed(words: readonly string[]): string[] {
  const paths: string[] = [];
  for (const { option, value } of optionsIn(words)) {
    if (value === null || !READS_LOCAL_FILE.has(option)) continue;
    const text = (words[value.word] ?? '').slice(value.at);
    // a filter rule reads a file when it merges one: `merge /x`, `. /x`, `dir-merge,- /y`
    const merged = /^(?:merge|dir-merge|\.|:)[^\s]*\s+(.*)$/.exec(text);
    const path = option === '--filter' || option === '-f' ? (merged?.[1] ?? '') : text;
    if (path.startsWith('/')) paths.push(path);
  }
  return paths;
}

/**
 * Where options among `words` have this side's rsync write, absolute paths only (relative ones are
 * below the replica): a log or batch file's directory (rsync creates them), a directory itself.
 */
export function localPlacesWritten(words: readonly string[]): string[] {
  const places: string[] = [];
  for (const { option, value } of optionsIn(words)) {
    if (value === null) continue;
    const path = (words[value.word] ?? '').slice(value.at);
    if (!path.startsWith('/')) continue;
    if (WRITES_LOCAL_FILE.has(option)) places.push(path.slice(0, path.lastIndexOf('/')) || '/');
    else if (WRITES_LOCAL_DIR.has(option)) places.push(path);
  }
  return places;
}

/** Where each remote shell named among `words` (`-e CMD`, `--rsh=CMD`, `-avzeCMD`) is written. */
export function remoteShellValues(words: readonly string[]): ValueAt[] {
  const found: ValueAt[] = [];
  for (const { option, value } of optionsIn(words))
    if (REMOTE_SHELL.has(option) && value !== null) found.push(value);
  return found;
}
