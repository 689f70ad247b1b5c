import { MultiBar, type SingleBar } from 'cli-progress';
import type { ProgressReporter, ProgressSubject, ProgressTrack } from './progress-report.js';
import { formatBytes, type RsyncProgress } from './rsync-progress.js';

// The label last: a terminal narrower than the line cuts the label, not the numbers.
const FORMAT =
  '[{bar}] {percentage}% | {value}/{total} files | {sent} sent, {bytes} | {rate} | ETA {eta_formatted} | {label}';

/** The tokens of a bar line besides cli-progress's own (bar, percentage, value, total, eta). */
export function barPayload(subject: ProgressSubject, p: RsyncProgress): Record<string, string> {
  return {
    label: `${subject.root} -> ${subject.remote}`,
    sent: String(p.transferred),
    bytes: formatBytes(p.bytes),
    rate: `${formatBytes(p.bytesPerSec)}/s`,
  };
}

/**
 * Full-sync progress on a terminal: one bar per running full sync (remotes sync in parallel),
 * kept on screen when done. Log lines meant for the same terminal go through `write`, so they
 * appear above the bars instead of being drawn over.
 */
export class ProgressBars implements ProgressReporter {
  private multibar: MultiBar | null = null;
  private running = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  /** Writes `text` (whole lines) to the terminal, above the bars while they are shown. */
  write(text: string): void {
    if (this.multibar === null) this.stream.write(text);
    else this.multibar.log(text);
  }

  begin(subject: ProgressSubject): ProgressTrack {
    let bar: SingleBar | null = null;
    let ended = false;
    this.running++;
    return {
      update: (p) => {
        if (ended) return;
        const payload = barPayload(subject, p);
        if (bar === null) {
          bar = this.session().create(p.total, p.checked, payload);
        } else {
          bar.setTotal(p.total);
          bar.update(p.checked, payload);
        }
      },
      end: () => {
        if (ended) return;
        ended = true;
        bar?.stop();
        if (--this.running === 0) this.finish();
      },
    };
  }

  /** The bars shown together; a new set once all of the previous one have ended. */
  private session(): MultiBar {
    this.multibar ??= new MultiBar({
      stream: this.stream,
      format: FORMAT,
      barsize: 24,
      // A log line written above the bars moves them: redraw even when the numbers did not change.
      forceRedraw: true,
      // run.ts owns SIGTERM/SIGINT: the bars end when the syncs in flight do.
      gracefulExit: false,
    });
    return this.multibar;
  }

  private finish(): void {
    const mb = this.multibar;
    if (mb === null) return;
    this.multibar = null;
    mb.update(); // prints the lines logged since the last redraw, which stop() would drop
    mb.stop();
  }
}
