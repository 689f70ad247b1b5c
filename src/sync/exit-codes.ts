import { backoffMs } from '../backoff.js';
import { rsyncTempFileOf } from '../filter/temp-files.js';
import { baseName, fromUtf8, joinRel, parentOf, unescapeRsyncName, type RelPath } from '../paths.js';
import type { Failure } from '../queue/types.js';

/**
 * The engine's failure policy, in one table: what an rsync exit means for the work it carried.
 * `ok`: it arrived. `partial`: some files could not be read from the source or written on the
 * replica (they are named; the rest arrived). `retry`: expected to heal (network, remote down). `final`: needs the operator (bad
 * options, refused authentication, protocol mismatch). Nothing is dropped: `retry` and `final`
 * both stay in the retry queue with back-off; `final` says the operator must act.
 */
export type Outcome = 'ok' | 'partial' | 'retry' | 'final';

/** How a run ended, as far as this table reads it. */
export interface RunEnd {
  readonly exitCode: number;
  readonly stderr: string;
}

/**
 * `lost`: the remote could not be reached or stopped answering, so it is probed and its backlog
 * released as soon as it answers again (a refused login or a full disk waits for back-off, or the
 * probe would retry it in a loop).
 */
export interface ExitMeaning {
  readonly meaning: string;
  readonly outcome: Outcome;
  readonly lost?: true;
  /**
   * rsync itself got a signal (Ctrl-C or a stop reaching the process group, an admin's kill): not
   * the remote's failure, so the rows keep their real last error and the work goes back.
   */
  readonly interrupted?: true;
  /**
   * rsync did not start on this host (not installed; out of descriptors or processes): not the
   * remote's fault, so it is not probed; the backlog goes as soon as any run starts again.
   */
  readonly notStarted?: true;
}

/** rsync's code for a source it cannot use; also a run not made because the tree's root, or its local replica, is not usable. */
export const SOURCE_UNUSABLE = 3;

/**
 * rsync could not be run (not installed, not executable), as a shell says it: the helper's code, and
 * the worker's for a spawn that failed. Not the remote's fault: no probe, the rows back off.
 */
export const CANNOT_RUN = 127;

/** Not rsync's: the thread that runs it failed on the task before rsync ran (or died). */
export const THREAD_FAILED = -2;

/** Not rsync's: the local replica's file system is not mounted (see `replicaUnmounted`); not run. */
export const REPLICA_UNMOUNTED = -3;

export const RSYNC_EXIT_CODES: Readonly<Record<number, ExitMeaning>> = {
  [THREAD_FAILED]: { meaning: "sersync2's rsync thread could not run the task", outcome: 'retry' },
  // lost: probed until it is mounted again (the probe looks at the mount too), then released
  [REPLICA_UNMOUNTED]: {
    meaning: "the local replica's file system is not mounted: not run",
    outcome: 'retry',
    lost: true,
  },
  [-1]: { meaning: 'rsync was killed', outcome: 'retry', lost: true },
  0: { meaning: 'success', outcome: 'ok' },
  1: { meaning: 'syntax or usage error', outcome: 'final' },
  2: { meaning: 'protocol incompatibility', outcome: 'final' },
  3: { meaning: 'errors selecting input/output files, dirs', outcome: 'retry' },
  4: { meaning: 'requested action not supported', outcome: 'final' },
  5: {
    meaning: 'error starting client-server protocol (refused, unknown module, auth failed, busy)',
    outcome: 'final',
  },
  6: { meaning: 'daemon unable to append to log-file', outcome: 'retry' },
  10: { meaning: 'error in socket I/O', outcome: 'retry', lost: true },
  11: { meaning: 'error in file I/O', outcome: 'retry' },
  12: { meaning: 'error in rsync protocol data stream', outcome: 'retry', lost: true },
  13: { meaning: 'errors with program diagnostics', outcome: 'retry' },
  14: { meaning: 'error in IPC code', outcome: 'retry' },
  20: { meaning: 'received SIGUSR1 or SIGINT', outcome: 'retry', interrupted: true },
  21: { meaning: 'some error returned by waitpid()', outcome: 'retry' },
  22: { meaning: 'error allocating core memory buffers', outcome: 'retry' },
  23: { meaning: 'partial transfer due to error', outcome: 'retry' },
  24: { meaning: 'partial transfer due to vanished source files', outcome: 'ok' },
  25: { meaning: 'the --max-delete limit stopped deletions', outcome: 'final' },
  30: { meaning: 'timeout in data send/receive (or the stall backstop)', outcome: 'retry', lost: true },
  35: { meaning: 'timeout waiting for daemon connection', outcome: 'retry', lost: true },
  // sersync-confine's own (native/confine.c), as a shell's: rsync was not run.
  126: { meaning: 'rsync could not be confined to the tree: not run', outcome: 'retry' },
  [CANNOT_RUN]: {
    meaning: 'rsync could not be run (not installed, or no process could be started)',
    outcome: 'retry',
    notStarted: true,
  },
  255: { meaning: 'ssh connection failed', outcome: 'retry', lost: true },
};

/**
 * A source path that is no longer in the tree: vanished, or now reached through a symlink that
 * someone else planted (rsync ≥ 3.5 refuses to follow it: ELOOP). Either way the change that
 * removed it has its own event, so nothing is left to send for that path. Only the sender's
 * lines say so (untagged before rsync 3.2.4): the same errors from the receiver or generator
 * (`recv_generator: failed to stat …`, a replica directory that is a link under `-K`) mean the
 * file did not arrive.
 */
const GONE =
  /^file has vanished: |^rsync: (?:\[sender\] )?(?:link_stat "|readlink_stat\(|opendir "|send_files failed to open "|(?<=\[sender\] )change_dir ).*(?:No such file or directory \(2\)|Too many levels of symbolic links \(40\))$/;

/**
 * rsync's per-file errors about the source (its sender reading our tree), with the quoted name:
 * `send_files failed to open "…": …`, `opendir "…" failed: …`, `link_stat "…" failed: …`, and any
 * other of that shape, so that a refusal this code does not know by name fails its own path,
 * not the whole batch. The receiver's and generator's lines carry their own tag.
 */
const SOURCE_FILE_ERROR = /^rsync: (?:\[sender\] )?[a-z_ ]+ "(.*)"(?: failed)?: .* \(\d+\)$/;

/**
 * The receiver's and generator's per-file errors about the replica (exit 23: rsync goes on with
 * the other files), with the quoted name last: `mkstemp "d/.f.XXXXXX" (in mod) failed: …`,
 * `recv_generator: mkdir "d" (in mod) failed: …`, `rename "d/.f.XXXXXX" (in mod) -> "d/f": …`,
 * `failed to set times on "d/f" (in mod): …`. A daemon names files from its module's root and
 * adds ` (in MODULE)`; a local or ssh receiver names them absolute (see `RemoteKind.treePath`).
 * rsync before 3.2.0 (CentOS 7's 3.1.2, RHEL 8's and Ubuntu 20.04's 3.1.3: many backup servers)
 * tags no line with its role: such a line is the replica's when its name is not the source's.
 */
const REPLICA_FILE_ERROR =
  /^rsync: (?:\[(?:receiver|generator)\] |(?!\[)).*"(.*)"(?: \(in [^)]*\))?(?: failed)?: .* \(\d+\)$/;

/**
 * The generator's failure to remove an entry from the replica (`--delete`): `delete_file:
 * unlink(d/f) failed: …`, `rmdir` for a directory, the name unquoted, named as the others (untagged
 * before rsync 3.2.0).
 */
const REMOVAL_FAILED = /^rsync: (?:\[generator\] )?delete_file: (unlink|rmdir)\((.*)\) failed: .* \(\d+\)$/;

/**
 * rsync's errors that are printed without its `rsync:` prefix and still make exit 23 (FERROR_XFER
 * in flist.c, generator.c, receiver.c), and the daemon's `ERROR:` lines. A path past PATH_MAX is
 * `filename overflows max-path len by N: …`: the file is left out, and with `--delete` the
 * deletions of every directory reached after it are skipped (rsync says so on stdout only).
 */
const UNPREFIXED_ERROR =
  /^(?:filename overflows max-path len by \d+: |skipping overly long name: |skipping file with bogus \(zero\) st_mode: |skipping symlink with 0-length value: |cannot convert filename: |cannot convert symlink data for: |cannot send file with empty name in |readdir\(|cannot add local filter rules in long-named directory: |failed to re-read xattr |could not make way for |recv_files: |temporary filename too long: |symlink has no referent: |@?ERROR: )/;

/**
 * The daemon's refusal while its module's `max connections` are taken (exit 5, as a refused
 * login): it heals by itself as the other transfers end, so it is retried, not the operator's to fix.
 */
const DAEMON_BUSY = /^@ERROR: max connections \((\d+)\) reached -- try again later$/m;

/**
 * The module's `max connections` when its daemon refused a run as busy (see `DAEMON_BUSY`), or null
 * when it did not.
 */
export function busyLimit(r: RunEnd): number | null {
  const limit = r.exitCode === 5 ? DAEMON_BUSY.exec(r.stderr)?.[1] : undefined;
  return limit === undefined ? null : Number(limit);
}

/** Runs a busy daemon refused that go again in place (see `busyRerunWaitMs`). */
const BUSY_RERUNS = 6;

/**
 * The wait before running a task again that its daemon refused as busy for the `refusals`-th time
 * in a row, or null when the retry queue takes it over. A daemon's process holds its module's slot
 * for a moment after the rsync it served has exited, and longer while a `post-xfer exec` runs: the
 * next run of the same batch, started at once, finds the slot taken (with `max connections = 1`,
 * about one batch in four here). So the first wait is short, and the re-runs end within ~1.6 s.
 */
export function busyRerunWaitMs(refusals: number): number | null {
  return refusals > BUSY_RERUNS ? null : backoffMs(refusals, 25, 1000);
}

/** Whether a line of rsync's stderr is about a source that vanished since it was listed (see `GONE`). */
export function isGoneLine(line: string): boolean {
  return GONE.test(line);
}

/** What the worker knows of a run's stderr besides its text. */
export interface StderrNotes {
  /** Lines about a path that left the tree (see `RsyncResult.leftTree`). */
  readonly gone?: readonly string[];
  /** Lines were dropped (see `RsyncResult.stderrCut`): the errors are not all known. */
  readonly cut?: boolean;
}

/**
 * The error lines of an exit 23 other than vanished sources (rsync's own summary left out); null
 * when some were not kept, so that nothing is taken as delivered that a dropped line named.
 */
function errorsOf23(stderr: string, { gone = [], cut = false }: StderrNotes): string[] | null {
  if (cut) return null;
  return stderr
    .split('\n')
    .filter(
      (l) =>
        (/^rsync(: | error:)/.test(l) || UNPREFIXED_ERROR.test(l)) &&
        !/^rsync error: some files/.test(l) &&
        !GONE.test(l) &&
        !DAEMON_REFUSED.test(l) &&
        !gone.includes(l),
    );
}

/**
 * A daemon's module that excludes a name (`exclude = *.tmp lost+found/`, a `filter` in rsyncd.conf)
 * refuses to receive it: `ERROR: daemon refused to receive file "NAME"` (a directory: all below it),
 * exit 23, the rest of the run delivered. That is the replica's own policy, not a failure: retrying
 * cannot change it (sersync counted exit 23 a success). Named from the transfer's root: the tree's.
 */
const DAEMON_REFUSED = /^ERROR: daemon refused to receive (?:file|directory) "(.*)"$/;

/** Exit 23: rsync went on past errors about single files, each named on stderr. */
export function perFileErrors(exitCode: number): boolean {
  return exitCode === 23;
}

/** The tree paths a daemon's module refused to receive in a run (see `DAEMON_REFUSED`). */
export function daemonRefusedPaths(r: RunEnd): RelPath[] {
  if (!perFileErrors(r.exitCode)) return [];
  return r.stderr.split('\n').flatMap((l) => {
    const quoted = DAEMON_REFUSED.exec(l)?.[1];
    return quoted === undefined ? [] : [printedName(quoted)];
  });
}

/**
 * sersync counted exit 23 as success because a source that vanished between the event and the
 * run is not a failure. But 23 also covers a replica that refused a write; so 23 is success only
 * when every error rsync printed is about a source that is gone (see `GONE`), partial when each
 * names a file rsync could not read or the replica could not take, and a failure otherwise (also
 * when not all its lines were kept: one dropped may name anything).
 */
export function classifyExit(exitCode: number, stderr: string, notes: StderrNotes = {}): Outcome {
  if (perFileErrors(exitCode)) {
    const errors = errorsOf23(stderr, notes);
    if (errors === null) return 'retry';
    if (errors.length === 0) return 'ok';
    return errors.every(
      (l) => SOURCE_FILE_ERROR.test(l) || REPLICA_FILE_ERROR.test(l) || REMOVAL_FAILED.test(l),
    )
      ? 'partial'
      : 'retry';
  }
  return busyOrTable(exitCode, stderr);
}

/**
 * Whether a failed run leaves the batch's other runs worth making: not when the remote is lost,
 * rsync cannot start or was stopped by a signal, which every run would meet. A removal the replica
 * refuses (`refuse options = delete`, a directory it cannot remove) must not hold back the sends.
 */
export function failsOnlyItsRun(failure: Failure): boolean {
  const m = describeExit(failure.exitCode);
  return (
    (m.lost !== true || closedAfterAnswer(failure)) &&
    m.notStarted !== true &&
    m.interrupted !== true &&
    failure.exitCode !== THREAD_FAILED
  );
}

/**
 * The rsync daemon closed the connection once the run had begun. A daemon killed or a network cut
 * does that, but so does an rsync 3.1 daemon (CentOS 7, RHEL 8, Ubuntu 20.04) refusing the run's
 * options (`refuse options = delete`) or writes (a read-only module): it closes with its reason
 * unread, and the client says only this (exit 10, or 12 when the close came in order). Whether the
 * remote is lost, the batch's other runs tell.
 */
export function closedAfterAnswer(failure: Failure): boolean {
  return (
    (failure.exitCode === 10 && RESET_BY_DAEMON.test(failure.message)) ||
    (failure.exitCode === 12 && CLOSED_BY_DAEMON.test(failure.message))
  );
}

/** The client's words when the daemon closed first (RST: the client had sent what it did not read). */
const RESET_BY_DAEMON = /^rsync: (?:\[sender\] )?read error: Connection reset by peer \(104\)$/;
/** And when its close came before the transfer began (an orderly close, as through a proxy). */
const CLOSED_BY_DAEMON = /^rsync: connection unexpectedly closed \(0 bytes received so far\) \[sender\]$/;

/**
 * What a close after the answer (`closedAfterAnswer`) may mean, for an operator: said where such a
 * close is reported (the replicator's log, `status`, `check --remotes`).
 */
export const UNSAID_CLOSE =
  'an rsync 3.1 daemon closes a run it refuses (a read-only module, refuse options) unsaid; its own log says why';

/**
 * Said after the line of removals the remote closed on (`closedAfterAnswer`) while the batch's other
 * runs got through to it: the remote is not lost (`remoteLoss`), its policy refuses them.
 */
export const CLOSED_ON_REMOVALS =
  " (on the removals' run only: an rsync 3.1 daemon whose refuse options refuse --delete closes the connection so)";

/**
 * Whether a run got through to the remote: its transfer ended as rsync's protocol ends one (0, or
 * 23 and 24: some files), whatever it says of single files.
 */
export function reachedRemote(r: { readonly ran: boolean; readonly exitCode: number }): boolean {
  return r.ran && (r.exitCode === 0 || r.exitCode === 23 || r.exitCode === 24);
}

/** What a recorded failure (its exit code and line) asks for: `retry` or `final`. */
export function failureOutcome(failure: Failure): Outcome {
  return busyOrTable(failure.exitCode, failure.message);
}

function busyOrTable(exitCode: number, text: string): Outcome {
  return exitCode === 5 && DAEMON_BUSY.test(text) ? 'retry' : describeExit(exitCode).outcome;
}

/** The table's row for an exit code (one rsync does not document is retried). */
export function describeExit(exitCode: number): ExitMeaning {
  return RSYNC_EXIT_CODES[exitCode] ?? { meaning: 'an exit code rsync does not document', outcome: 'retry' };
}

/**
 * What a failed run says about its remote: whether to probe it, and whether it may not be as the
 * last run left it, so that a full sync must follow once it answers (`resync`): a receiver killed
 * mid-file leaves its temp file behind (not so when rsync never got connected), and a local
 * replica's disk that comes back may be another one (rotated backup disks).
 */
export function remoteLoss(failure: Failure): { readonly lost: boolean; readonly resync: boolean } {
  const lost = describeExit(failure.exitCode).lost === true && !failure.message.endsWith(CLOSED_ON_REMOVALS);
  const neverConnected =
    failure.exitCode === 35 ||
    /failed to connect to|getaddrinfo|ssh: connect to host|Could not resolve hostname/.test(failure.message);
  return { lost, resync: lost && !neverConnected };
}

/** A daemon's `refuse options` said no to an option of the run (`--delete`): its policy, not a fault. */
export function refusedByPolicy(failure: Failure): boolean {
  return failure.message.startsWith(REFUSED_OPTION);
}

/** Of those, the removals: `refuse options = delete` refuses `--delete` and the `--delete-…` forms the client sends. */
export function refusedRemovals(failure: Failure): boolean {
  return failure.message.startsWith(`${REFUSED_OPTION}--delete`);
}

const REFUSED_OPTION = 'rsync: The server is configured to refuse ';

/** The line an operator needs from rsync's stderr: its last error, else its last line. */
export function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // The remote's own refusal (`ERROR: module is read only`, `@ERROR: auth failed …`, a daemon's
  // `refuse options`, an option the remote rsync does not know) is the cause; the socket errors the
  // client prints after it are its consequences.
  const remote = lines.filter(
    (l) =>
      (/^@?ERROR:|^rsync: on remote machine: /.test(l) || l.startsWith(REFUSED_OPTION)) &&
      !DAEMON_REFUSED.test(l),
  );
  // rsync ends with a generic `rsync error: … (code N) at file.c(L)`; the lines before say what happened.
  const generic = (l: string): boolean => /^rsync error: .*\(code \d+\)/.test(l);
  const errors = lines.filter(
    (l) => /error|failed|refused|denied|@ERROR/i.test(l) || UNPREFIXED_ERROR.test(l),
  );
  const specific = errors.filter((l) => !generic(l));
  // rsync's own word on what stopped it, in no error vocabulary: `rsync: [sender] could not open
  // password file /etc/rsync.pas: No such file or directory (2)` before `syntax or usage error (code 1)`.
  const explaining = lines.filter((l) => /^rsync: /.test(l) && !generic(l));
  // The replica's side failing (`[receiver] write failed …: No space left on device`) is the cause
  // of the sender's `read error: Connection reset by peer` that follows it.
  // Before rsync 3.2.0 untagged: a daemon's receiver names its files `(in MODULE)`.
  const receiving = explaining.filter((l) => /^rsync: \[(?:receiver|generator)\] |" \(in [^)]*\)/.test(l));
  return (
    remote.at(-1) ??
    receiving.at(-1) ??
    specific.at(-1) ??
    explaining.at(-1) ??
    errors.at(-1) ??
    lines.at(-1) ??
    ''
  );
}

/** A path an exit 23 names: a file of the source rsync could not read, or one the replica could not take. */
export interface FailedPath {
  readonly path: RelPath;
  readonly error: string;
  /** The replica could not take it (for a directory, what is below may not have arrived either). */
  readonly onReplica: boolean;
  /** The replica could not make this directory: rsync skipped everything below it. */
  readonly contentsSkipped: boolean;
  /** The replica could not remove it (a file, or a directory): it is still there. */
  readonly notRemoved: 'file' | 'directory' | null;
}

/** The generator's failure to make a directory, after which rsync skips its contents unnamed. */
const MKDIR_FAILED = /^rsync: (?:\[generator\] )?recv_generator: mkdir "/;

/**
 * The paths an exit 23 is about, relative to the tree, each with rsync's line about it, when every
 * error rsync printed names one (gone sources are not errors): a source file it could not read
 * (named absolute, below `root`), or a file or directory the replica could not take (named as
 * `replicaPath` maps it back; a temporary name as the file it was for). Null when any error is
 * about something else (the connection, the whole replica), a name cannot be read back or lines
 * were dropped, so that the caller fails everything. Bytes rsync deems unprintable come as `\#ooo` (octal).
 */
export function failedPaths(
  exitCode: number,
  stderr: string,
  root: string,
  replicaPath: (name: RelPath) => RelPath | null,
  notes: StderrNotes = {},
): FailedPath[] | null {
  const errors = perFileErrors(exitCode) ? errorsOf23(stderr, notes) : null;
  if (errors === null) return null;
  const paths: FailedPath[] = [];
  for (const line of errors) {
    const removal = REMOVAL_FAILED.exec(line);
    if (removal !== null) {
      const path = replicaPath(printedName(removal[2] ?? ''));
      if (path === null) return null;
      const notRemoved = removal[1] === 'rmdir' ? 'directory' : 'file';
      paths.push({ path, error: line, onReplica: true, contentsSkipped: false, notRemoved });
      continue;
    }
    const source = sourcePathOf(line, root);
    const replica = source === null ? replicaPathOf(line, replicaPath) : null;
    const path = source ?? replica;
    if (path === null) return null;
    const contentsSkipped = MKDIR_FAILED.test(line);
    paths.push({ path, error: line, onReplica: replica !== null, contentsSkipped, notRemoved: null });
  }
  return paths.length > 0 ? paths : null;
}

/**
 * The source paths (relative to `root`) of the reads rsync's sender was refused (`Permission
 * denied`), each with its line: under confinement, a read through a link planted on the path.
 */
export function refusedReads(r: RunEnd, root: string): { readonly path: RelPath; readonly line: string }[] {
  if (!perFileErrors(r.exitCode)) return [];
  return r.stderr
    .split('\n')
    .filter((l) => l.endsWith(': Permission denied (13)'))
    .flatMap((line) => {
      const path = sourcePathOf(line, root);
      return path === null ? [] : [{ path, line }];
    });
}

/** The path below `root` a per-file source error names; null for another line, or a path elsewhere. */
function sourcePathOf(line: string, root: string): RelPath | null {
  const quoted = SOURCE_FILE_ERROR.exec(line)?.[1];
  if (quoted === undefined) return null;
  const abs = printedName(quoted);
  const prefix = `${fromUtf8(root)}/`;
  return abs.startsWith(prefix) ? abs.slice(prefix.length) : null;
}

/** The tree path a per-file error about the replica names (its temporary name as its file); null for another line. */
function replicaPathOf(line: string, replicaPath: (name: RelPath) => RelPath | null): RelPath | null {
  const quoted = REPLICA_FILE_ERROR.exec(line)?.[1];
  const path = quoted === undefined ? null : replicaPath(printedName(quoted));
  if (path === null) return null;
  const file = rsyncTempFileOf(baseName(path));
  return file === null ? path : joinRel(parentOf(path), file);
}

/** A name as rsync printed it on stderr (read as UTF-8), back to its bytes. */
function printedName(quoted: string): RelPath {
  return unescapeRsyncName(fromUtf8(quoted));
}

/**
 * The receiver's refusal of one file for want of room (`No space left on device`, `Disk quota
 * exceeded`) or because the replica's file system cannot hold a file that large (`File too large`:
 * FAT's 4 GiB): `write failed on "NAME"`, after which rsync stops the run (exit 11), so the files
 * after it in its list are not sent. A daemon's receiver names the file from its module's root and
 * adds ` (in MODULE)`; the others name it absolute (see `RemoteKind.treePath`).
 */
const WRITE_REFUSED =
  /^rsync: (?:\[receiver\] )?write failed on "(.*)"(?: \(in [^)]*\))?: (No space left on device \(28\)|Disk quota exceeded \(122\)|File too large \(27\))$/m;

export interface ReplicaRefusal {
  /** The file as the receiver named it (bytes), relative to its module or absolute. */
  readonly name: RelPath;
  /** rsync's line, for the file's row. */
  readonly line: string;
  /** The file itself is too large for the replica's file system, whatever room is left. */
  readonly tooLarge: boolean;
}

/** The file a run's receiver refused for want of room or because of its size (exit 11); null otherwise. */
export function replicaRefusal(exitCode: number, stderr: string): ReplicaRefusal | null {
  if (exitCode !== 11) return null;
  const m = WRITE_REFUSED.exec(stderr);
  if (m === null) return null;
  return { name: printedName(m[1] ?? ''), line: m[0], tooLarge: m[2] === 'File too large (27)' };
}
