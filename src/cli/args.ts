/** The values of sersync2's legacy flags (`getopt "hdro:n:m:"`), parsed with sersync's rules. */
import { InvalidArgumentError } from 'commander';

/** sersync's default worker count, also used for `-n 0`. */
export const DEFAULT_THREADS = 10;

export const LEGACY_USAGE = 'sersync2 [-d] [-r] [-n NUM] [-o FILE] [-m PLUGIN]';

/** `-n NUM`: a whole number; 0 means the default 10, as in sersync. */
export function parseThreads(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('it must be a whole number of threads.');
  const n = Number(value);
  return n === 0 ? DEFAULT_THREADS : n;
}
