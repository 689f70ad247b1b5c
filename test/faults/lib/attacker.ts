/**
 * Symlink races run by a local user who may write the watched tree (started through
 * `Unprivileged.spawn`, so it runs without root's rights):
 *   node attacker.js moves TREE TARGET TRIES SEED  — `mv aN bN`, then within 0–40 ms
 *                                                    `mv bN cN; ln -s TARGET bN`
 * TARGET is a directory only root may read: the replicator must never copy what is in it. The
 * pauses are the attack's timing (the window between an event and its rsync run), not waits for
 * a result. It prints `done N` at the end.
 */
import { renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { prng } from '../../helpers/prng.js';

const [mode, tree, target, triesArg, seedArg] = process.argv.slice(2);
if (tree === undefined || target === undefined)
  throw new Error('usage: attacker.js MODE TREE TARGET TRIES SEED');
const tries = Number(triesArg);
const rnd = prng(Number(seedArg));
const within40ms = (): Promise<void> => sleep(Math.floor(rnd() * 41));

if (mode !== 'moves') throw new Error(`unknown attack ${String(mode)}`);
for (let i = 0; i < tries; i++) {
  const at = (name: string): string => join(tree, `${name}${i}`);
  renameSync(at('a'), at('b'));
  await within40ms();
  renameSync(at('b'), at('c'));
  symlinkSync(target, at('b'));
  await within40ms();
}
process.stdout.write(`done ${tries}\n`);
