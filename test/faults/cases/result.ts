/** What one run of a fault case did, for the soak's summary. */
export interface CaseResult {
  /** Faults injected (kills, stalls, refusals…). */
  readonly faults: number;
  /** Files whose replica was verified byte-exact at the end. */
  readonly files: number;
  /** Files missing or different on the replica at the end: always 0, or the case throws. */
  readonly lost: number;
}
