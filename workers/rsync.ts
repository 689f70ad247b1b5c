/**
 * piscina worker: runs one rsync. It owns what must not stall the main event loop (walking large
 * trees to build the list, feeding rsync's stdin, reading its output). A stalled remote is ended by
 * rsync's own `--timeout` (see `remoteOptions`). Results go back to the main thread, which owns all
 * state.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { compilePathFilter } from '../src/filter/path-filter.js';
import { pathBytes, type RelPath } from '../src/paths.js';
import { anchoredPattern, fileListEntry } from '../src/sync/rsync-args.js';
import { pinnedPlace } from '../src/sync/rsync-place.js';
import { Progress2Reader, type ProgressMessage, type ReportingTask } from '../src/sync/rsync-progress.js';
import type { RsyncInput, RsyncResult, RsyncTask } from '../src/sync/task.js';
import { walkTree } from '../src/sync/walk.js';

const STDERR_TAIL = 16 * 1024;
const NUL = Buffer.of(0);
const PROGRESS_EVERY_MS = 100;
/** A run whose directory is no longer one of the tree: rsync's code for an unusable source (-1 reads as a lost remote). */
const NOT_RUN = {
  exitCode: 3,
  signal: null,
  listed: 0,
  unreadable: [],
  filesSent: null,
  bytesSent: null,
} as const;

/**
 * The list for rsync's stdin, the entries a full sync's walk found (rsync's `.` included), and
 * the directories a send's walk could not read (their contents are not in the list).
 */
export function buildInput(
  task: RsyncTask,
  input: RsyncInput,
): { list: string[]; walked: number; unreadable: RelPath[] } {
  switch (input.kind) {
    case 'rules':
      return { list: [...input.rules], walked: 0, unreadable: [] };
    case 'files': {
      const out = input.paths.map(fileListEntry);
      const unreadable: RelPath[] = [];
      const excluded = compilePathFilter(task.filter);
      for (const tree of input.trees) {
        out.push(fileListEntry(tree));
        walkTree(
          task.cwd,
          tree,
          excluded,
          (p) => out.push(fileListEntry(p)),
          () => undefined,
          (dir) => unreadable.push(dir),
        );
      }
      return { list: out, walked: 0, unreadable };
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
      return { list: out, walked, unreadable: [] };
    }
  }
}

/** Posts rsync's progress on `port`, at most every PROGRESS_EVERY_MS, and once more at the end. */
function progressPoster(port: MessagePort, walked: number): { feed(chunk: string): void; close(): void } {
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
    close() {
      post(true);
      port.close();
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

/** Why rsync did not start. Node names the program when it is the directory to run in that is missing. */
function startFailure(err: NodeJS.ErrnoException, cwd: string): string {
  if (err.code === 'ENOENT' && !existsSync(cwd)) return `the watched directory ${cwd} no longer exists`;
  return err.message;
}

/** A run inside a directory of the tree starts there, held open (see `pinnedPlace`); others in the root. */
function startRsync(task: RsyncTask, argv: string[]): ChildProcessWithoutNullStreams | string {
  const place = task.dir === undefined ? null : pinnedPlace(task.cwd, task.dir);
  if (place === null) return spawn('rsync', argv, { cwd: task.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  if (typeof place === 'string') return place;
  try {
    const stdio = ['pipe', 'pipe', 'pipe', place.fd] as const;
    return spawn('rsync', argv, { cwd: place.cwd, stdio: [...stdio] }) as ChildProcessWithoutNullStreams;
  } finally {
    closeSync(place.fd); // the child has its copy: spawn returns once rsync is exec'd
  }
}

export default function runRsync(task: ReportingTask): Promise<RsyncResult> {
  const started = performance.now();
  const input = task.input === null ? null : buildInput(task, task.input);
  const list = input?.list ?? null;
  // Only a task with a port (a full sync) reports progress; event syncs stay as lean as they were.
  const progress =
    task.progressPort === undefined ? null : progressPoster(task.progressPort, input?.walked ?? 0);
  const reporting = progress === null ? [] : ['--info=progress2'];
  return new Promise((resolve) => {
    const child = startRsync(task, ['--stats', ...reporting, ...task.args]);
    if (typeof child === 'string') {
      progress?.close();
      resolve({ ...NOT_RUN, durationMs: performance.now() - started, stderr: `rsync not run: ${child}` });
      return;
    }
    let stderr = '';
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-STDERR_TAIL);
      progress?.feed(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.stdin.on('error', () => undefined); // rsync may exit before reading it all; its exit code says why
    child.stdin.end(list === null ? undefined : Buffer.concat(list.flatMap((e) => [pathBytes(e), NUL])));
    const finish = (exitCode: number, signal: string | null, extra = ''): void => {
      progress?.close();
      resolve({
        exitCode,
        signal,
        durationMs: performance.now() - started,
        listed: list?.length ?? 0,
        unreadable: input?.unreadable ?? [],
        ...transferStats(stdout),
        stderr: stderr + extra,
      });
    };
    child.on('error', (err) => {
      finish(-1, null, `cannot run rsync: ${startFailure(err, task.cwd)}`);
    });
    child.on('close', (code, signal) => {
      finish(code ?? -1, signal);
    });
  });
}
