/**
 * The one back-off of the engine: the wait before the next try after `n` failures in a row
 * (n ≥ 1) is `firstMs`, then doubling, up to `capMs`. The retry queue, a lane whose store
 * fails, and plugins all wait this way; only their first wait and cap differ.
 */
export function backoffMs(n: number, firstMs: number, capMs: number): number {
  // 2^30 × the first wait is far beyond any cap; bounding the exponent keeps the number finite.
  const exponent = Math.min(Math.max(n, 1) - 1, 30);
  return Math.min(capMs, firstMs * 2 ** exponent);
}
