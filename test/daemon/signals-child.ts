/** For signals.test.ts: waits for a stop signal with DaemonSignals and prints which one came. */
import { DaemonSignals } from '../../src/daemon/signals.js';

const signals = new DaemonSignals();
// Signal handlers do not keep a process alive; in the daemon its sockets and watchers do.
const alive = setInterval(() => undefined, 60_000);
process.stdout.write('ready\n');
const signal = await signals.stopped;
clearInterval(alive);
signals.dispose();
process.stdout.write(`stopped by ${signal}\n`);
