/** The process table, read from /proc: to kill a process with its children, and to find orphans. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';

export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  /** argv, NUL-split. */
  readonly argv: readonly string[];
}

function readProc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').slice(0, -1);
    return { pid, ppid, argv };
  } catch {
    return null; // exited while we looked
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** State T (stopped) in /proc/PID/stat, or no such process. */
function stoppedOrGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'T' || state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

export function processes(): Proc[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is Proc => p !== null);
}

/** rsync processes whose argv holds `marker` (e.g. the `--port=N` of a case's remote). */
export function rsyncProcesses(marker: string): Proc[] {
  return processes().filter(
    (p) => p.argv[0]?.endsWith('rsync') === true && p.argv.some((a) => a.includes(marker)),
  );
}

/** `kill -9` of the daemon and of every connection it is serving: a crash mid-transfer. */
export async function crashDaemon(d: RsyncDaemon): Promise<void> {
  const pid = Number(readFileSync(join(d.dir, '..', 'rsyncd.pid'), 'utf8').trim());
  // Killed one by one, a process forked meanwhile (a transfer's receiver, forked by its generator)
  // would live on as an orphan holding the connection open with nobody on the other end: a hang,
  // not a crash. Stopped processes cannot fork, so the tree is stopped until it stops growing and
  // every member is seen stopped, then killed whole.
  const tree = new Set([pid]);
  for (;;) {
    for (const p of tree) signal(p, 'SIGSTOP');
    while (![...tree].every(stoppedOrGone)) await new Promise((r) => setTimeout(r, 1));
    const size = tree.size;
    for (const p of processes()) if (tree.has(p.ppid)) tree.add(p.pid);
    if (tree.size === size) break;
  }
  for (const p of tree) signal(p, 'SIGKILL');
  await d.stop(); // reaps the parent the helper spawned
}
