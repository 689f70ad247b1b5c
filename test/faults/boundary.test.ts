/**
 * The tree's boundary, attacked by an unprivileged user who may write the watched tree: symlink
 * races never bring a root-only file to the replica.
 */
import { test } from 'node:test';
import { seedFrom } from '../helpers/prng.js';
import { useUnprivileged } from '../helpers/unprivileged.js';
import { midPathLink, replicaWhereOthersPoint, symlinkRaces } from './cases/boundary.js';
import { sshdUnavailable, startSshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

const attacker = useUnprivileged();

test('a renamed directory swapped for a symlink to a root-only directory, 100 times: never followed', async (t) => {
  const user = attacker.user();
  if (user === null) return t.skip(attacker.reason());
  const seed = seedFrom(process.env.FAULT_SEED);
  t.diagnostic(`FAULT_SEED=${seed}`);
  const work = await tempDir('sersync-faults-boundary-');
  try {
    await symlinkRaces(work.path, user, { tries: 100, seed });
  } finally {
    await work.remove();
  }
});

test('a link planted mid-path after rsync was handed the path, before it reads it: nothing from outside the tree arrives (confined reads), and it converges', async () => {
  const work = await tempDir('sersync-faults-midpath-');
  try {
    await midPathLink(work.path);
  } finally {
    await work.remove();
  }
});

test('the same over ssh (real ssh and sshd, the key outside the tree): ssh runs outside the confinement, nothing from outside the tree arrives, and it converges', async (t) => {
  const unavailable = sshdUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  const work = await tempDir('sersync-faults-midpath-ssh-');
  const sshd = await startSshd();
  try {
    await midPathLink(work.path, sshd);
  } finally {
    await sshd.stop();
    await work.remove();
  }
});

test('a local replica another user could point elsewhere (their directory on the way, a world-writable one, their symlink at its name) is refused by check and the start; one that is theirs in a directory of ours receives the tree', async (t) => {
  const user = attacker.user();
  if (user === null) return t.skip(attacker.reason());
  const work = await tempDir('sersync-faults-rp-');
  try {
    await replicaWhereOthersPoint(work.path, user);
  } finally {
    await work.remove();
  }
});
