/**
 * Child process for the crash test: opens the queue given in argv as the daemon does (taking the
 * clean-stop mark), begins N ops as one batch,
 * says "begun", then waits to be killed (the keep-alive timer stands for a running rsync).
 */
import { openWorkStore } from '../../../src/queue/store.js';

const [file, count] = process.argv.slice(2);
if (file === undefined || count === undefined) throw new Error('usage: begin-and-hang FILE COUNT');
const store = openWorkStore(file);
store.takeCleanStopMark(); // as the daemon does at start: from here on, only a clean stop sets it again
store.begin(
  '127.0.0.1::tongbu1',
  '/srv/www',
  Array.from({ length: Number(count) }, (_, i) => ({ kind: 'sync' as const, path: `f${i}` })),
);
process.stdout.write('begun\n');
setInterval(() => undefined, 60_000);
