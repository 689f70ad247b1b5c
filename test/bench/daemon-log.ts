import { closeSync, openSync, readSync, statSync } from 'node:fs';

/**
 * What reached the rsync daemon, read from its log: the one witness every replicator shares, so
 * rsync runs and bytes are counted the same way for sersync-ts, its peers and the floor.
 */
export interface DaemonActivity {
  /** rsync runs that reached a module (one `rsync to|on MODULE from …` line each). */
  readonly sessions: number;
  /** Of those, the runs whose end-of-session summary is logged. */
  readonly finished: number;
  /** Bytes the daemon received from clients, over the finished runs (from the summaries). */
  readonly bytesReceived: number;
  /** Files the daemon wrote (`recv` lines; the test daemon logs `%o %f %l`). */
  readonly received: readonly string[];
}

const LINE = /^\S+ \S+ \[(\d+)\] (.*)$/;
const SESSION = /^rsync (?:to|on) \S+ from /;
const SUMMARY = /^sent \d+ bytes\s+received (\d+) bytes\s+total size \d+$/;
const RECV = /^recv (.*) \d+$/;

/**
 * Parses a stretch of the daemon log. A summary counts only when its run started in the same
 * stretch (paired by the daemon child's pid), so a run in flight when the stretch began is not
 * half-counted. Pure.
 */
export function parseDaemonLog(text: string): DaemonActivity {
  const started = new Set<string>();
  let finished = 0;
  let bytesReceived = 0;
  const received: string[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const [, pid = '', msg = ''] = m;
    if (SESSION.test(msg)) {
      started.add(pid);
      continue;
    }
    const summary = SUMMARY.exec(msg);
    if (summary !== null && started.has(pid)) {
      finished++;
      bytesReceived += Number(summary[1]);
      continue;
    }
    const recv = RECV.exec(msg);
    if (recv?.[1] !== undefined) received.push(recv[1]);
  }
  return { sessions: started.size, finished, bytesReceived, received };
}

/** The daemon's log file, read from a mark onwards. */
export class DaemonLog {
  private offset = 0;

  constructor(readonly file: string) {}

  /** Later reads see only what the daemon logs from now on. */
  mark(): void {
    this.offset = statSync(this.file).size;
  }

  /** Everything since the mark. */
  activity(): DaemonActivity {
    return parseDaemonLog(this.readSinceMark());
  }

  /** When the daemon last wrote its log (epoch ms): the end of its latest piece of work. */
  lastWriteAt(): number {
    return statSync(this.file).mtimeMs;
  }

  /**
   * The activity once every run since the mark has logged its summary (a daemon child logs it
   * just after its client exits), or after `ms` as it stands.
   */
  async settled(ms = 3_000): Promise<DaemonActivity> {
    const deadline = Date.now() + ms;
    for (;;) {
      const a = this.activity();
      if (a.finished >= a.sessions || Date.now() > deadline) return a;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Resolves once nothing was logged for `quietMs` (the daemon is idle), or after `ms`. */
  async quiet(quietMs: number, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() - this.lastWriteAt() < quietMs && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private readSinceMark(): string {
    const fd = openSync(this.file, 'r');
    try {
      const size = statSync(this.file).size;
      const buf = Buffer.alloc(Math.max(0, size - this.offset));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got).toString('latin1');
    } finally {
      closeSync(fd);
    }
  }
}
