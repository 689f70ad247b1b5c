/**
 * Symlink races run by a local user who may write the watched tree (started through
 * `Unprivileged.spawn`, so it runs without root's rights):
 *   node attacker.js moves TREE TARGET TRIES SEED     — `mv aN bN`, then within 0–40 ms
 *                                                       `mv bN cN; ln -s TARGET bN`
 *   node attacker.js new-dirs TREE TARGET TRIES SEED  — `mkdir nN` with a file, then within 0–40 ms
 *                                                       `mv nN mN; ln -s TARGET nN`
 * TARGET is a directory only root may read: the replicator must never copy what is in it. The
 * pauses are the attack's timing (the window between an event and its rsync run), not waits for
 * a result. It prints `done N` at the end.
 */
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { prng } from '../../helpers/prng.js';

const [mode, tree, target, triesArg, seedArg] = process.argv.slice(2);
if (tree === undefined || target === undefined) throw new Error('usage: attacker.js MODE TREE TARGET TRIES SEED');
const tries = Number(triesArg);
const rnd = prng(Number(seedArg));
const within40ms = (): Promise<void> => sleep(Math.floor(rnd() * 41));

for (let i = 0; i < tries; i++) {
  const at = (name: string): string => join(tree, `${name}${i}`);
  switch (mode) {
    case 'moves':
      renameSync(at('a'), at('b'));
      await within40ms();
      renameSync(at('b'), at('c'));
      symlinkSync(target, at('b'));
      break;
    case 'new-dirs':
      mkdirSync(at('n'));
      writeFileSync(join(at('n'), 'upload.txt'), `upload ${i}`);
      await within40ms();
      renameSync(at('n'), at('m'));
      symlinkSync(target, at('n'));
      break;
    default:
      throw new Error(`unknown attack ${String(mode)}`);
  }
  await within40ms();
}
process.stdout.write(`done ${tries}\n`);
