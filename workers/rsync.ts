/**
 * piscina worker: runs one rsync. It owns what must not stall the main event loop (walking large
 * trees to build the list) and what piscina cannot do itself (abort does not kill a child): the
 * timeout and the kill. Results go back to the main thread, which owns all state.
 */
import { spawn } from 'node:child_process';
import { compilePathFilter } from '../src/filter/path-filter.js';
import { pathBytes } from '../src/paths.js';
import { anchoredPattern, fileListEntry } from '../src/sync/rsync-args.js';
import type { RsyncInput, RsyncResult, RsyncTask } from '../src/sync/task.js';
import { walkTree } from '../src/sync/walk.js';

const STDERR_TAIL = 16 * 1024;
const KILL_GRACE_MS = 2000;
const NUL = Buffer.of(0);

function buildInput(task: RsyncTask, input: RsyncInput): string[] {
  switch (input.kind) {
    case 'rules':
      return [...input.rules];
    case 'files': {
      const out = input.paths.map(fileListEntry);
      const excluded = compilePathFilter(task.filter);
      for (const tree of input.trees) {
        out.push(fileListEntry(tree));
        walkTree(task.cwd, tree, excluded, (p) => out.push(fileListEntry(p)));
      }
      return out;
    }
    case 'excluded': {
      const out: string[] = [];
      walkTree(
        task.cwd,
        '',
        compilePathFilter(task.filter),
        () => undefined,
        (p, isDir) => out.push(anchoredPattern(p, isDir ? '/***' : '')),
      );
      return out;
    }
  }
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

export default function runRsync(task: RsyncTask): Promise<RsyncResult> {
  const started = performance.now();
  const list = task.input === null ? null : buildInput(task, task.input);
  return new Promise((resolve) => {
    const child = spawn('rsync', ['--stats', ...task.args], {
      cwd: task.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-STDERR_TAIL);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.stdin.on('error', () => undefined); // rsync may exit before reading it all; its exit code says why
    child.stdin.end(list === null ? undefined : Buffer.concat(list.flatMap((e) => [pathBytes(e), NUL])));
    const timer =
      task.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
          }, task.timeoutMs)
        : null;
    const finish = (exitCode: number, signal: string | null, extra = ''): void => {
      if (timer !== null) clearTimeout(timer);
      resolve({
        exitCode,
        signal,
        timedOut,
        durationMs: performance.now() - started,
        listed: list?.length ?? 0,
        ...transferStats(stdout),
        stderr: stderr + extra,
      });
    };
    child.on('error', (err) => {
      finish(-1, null, `cannot run rsync: ${err.message}`);
    });
    child.on('close', (code, signal) => {
      finish(code ?? -1, signal);
    });
  });
}
