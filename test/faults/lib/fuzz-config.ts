/**
 * Child process of the config fuzz test: `node fuzz-config.js SEED COUNT BASE…` loads COUNT
 * mutated variants of the BASE files with `parseConfig` and prints one JSON line per variant
 * that did not either load or fail with a positioned ConfigError (or took too long), then
 * `done N`. A variant that hangs is found by the last `at N` line the parent saw.
 */
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../src/config/load.js';
import { configToJson, describeConfig } from '../../../src/config/present.js';
import { ConfigError } from '../../../src/errors.js';
import { mutate } from './config-mutations.js';
import { prng } from '../../helpers/prng.js';

const SLOW_MS = 1000;
const FILE = '/etc/sersync/confxml.xml';

const [seedArg, countArg, ...bases] = process.argv.slice(2);
const rnd = prng(Number(seedArg));
const texts = bases.map((b) => readFileSync(b, 'latin1'));
const outcomes = { loaded: 0, refused: 0 };
for (let i = 0; i < Number(countArg); i++) {
  const base = texts[i % texts.length] ?? '';
  const { xml, what } = mutate(base, rnd);
  process.stdout.write(`at ${i}\n`);
  const started = performance.now();
  let problem: string | null = null;
  try {
    const config = parseConfig(xml, FILE);
    describeConfig(config, null); // what `check` prints must not fail either
    configToJson(config);
    outcomes.loaded++;
  } catch (err) {
    if (!(err instanceof ConfigError)) problem = `not a ConfigError: ${String(err)}`;
    else if (err.line < 1 || !err.message.startsWith(`${FILE}:${err.line}:`))
      problem = `no line: ${err.message}`;
    else outcomes.refused++;
  }
  const ms = performance.now() - started;
  if (ms > SLOW_MS) problem = `${problem ?? ''} took ${Math.round(ms)} ms`;
  if (process.env.FUZZ_TIMES === '1') process.stdout.write(`time ${Math.round(ms)} ${what}\n`);
  if (problem !== null)
    process.stdout.write(`${JSON.stringify({ variant: i, what, problem: problem.slice(0, 500) })}\n`);
}
process.stdout.write(`done ${JSON.stringify(outcomes)}\n`);
