/**
 * piscina worker: runs one rsync. It owns what must not stall the main event loop (walking large
 * trees to build the list, feeding rsync's stdin, reading its output, watching it for a stall).
 * Results go back to the main thread, which owns all state.
 */
import { closeSync, lstatSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { compilePathFilter } from '../src/filter/path-filter.js';
import {
  CANNOT_RUN,
  perFileErrors,
  refusedReads,
  REPLICA_UNMOUNTED,
  SOURCE_UNUSABLE,
  type RunEnd,
} from '../src/sync/exit-codes.js';
import { readyReplica } from '../src/sync/local-replica.js';
import { parentOf, pathBytes, type RelPath } from '../src/paths.js';
import { anchoredPattern, fileListEntry } from '../src/sync/rsync-args.js';
import { pinnedPlace } from '../src/sync/rsync-place.js';
import { isExhaustion, whyNotStarted } from '../src/process-start.js';
import type { StartedChild } from '../src/posix-spawn.js';
import { CONFINABLE, startRsync } from '../src/sync/rsync-start.js';
import { Progress2Reader, type ProgressMessage, type ReportingTask } from '../src/sync/rsync-progress.js';
import { sampleEveryMs, StallClock, treeIoBytes } from '../src/sync/stall.js';
import { StderrKeeper } from '../src/sync/rsync-stderr.js';
import {
  nothingToSend,
  notRun,
  type FileSignature,
  type RsyncInput,
  type RsyncResult,
  type RsyncTask,
} from '../src/sync/task.js';
import { absoluteBytes, openTreeDir, realRoot, walkTree } from '../src/sync/walk.js';
import { fileClockNs, fileClockPast } from '../src/sync/file-clock.js';

const STDOUT_TAIL = 16 * 1024;
const NUL = Buffer.of(0);
const PROGRESS_EVERY_MS = 100;
/** How long a stalled rsync gets to end on SIGTERM before it is killed. */
const KILL_GRACE_MS = 2000;
/** The longest rsync waits for the file clock's tick to pass (a tick is 1–10 ms). */
const CLOCK_WAIT_MS = 20;

export interface Stamped {
  readonly signature: FileSignature;
  /** Its ctime: any change to the file sets it to the file clock's time (mtime may be set to anything). */
  readonly changedNs: bigint;
}

/**
 * A regular file's size, mtime and ctime in ns; null for anything else, nothing, or a file that
 * cannot be examined (a directory listable but not searchable): that one is listed, and rsync,
 * which meets the same error, names it, so only its own path waits in the queue.
 */
function stamp(root: string, path: RelPath): Stamped | null {
  let st;
  try {
    st = lstatSync(absoluteBytes(root, path), { bigint: true, throwIfNoEntry: false });
  } catch {
    return null;
  }
  if (st?.isFile() !== true) return null;
  return {
    signature: `${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
    changedNs: st.ctimeNs,
  };
}

export interface Input {
  readonly list: string[];
  /** Entries a full sync's walk found (rsync's `.` included): its progress total. */
  readonly walked: number;
  /** Directories a send's walk could not read (their contents are not in the list). */
  readonly unreadable: RelPath[];
  /**
   * Regular files a send's tree walks listed, stamped. A signature shows every later write only
   * once the file clock has passed the file's change (see `trustedSignatures`).
   */
  readonly stamps: Map<RelPath, Stamped>;
  /** Every path a send's tree walks put in the list (the trees included); only when asked. */
  readonly listed: RelPath[] | null;
}

/**
 * The signatures that show any write made after now: the files changed before the file clock's
 * current tick (a file changed within it could be written again in it and keep its timestamps).
 */
export function trustedSignatures(
  stamps: ReadonlyMap<RelPath, Stamped>,
  clockNs: bigint,
): Map<RelPath, FileSignature> {
  const out = new Map<RelPath, FileSignature>();
  for (const [p, s] of stamps) if (s.changedNs < clockNs) out.set(p, s.signature);
  return out;
}

/** The latest change among `stamps`, or null when there are none. */
export function newestChange(stamps: ReadonlyMap<RelPath, Stamped>): bigint | null {
  let newest: bigint | null = null;
  for (const s of stamps.values()) if (newest === null || s.changedNs > newest) newest = s.changedNs;
  return newest;
}

/**
 * The list for rsync's stdin, and what building it learnt about the tree; `listing`: keep the
 * paths the tree walks listed.
 */
export function buildInput(task: RsyncTask, input: RsyncInput, listing = false): Input {
  switch (input.kind) {
    case 'rules':
      return { list: [...input.rules], walked: 0, unreadable: [], stamps: new Map(), listed: null };
    case 'files': {
      const out = input.paths
        .filter((p) => {
          const sent = input.sentAs.get(p);
          return sent === undefined || stamp(task.cwd, p)?.signature !== sent;
        })
        .map(fileListEntry);
      const unreadable: RelPath[] = [];
      const stamps = new Map<RelPath, Stamped>();
      const listed: RelPath[] | null = listing ? [] : null;
      const excluded = compilePathFilter(task.filter);
      for (const tree of input.trees) {
        out.push(fileListEntry(tree));
        listed?.push(tree);
        walkTree(
          task.cwd,
          tree,
          excluded,
          (p, isDir) => {
            const s = isDir ? null : stamp(task.cwd, p);
            if (s !== null) stamps.set(p, s);
            // Sent by an earlier batch and unchanged since: not listed again.
            if (s !== null && input.sentAs.get(p) === s.signature) return;
            out.push(fileListEntry(p));
            listed?.push(p);
          },
          () => undefined,
          (dir) => unreadable.push(dir),
        );
      }
      return { list: out, walked: 0, unreadable, stamps, listed };
    }
    case 'excluded': {
      // rsync walks the tree itself here, and reports what it cannot read.
      const out: string[] = [];
      let walked = 1;
      walkTree(
        task.cwd,
        '',
        compilePathFilter(task.filter),
        () => walked++,
        (p, isDir) => out.push(anchoredPattern(p, isDir ? '/***' : '')),
      );
      return { list: out, walked, unreadable: [], stamps: new Map(), listed: null };
    }
  }
}

/** Posts rsync's progress on `port`, at most every PROGRESS_EVERY_MS, and once more at the end (`final`). */
function progressPoster(port: MessagePort, walked: number): { feed(chunk: string): void; final(): void } {
  const reader = new Progress2Reader(walked);
  let posted = 0;
  const post = (final: boolean): void => {
    posted = performance.now();
    const message: ProgressMessage = { progress: reader.snapshot(), final };
    port.postMessage(message);
  };
  post(false);
  return {
    feed(chunk) {
      if (reader.feed(chunk) && performance.now() - posted >= PROGRESS_EVERY_MS) post(false);
    },
    final() {
      post(true);
    },
  };
}

/** Files and bytes rsync sent, from its `--stats` summary (null when it printed none). */
export function transferStats(stdout: string): { filesSent: number | null; bytesSent: number | null } {
  const num = (re: RegExp): number | null => {
    const m = re.exec(stdout)?.[1];
    return m === undefined ? null : Number(m.replace(/\D/g, ''));
  };
  return {
    filesSent: num(/Number of regular files transferred: ([\d,.]+)/),
    bytesSent: num(/Total bytes sent: ([\d,.]+)/),
  };
}

/**
 * The stall backstop: samples the run's I/O counters (and its output) and stops it once they have
 * not moved for `stallS` seconds. Calls `onStall` once, when it stops the run.
 */
function watchStall(
  child: StartedChild,
  stallS: number,
  output: () => number,
  onStall: () => void,
): () => void {
  const pid = child.pid;
  if (pid === undefined) return () => undefined;
  const clock = new StallClock(stallS * 1000, performance.now());
  let grace: NodeJS.Timeout | null = null;
  const sampler = setInterval(() => {
    const io = treeIoBytes(pid);
    if (io === null || !clock.stalled(io + output(), performance.now())) return;
    clearInterval(sampler);
    onStall();
    child.kill('SIGTERM');
    grace = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  }, sampleEveryMs(stallS));
  return () => {
    clearInterval(sampler);
    if (grace !== null) clearTimeout(grace);
  };
}

/**
 * Of a confined run's refused reads, the lines of those whose directory is no longer one of the
 * tree (reached without following links): a symlink planted on the way took them out of it.
 */
function leftTheTree(root: string, run: RunEnd): string[] {
  if (!perFileErrors(run.exitCode)) return []; // spares resolving the root after every run
  let real: Buffer;
  try {
    real = realRoot(root);
  } catch {
    return [];
  }
  return refusedReads(run, real.toString('utf8'))
    .filter(({ path }) => {
      let fd: number | null;
      try {
        fd = openTreeDir(real, parentOf(path));
      } catch {
        return false; // not readable, but there: the refusal stands
      }
      if (fd === null) return true;
      closeSync(fd);
      return false;
    })
    .map(({ line }) => line);
}

export default async function runRsync(task: ReportingTask): Promise<RsyncResult> {
  try {
    return await run(task);
  } finally {
    if (task.progressPort !== undefined) await closed(task.progressPort);
  }
}

/**
 * Closes the progress port, whatever the run did: the pool waits for the last update until it
 * closes (see `runReporting`). Awaited: between tasks piscina blocks this thread's event loop
 * (Atomics.wait), so a close left to it would reach the pool only with the next task.
 */
function closed(port: MessagePort): Promise<void> {
  return new Promise((resolve) => {
    port.once('close', resolve);
    port.close();
  });
}

async function run(task: ReportingTask): Promise<RsyncResult> {
  const started = performance.now();
  try {
    const replica = task.access.replica === undefined ? null : readyReplica(task.access.replica);
    if (replica?.problem != null)
      return notRun(
        replica.problem.unmounted ? REPLICA_UNMOUNTED : SOURCE_UNUSABLE,
        `rsync not run: ${replica.problem.why}`,
        performance.now() - started,
      );
    const result = await runPlaced(task, started);
    return replica?.madeAgain === true ? { ...result, replicaMadeAgain: true } : result;
  } catch (err) {
    // Out of descriptors or processes while opening the tree or walking it: rsync could not be
    // started, as when its spawn fails so (not a fault of the task or of the thread).
    if (isExhaustion(err)) return notStarted(err, started);
    throw err;
  }
}

/** rsync could not be started (see `CANNOT_RUN`), and why, in the operator's terms. */
function notStarted(err: unknown, started: number): RsyncResult {
  return notRun(CANNOT_RUN, `cannot run rsync: ${whyNotStarted(err, 'rsync')}`, performance.now() - started);
}

/** The run in the tree's root as it was checked (`run`, once the replica is ready). */
async function runPlaced(task: ReportingTask, started: number): Promise<RsyncResult> {
  // Every run starts in the tree's root as it was checked, held open: a root or directory
  // swapped for a symlink since is never followed, by the walk below nor by rsync.
  const place = pinnedPlace(task.cwd, task.dir ?? '', task.rootId);
  if (typeof place === 'string')
    // -1 would read as a lost remote
    return notRun(SOURCE_UNUSABLE, `rsync not run: ${place}`, performance.now() - started);
  const listing = task.listedPort !== undefined;
  let input;
  try {
    input = task.input === null ? null : buildInput({ ...task, cwd: place.tree }, task.input, listing);
  } catch (err) {
    place.close();
    throw err;
  }
  const list = input?.list ?? null;
  // Before rsync starts: from now on, what the walks did not list is not this run's to send.
  if (input?.listed != null) task.listedPort?.postMessage(input.listed);
  if (task.input?.kind === 'files' && list?.length === 0) {
    place.close();
    return nothingToSend(performance.now() - started);
  }
  // A file the walk found changed in the file clock's current tick could change again after rsync
  // read it and keep its signature: rsync starts in the next tick, so that every signature holds
  // (not waiting long for a ctime ahead of the clock, which a clock stepped back leaves).
  const newest = input === null ? null : newestChange(input.stamps);
  if (newest !== null) await fileClockPast(newest, CLOCK_WAIT_MS);
  const walked =
    input === null ? new Map<RelPath, FileSignature>() : trustedSignatures(input.stamps, fileClockNs());
  // Only a task with a port (a full sync) reports progress; event syncs stay as lean as they were.
  const progress =
    task.progressPort === undefined ? null : progressPoster(task.progressPort, input?.walked ?? 0);
  const reporting = progress === null ? [] : ['--info=progress2'];
  const child = startRsync(place, ['--stats', ...reporting, ...task.args], task.access);
  if (child instanceof Promise) return child.then((err) => notStarted(err, started));
  return new Promise((resolve) => {
    const stderr = new StderrKeeper();
    let stdout = '';
    let output = 0;
    let stalled = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk.length;
      stdout = (stdout + chunk).slice(-STDOUT_TAIL);
      progress?.feed(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      output += chunk.length;
      stderr.feed(chunk);
    });
    const unwatch =
      task.stallS === null
        ? () => undefined
        : watchStall(
            child,
            task.stallS,
            () => output,
            () => (stalled = true),
          );
    child.stdin.on('error', () => undefined); // rsync may exit before reading it all; its exit code says why
    child.stdin.end(list === null ? undefined : Buffer.concat(list.flatMap((e) => [pathBytes(e), NUL])));
    const finish = (exitCode: number, signal: string | null, extra = ''): void => {
      unwatch();
      const errors = stderr.text();
      progress?.final();
      resolve({
        exitCode,
        signal,
        durationMs: performance.now() - started,
        ran: true,
        listed: list?.length ?? 0,
        unreadable: input?.unreadable ?? [],
        walked,
        ...transferStats(stdout),
        stderr: errors + extra,
        stderrCut: stderr.cut,
        leftTree: CONFINABLE ? leftTheTree(task.cwd, { exitCode, stderr: errors }) : [],
      });
    };
    child.on('error', (err) => {
      finish(CANNOT_RUN, null, `cannot run rsync: ${whyNotStarted(err, 'rsync')}`);
    });
    child.on('close', (code, signal) => {
      // Reported as rsync reports its own I/O timeout, so that it is retried and probed alike.
      if (stalled)
        finish(
          30,
          signal,
          `sersync2 error: timeout: no I/O for ${task.stallS} s (timeout/@stall): rsync stopped\n`,
        );
      else finish(code ?? -1, signal);
    });
  });
}

/** The task `RsyncPool.ready` sends: that it is answered says a thread has booted. */
export function ready(): true {
  return true;
}
