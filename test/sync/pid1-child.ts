/**
 * Runs confined rsync runs through a remote shell as PID 1 of a new PID namespace (started by
 * `unshare --pid --fork --mount-proc`), as in a container whose PID 1 reaps nothing but its own
 * children (node: libuv waits only for the processes it spawned). Each run ends badly (rsync
 * refuses its options before starting its shell; rsync killed mid-run; the run stopped as the stall
 * backstop stops it), then the processes left in the namespace are listed, zombies included.
 * Prints one JSON line: [{ run, code, signal, left }].
 *   node pid1-child.js <work dir>
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { confinedCommand } from '../../src/sync/confine.js';

const work = process.argv[2] ?? '';
const tree = join(work, 'tree');
mkdirSync(tree, { recursive: true });
writeFileSync(join(tree, 'f'), 'x');
const stalled = join(work, 'stalled-shell');
writeFileSync(stalled, '#!/bin/sh\nexec sleep 3600\n', { mode: 0o755 });

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly state: string;
  readonly comm: string;
}

function processes(): Proc[] {
  const found: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || entry === String(process.pid)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      found.push({ pid: Number(entry), ppid: Number(ppid), state, comm });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function until(what: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Ending = 'bad option' | 'rsync killed' | 'run stopped';

async function run(ending: Ending): Promise<object> {
  const argv = [
    ...(ending === 'bad option' ? ['--no-such-option'] : []),
    '-a',
    '-e',
    stalled,
    './',
    'host:/nowhere/',
  ];
  const { command, args } = confinedCommand({ reads: [], writes: [] }, 3, argv);
  const child = spawn(command, args, {
    cwd: tree,
    stdio: ['ignore', 'ignore', 'ignore', openSync(tree, 'r')],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  if (ending !== 'bad option') {
    await until(() => processes().some((p) => p.comm === 'sleep'), 10_000);
    if (ending === 'rsync killed') {
      const rsync = processes().find((p) => p.comm === 'rsync' && p.state !== 'Z');
      if (rsync !== undefined) process.kill(rsync.pid, 'SIGKILL');
    } else {
      child.kill('SIGTERM');
    }
  }
  const [code, signal] = await exited;
  const atExit = processes();
  // What an orphan would become once it ends: given a moment to end.
  await new Promise((r) => setTimeout(r, 500));
  return { run: ending, code, signal, left: [...atExit, ...processes()].map((p) => `${p.comm} ${p.state}`) };
}

const results = [];
for (const ending of ['bad option', 'rsync killed', 'run stopped'] as const) results.push(await run(ending));
process.stdout.write(`${JSON.stringify(results)}\n`);
