/**
 * Faults of the source tree, through the real CLI and a real daemon: an unreadable file, files
 * that vanish while rsync reads them, a file that becomes a directory, symlink loops, a FIFO and
 * a socket. Each case ends converged with an empty queue and the replicator alive.
 */
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import {
  fileBecomesDirectory,
  specialFiles,
  symlinkLoops,
  unreadableFile,
  vanishingFiles,
} from './cases/source.js';
import { seedFrom } from '../helpers/prng.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  work = await tempDir('sersync-faults-source-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('an unreadable file and directory wait alone in the queue; readable and retried, they arrive', async () => {
  await unreadableFile(work.path, daemon);
});

test('files removed, truncated or replaced while rsync reads them: the last version arrives', async (t) => {
  const seed = seedFrom(process.env.FAULT_SEED);
  t.diagnostic(`FAULT_SEED=${seed}`);
  await vanishingFiles(work.path, daemon, { files: 40, seed });
});

test('a file replaced by a directory of the same name and back', async () => {
  await fileBecomesDirectory(work.path, daemon, 6);
});

test('symlink loops are replicated as links and never followed', async () => {
  await symlinkLoops(work.path);
});

test('a FIFO and a socket in the tree are replicated as such, never opened', async () => {
  await specialFiles(work.path, daemon);
});
