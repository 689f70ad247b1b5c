/** What one run of a fault case did, for the soak's summary. */
export interface CaseResult {
  /** Faults injected (kills, stalls, refusals…). */
  readonly faults: number;
  /** Files whose replica was verified byte-exact at the end. */
  readonly files: number;
  /** Files missing or different on the replica at the end: 0 when the case passes (see NotConvergedError). */
  readonly lost: number;
}

/**
 * A case that did not converge, with the source's files the replica lacks or holds differently at
 * that moment: the soak counts them as lost, apart from the run counted as failed.
 */
export class NotConvergedError extends Error {
  constructor(
    message: string,
    readonly lost: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** How many files a failed run lost (0 when it failed for another reason than convergence). */
export function lostIn(err: unknown): number {
  return err instanceof NotConvergedError ? err.lost.length : 0;
}
