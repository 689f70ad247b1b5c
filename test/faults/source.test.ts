/**
 * Faults of the source tree, through the real CLI and a real daemon: an unreadable file, files
 * that vanish while rsync reads them, a file that becomes a directory, symlink loops, a FIFO and
 * a socket. Each case ends converged with an empty queue and the replicator alive.
 */
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import {
  fileBecomesDirectory,
  searchlessDirectory,
  specialFiles,
  symlinkLoops,
  unclosedFiles,
  unreadableFile,
  vanishingFiles,
} from './cases/source.js';
import { seedFrom } from '../helpers/prng.js';

const lab = useLab('sersync-faults-source-');

test('an unreadable file and directory wait alone in the queue; readable and retried, they arrive', async () => {
  await unreadableFile(lab.work, lab.daemon);
});

test('a directory that can be listed but not entered waits alone in the queue, as a failure of its own; enterable and retried, it arrives', async () => {
  await searchlessDirectory(lab.work, lab.daemon);
});

test('files removed, truncated or replaced while rsync reads them: the last version arrives', async (t) => {
  const seed = seedFrom(process.env.FAULT_SEED);
  t.diagnostic(`FAULT_SEED=${seed}`);
  await vanishingFiles(lab.work, lab.daemon, { files: 40, seed });
});

test('a file replaced by a directory of the same name and back', async () => {
  await fileBecomesDirectory(lab.work, lab.daemon, 6);
});

test('symlink loops are replicated as links and never followed', async () => {
  await symlinkLoops(lab.work);
});

test('a FIFO and a socket in the tree are replicated as such, never opened', async () => {
  await specialFiles(lab.work, lab.daemon);
});

test('files no close names (maildir deliveries) arrive; an upload and a database written in place, through descriptors kept open, show in status and /metrics while written, and arrive once nobody writes them', async () => {
  await unclosedFiles(lab.work, lab.daemon);
});
