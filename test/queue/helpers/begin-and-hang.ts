/**
 * Child process for the crash test: opens the queue given in argv, begins N ops as one batch,
 * says "begun", then waits to be killed (the keep-alive timer stands for a running rsync).
 */
import { openWorkStore } from '../../../src/queue/store.js';

const [file, count] = process.argv.slice(2);
if (file === undefined || count === undefined) throw new Error('usage: begin-and-hang FILE COUNT');
const store = openWorkStore(file);
store.begin(
  '127.0.0.1::tongbu1',
  '/srv/www',
  Array.from({ length: Number(count) }, (_, i) => ({ kind: 'sync' as const, path: `f${i}` })),
);
process.stdout.write('begun\n');
setInterval(() => undefined, 60_000);
