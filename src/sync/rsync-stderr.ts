import { isGoneLine } from './exit-codes.js';

/** Bytes of rsync's stderr a run keeps: room to name a few hundred files, bounded per run. */
export const STDERR_KEEP = 256 * 1024;

/**
 * What a run keeps of rsync's stderr, line by line. Lines about sources that vanished are left
 * out: an `rm -rf` during a run prints one per file and none asks for anything. Of the rest the
 * newest are kept up to `limit` bytes; when older ones are dropped, `cut` says so, for a dropped line
 * may have named a file the replica refused, and a run whose errors are not all known must not be
 * taken to have delivered everything they do not name (see `classifyExit`).
 */
export class StderrKeeper {
  private lines: string[] = [];
  private head = 0;
  private bytes = 0;
  private partial = '';
  private dropped = false;

  constructor(private readonly limit = STDERR_KEEP) {}

  feed(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.keep(line);
    // A line longer than all the room rsync never prints; kept whole if it comes, but bounded.
    if (this.partial.length > this.limit) {
      this.partial = this.partial.slice(-this.limit);
      this.dropped = true;
    }
  }

  /** Whether lines other than vanished sources' were dropped. */
  get cut(): boolean {
    return this.dropped;
  }

  /** The kept lines, each ending with a newline (an unterminated last one as it came). */
  text(): string {
    const kept = this.lines.slice(this.head);
    return kept.map((l) => `${l}\n`).join('') + this.partial;
  }

  private keep(line: string): void {
    if (isGoneLine(line)) return;
    this.lines.push(line);
    this.bytes += line.length + 1;
    while (this.bytes > this.limit && this.head < this.lines.length - 1) {
      this.bytes -= (this.lines[this.head] ?? '').length + 1;
      this.head++;
      this.dropped = true;
    }
    // Drop the consumed head now and then, so that the array does not grow with every line seen.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }
}
