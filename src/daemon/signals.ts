/**
 * The daemon's signals, caught from the first moment (Node's default for SIGHUP, SIGTERM and
 * SIGINT is to die on the spot): SIGTERM and SIGINT ask for a clean stop, SIGHUP for a reload.
 * A SIGHUP that arrives while starting is kept and delivered once reloading is possible.
 */
export type StopSignal = 'SIGTERM' | 'SIGINT';

export class DaemonSignals {
  /** Resolves with the first stop signal; rejects when `fail` is called. */
  readonly stopped: Promise<StopSignal>;
  private reload: (() => void) | null = null;
  private reloadPending = false;
  private readonly listeners: [NodeJS.Signals, () => void][];
  private rejectStopped: (err: Error) => void = () => undefined;

  constructor() {
    let stop: (signal: StopSignal) => void = () => undefined;
    this.stopped = new Promise<StopSignal>((resolve, reject) => {
      stop = resolve;
      this.rejectStopped = reject;
    });
    this.listeners = [
      ['SIGTERM', () => stop('SIGTERM')],
      ['SIGINT', () => stop('SIGINT')],
      ['SIGHUP', () => this.hup()],
    ];
    for (const [signal, fn] of this.listeners) process.on(signal, fn);
  }

  /** From now on SIGHUP calls `fn` (at once for one that came before). */
  onReload(fn: () => void): void {
    this.reload = fn;
    if (this.reloadPending) {
      this.reloadPending = false;
      fn();
    }
  }

  /** Ends the wait on `stopped` with an error (a failure the daemon cannot run on after). */
  fail(err: Error): void {
    this.rejectStopped(err);
  }

  dispose(): void {
    for (const [signal, fn] of this.listeners) process.off(signal, fn);
  }

  private hup(): void {
    if (this.reload === null) this.reloadPending = true;
    else this.reload();
  }
}
