/**
 * Runs inside a private user namespace (see limit.test.ts), where it may lower the inotify watch
 * limit for itself alone, then reports how the watcher failed as one JSON line:
 *   node limit-child.js <backend> <root> <limit> start|runtime
 * start: the tree needs more watches than the limit; runtime: a new tree outgrows it after start.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { WatchLimitError } from '../../src/errors.js';
import { createWatcher } from '../../src/watch/index.js';
import type { Backend } from './helpers.js';

const [backend, root, limit, mode] = process.argv.slice(2) as [Backend, string, string, 'start' | 'runtime'];
writeFileSync('/proc/sys/user/max_inotify_watches', limit);

function report(err: unknown): never {
  const fields =
    err instanceof WatchLimitError ? { limit: err.limit, needed: err.needed, code: err.code } : {};
  process.stdout.write(
    `${JSON.stringify({ name: (err as Error).name, message: (err as Error).message, ...fields })}\n`,
  );
  process.exit(0);
}

const watcher = createWatcher(backend, {
  root,
  xfs: false,
  skipDir: () => false,
  onEvents: () => undefined,
  onError: report,
});
try {
  await watcher.start();
} catch (err) {
  report(err);
}
if (mode === 'start') report(new Error('start() did not fail'));
mkdirSync(`${root}/n1/n2/n3/n4/n5/n6`, { recursive: true });
setTimeout(() => {
  report(new Error('no error reported after start'));
}, 5000);
