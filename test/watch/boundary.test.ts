/**
 * The tree's boundary for the watcher, attacked by an unprivileged user who may write the tree: a
 * directory swapped for a symlink to a root-only directory while a new subtree in it is being
 * watched never gets a watch outside the tree.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { seedFrom } from '../helpers/prng.js';
import { useUnprivileged } from '../helpers/unprivileged.js';
import { rel, withWatcher } from './helpers.js';
import { loadInotifyBinding } from '../../src/watch/native.js';

const attacker = useUnprivileged();
const ATTACKER = join(import.meta.dirname, 'swap-attacker.js');
const TRIES = 60;

test(
  `a directory swapped for a symlink to a root-only directory while a new subtree is watched, ${TRIES} times: no watch outside, the skip is reported, the real directories are watched`,
  { skip: loadInotifyBinding().ok ? undefined : 'the native binding did not load', timeout: 180_000 },
  async (t) => {
    const user = attacker.user();
    if (user === null) return t.skip(attacker.reason());
    const seed = seedFrom(process.env.FAULT_SEED);
    t.diagnostic(`FAULT_SEED=${seed}`);
    let secret = '';
    await withWatcher(
      'inotify',
      async ({ root, log }) => {
        const run = user.spawn([process.execPath, ATTACKER, root, secret, String(TRIES), String(seed)]);
        let stderr = '';
        run.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        const [code] = (await once(run, 'exit')) as [number | null];
        assert.equal(code, 0, `the attacker failed: ${stderr}`);

        // A watch that landed in the root-only directory would report these before the barrier.
        for (let i = 0; i < TRIES; i++) writeFileSync(join(secret, `new${i}`, 'pwned'), 'secret');
        await log.barrier(root);
        const leaked = log.events.filter((e) => 'path' in e && e.path.includes('pwned'));
        assert.deepEqual(leaked, [], 'no event from the root-only directory');

        // The real directories, back in place, are all watched (a retry once the renames are applied).
        for (let i = 0; i < TRIES; i++) writeFileSync(join(root, 'd', `new${i}`, 'after'), '');
        const wanted = Array.from({ length: TRIES }, (_, i) => rel(`d/new${i}/after`));
        await log.until(
          (evs) => wanted.every((p) => evs.some((e) => 'path' in e && e.path === p)),
          'an event from every real d/newN',
          60_000,
        );
        const skipped = log.errors.filter((e) => /^skipped .*symbolic link/.test(e.message));
        t.diagnostic(`${skipped.length} of ${TRIES} watches skipped through a symlink`);
        assert.ok(skipped.length > 0, 'the race was hit and each hit reported as skipped');
        assert.deepEqual(
          log.errors.filter((e) => !skipped.includes(e)).map((e) => e.message),
          [],
          'no other watcher error',
        );
      },
      {
        setup: (root) => {
          secret = join(dirname(root), 'secret');
          mkdirSync(secret, { mode: 0o700 });
          chmodSync(secret, 0o700);
          for (let i = 0; i < TRIES; i++) mkdirSync(join(secret, `new${i}`));
          mkdirSync(join(root, 'd'));
          user.grant(root);
        },
      },
    );
  },
);
