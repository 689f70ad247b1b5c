import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Readings from /proc about a replicator and the processes it started, the same way for every
 * replicator (Linux only, as inotify is).
 */

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The fields after `(comm)` of /proc/PID/stat (comm may hold spaces and parentheses). */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** `pid` and every process below it, now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [pid];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** `pid` and the processes below it, without the rsync runs it started: the replicator itself. */
export function replicatorProcesses(pid: number): number[] {
  return processTree(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() !== 'rsync';
    } catch {
      return false; // gone
    }
  });
}

/** inotify watches held by these processes (one `inotify wd:` line each in fdinfo). */
export function inotifyWatches(pids: readonly number[]): number {
  let n = 0;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue;
        const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
        n += info.split('\n').filter((l) => l.startsWith('inotify wd:')).length;
      } catch {
        // the fd closed while we looked
      }
    }
  }
  return n;
}

/** A `kB` field of /proc/PID/status in bytes (0 for a process that is gone). */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Resident memory of these processes together, now. */
export function residentBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + statusBytes(pid, 'VmRSS'), 0);
}

/** The highest resident memory of one process since it started. */
export function peakResidentBytes(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

/** CPU seconds: the process itself (utime+stime) and its children it has waited for (cutime+cstime). */
export interface CpuTimes {
  readonly own: number;
  readonly children: number;
}

export function cpuTimes(pid: number): CpuTimes {
  const f = statFields(pid);
  if (f === null) throw new Error(`process ${pid} is gone`);
  // fields 14–17 of stat; f[0] is field 3 (state)
  const ticks = (i: number): number => Number(f[i - 3] ?? 0);
  return { own: (ticks(14) + ticks(15)) / CLK_TCK, children: (ticks(16) + ticks(17)) / CLK_TCK };
}
