import { fromUtf8, type RelPath } from '../paths.js';

/**
 * What an rsync exit code means for the work it carried. Every failure stays in the retry queue;
 * the outcome decides how it is reported: `retry` is expected to heal (network, remote down),
 * `fatal` needs the operator (bad options, refused authentication, protocol mismatch).
 */
export type Outcome = 'ok' | 'retry' | 'fatal';

export const RSYNC_EXIT_CODES: Readonly<
  Record<number, { readonly meaning: string; readonly outcome: Outcome }>
> = {
  0: { meaning: 'success', outcome: 'ok' },
  1: { meaning: 'syntax or usage error', outcome: 'fatal' },
  2: { meaning: 'protocol incompatibility', outcome: 'fatal' },
  3: { meaning: 'errors selecting input/output files, dirs', outcome: 'retry' },
  4: { meaning: 'requested action not supported', outcome: 'fatal' },
  5: {
    meaning: 'error starting client-server protocol (refused, unknown module, auth failed)',
    outcome: 'fatal',
  },
  6: { meaning: 'daemon unable to append to log-file', outcome: 'retry' },
  10: { meaning: 'error in socket I/O', outcome: 'retry' },
  11: { meaning: 'error in file I/O', outcome: 'retry' },
  12: { meaning: 'error in rsync protocol data stream', outcome: 'retry' },
  13: { meaning: 'errors with program diagnostics', outcome: 'retry' },
  14: { meaning: 'error in IPC code', outcome: 'retry' },
  20: { meaning: 'received SIGUSR1 or SIGINT', outcome: 'retry' },
  21: { meaning: 'some error returned by waitpid()', outcome: 'retry' },
  22: { meaning: 'error allocating core memory buffers', outcome: 'retry' },
  23: { meaning: 'partial transfer due to error', outcome: 'retry' },
  24: { meaning: 'partial transfer due to vanished source files', outcome: 'ok' },
  25: { meaning: 'the --max-delete limit stopped deletions', outcome: 'fatal' },
  30: { meaning: 'timeout in data send/receive', outcome: 'retry' },
  35: { meaning: 'timeout waiting for daemon connection', outcome: 'retry' },
  255: { meaning: 'ssh connection failed', outcome: 'retry' },
};

/**
 * A source path that is no longer in the tree: vanished, or now reached through a symlink that
 * someone else planted (rsync ≥ 3.5 refuses to follow it: ELOOP). Either way the change that
 * removed it has its own event, so nothing is left to send for that path.
 */
const GONE = /No such file or directory \(2\)|file has vanished|Too many levels of symbolic links \(40\)/;

/**
 * sersync counted exit 23 as success because a source that vanished between the event and the
 * run is not a failure. But 23 also covers a replica that refused a write; so 23 is success only
 * when every error rsync printed is about a source that is gone (see `GONE`).
 */
export function classifyExit(exitCode: number, stderr: string): Outcome {
  if (exitCode === 23) {
    const errors = stderr
      .split('\n')
      .filter((l) => /^rsync(: | error:)/.test(l) && !/^rsync error: some files/.test(l));
    return errors.every((l) => GONE.test(l)) ? 'ok' : 'retry';
  }
  return RSYNC_EXIT_CODES[exitCode]?.outcome ?? 'retry';
}

/** The line an operator needs from rsync's stderr: its last error, else its last line. */
export function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // The remote's own refusal (`ERROR: module is read only`, `@ERROR: auth failed …`) is the cause;
  // the socket errors the client prints after it are its consequences.
  const remote = lines.filter((l) => /^@?ERROR:/.test(l));
  // rsync ends with a generic `rsync error: … (code N) at file.c(L)`; the lines before say what happened.
  const generic = (l: string): boolean => /^rsync error: .*\(code \d+\)/.test(l);
  const errors = lines.filter((l) => /error|failed|refused|denied|@ERROR/i.test(l));
  const specific = errors.filter((l) => !generic(l));
  // rsync's own word on what stopped it, in no error vocabulary: `rsync: [sender] could not open
  // password file /etc/rsync.pas: No such file or directory (2)` before `syntax or usage error (code 1)`.
  const explaining = lines.filter((l) => /^rsync: /.test(l) && !generic(l));
  return remote.at(-1) ?? specific.at(-1) ?? explaining.at(-1) ?? errors.at(-1) ?? lines.at(-1) ?? '';
}

/**
 * rsync's per-file errors about the source (its sender reading our tree), with the quoted name:
 * `send_files failed to open "…": …`, `opendir "…" failed: …`, `link_stat "…" failed: …`, and any
 * other of that shape, so that a refusal this code does not know by name fails its own path,
 * not the whole batch. The receiver's and generator's lines carry their own tag.
 */
const SOURCE_FILE_ERROR = /^rsync: (?:\[sender\] )?[a-z_ ]+ "(.*)"(?: failed)?: .* \(\d+\)$/;

/**
 * The files an exit 23 is about, relative to `root`, each with rsync's line about it, when every
 * error rsync printed names one file of the source it could not read (gone ones are not errors); null when any error is about something else (the receiver, the connection), or a name
 * cannot be read back, so that the caller fails everything. rsync prints names absolute, with
 * bytes it deems unprintable as `\#ooo` (octal).
 */
export function failedSourcePaths(
  exitCode: number,
  stderr: string,
  root: string,
): { readonly path: RelPath; readonly error: string }[] | null {
  if (exitCode !== 23) return null;
  const prefix = `${fromUtf8(root)}/`;
  const paths: { path: RelPath; error: string }[] = [];
  for (const line of stderr.split('\n')) {
    if (!/^rsync(: | error:)/.test(line) || /^rsync error: some files/.test(line)) continue;
    if (GONE.test(line)) continue;
    const quoted = SOURCE_FILE_ERROR.exec(line)?.[1];
    if (quoted === undefined) return null;
    const abs = fromUtf8(quoted).replace(/\\#([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(parseInt(o, 8)),
    );
    if (!abs.startsWith(prefix)) return null;
    paths.push({ path: abs.slice(prefix.length), error: line });
  }
  return paths.length > 0 ? paths : null;
}
