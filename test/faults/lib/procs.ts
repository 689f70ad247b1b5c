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
  const all = processes();
  const tree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (tree.has(p.ppid) && !tree.has(p.pid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await d.stop(); // reaps the parent the helper spawned
}
