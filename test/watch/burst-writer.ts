/**
 * Writes one burst from its own process, as an application would (see burst.test.ts):
 *   node burst-writer.js <base directory> newdir|tree
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { burstPlan, type Burst } from './burst-plan.js';

const [base, burst] = process.argv.slice(2) as [string, Burst];
for (const group of burstPlan(burst)) {
  mkdirSync(`${base}/${group.dir}`);
  for (const file of group.files) writeFileSync(`${base}/${file}`, '');
}
