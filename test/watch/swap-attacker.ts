/**
 * A symlink race run by a local user who may write the watched tree (started through
 * `Unprivileged.spawn`, so it runs without root's rights):
 *   node swap-attacker.js TREE TARGET TRIES SEED — `mkdir d/newN`, then at once `mv d d.real;
 *                                                  ln -s TARGET d`, and back after 0–20 ms
 * The watcher sees `d/newN` created and watches it while `d` is a link to TARGET, a directory only
 * root may read (holding a `newN` too). The pauses are the attack's timing, not waits for a result.
 * It prints `done N` at the end.
 */
import { mkdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { prng } from '../helpers/prng.js';

const [tree, target, triesArg, seedArg] = process.argv.slice(2);
if (tree === undefined || target === undefined)
  throw new Error('usage: swap-attacker.js TREE TARGET TRIES SEED');
const tries = Number(triesArg);
const rnd = prng(Number(seedArg));
const d = join(tree, 'd');
const real = join(tree, 'd.real');
for (let i = 0; i < tries; i++) {
  mkdirSync(join(d, `new${i}`));
  renameSync(d, real);
  symlinkSync(target, d);
  await sleep(Math.floor(rnd() * 21));
  unlinkSync(d);
  renameSync(real, d);
  await sleep(Math.floor(rnd() * 6));
}
process.stdout.write(`done ${tries}\n`);
