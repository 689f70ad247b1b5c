/**
 * The soak's `lost` figure is counted, not assumed: a case that does not converge reports the
 * source's files the replica lacks or holds differently, apart from the failure itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useLab } from '../helpers/lab.js';
import { lostIn, NotConvergedError } from './cases/result.js';
import { lostFiles } from './lib/lost.js';
import { Rig } from './lib/rig.js';

const lab = useLab('sersync-faults-lost-');

test('a replica missing a file, holding another differently and a link to elsewhere: three lost, counted', async () => {
  const rig = Rig.create(lab.work, { daemon: lab.daemon });
  mkdirSync(join(rig.src, 'd'));
  mkdirSync(join(rig.replica, 'd'));
  for (const [path, text] of [
    ['same.txt', 'same'],
    ['d/missing.txt', 'never arrived'],
    ['d/changed.txt', 'version 2'],
  ] as const)
    writeFileSync(join(rig.src, path), text);
  writeFileSync(join(rig.replica, 'same.txt'), 'same');
  writeFileSync(join(rig.replica, 'd/changed.txt'), 'version 1');
  writeFileSync(join(rig.replica, 'extra.txt'), 'only on the replica: not a loss');
  symlinkSync('target-a', join(rig.src, 'link'));
  symlinkSync('target-b', join(rig.replica, 'link'));

  const expected = ['d/changed.txt', 'd/missing.txt', 'link'];
  assert.deepEqual(lostFiles(rig.src, rig.replica).sort(), expected);
  const err = await rig.converged(300, 'a replica left behind').then(
    () => assert.fail('converged'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NotConvergedError, String(err));
  assert.deepEqual([...err.lost].sort(), expected);
  assert.equal(lostIn(err), 3);
  assert.equal(lostIn(new Error('failed for another reason')), 0);
});
