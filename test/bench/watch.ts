/**
 * Watcher benchmark (a measurement, not a test): `npm run bench:watch [-- --quick | --files N --dirs M]`.
 *
 * Generates a tree (100,000 files in 1,000 directories; without --quick also 1,000,000 in 10,000),
 * then starts each backend in a fresh child process and reports the inotify watches it holds
 * (the `inotify wd:` lines of /proc/<pid>/fdinfo), its RSS once ready, its peak RSS, and the time
 * to ready, side by side against the targets. The trees go on tmpfs (/dev/shm) when there is one:
 * this machine's disk takes ~0.4 ms to create a file, an hour for the 1M tree. --dir overrides.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
} from 'node:fs';
import { availableParallelism, release, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createWatcher } from '../../src/watch/index.js';
import { currentWatchLimit } from '../../src/watch/watch-limit.js';

type Backend = 'inotify' | 'chokidar';
const BACKENDS: readonly Backend[] = ['inotify', 'chokidar'];
const CHILD_TIMEOUT_MS = 300_000;
const MB = 1024 * 1024;

interface Size {
  readonly files: number;
  readonly dirs: number;
}

interface Measured {
  readonly watches: number;
  readonly rssMB: number;
  readonly peakMB: number;
  readonly readyMs: number;
}

type Outcome = { readonly ok: true; readonly m: Measured } | { readonly ok: false; readonly why: string };

/** What the child prints once its watcher is ready. */
interface ChildReport {
  readonly readyMs: number;
  readonly rssMB: number;
  readonly peakMB: number;
  readonly directories: number;
}

const SELF = fileURLToPath(import.meta.url);

// ---- child: one backend, one tree ----------------------------------------------------------------

async function child(backend: Backend, root: string): Promise<void> {
  const watcher = createWatcher(backend, {
    root,
    xfs: false,
    skipDir: () => false,
    onEvents: () => undefined,
    onError: (err) => {
      process.stderr.write(`${err.message}\n`);
    },
  });
  const stats = await watcher.start();
  global.gc?.();
  const report: ChildReport = {
    readyMs: stats.readyMs,
    rssMB: process.memoryUsage().rss / MB,
    peakMB: process.resourceUsage().maxRSS / 1024,
    directories: stats.directories,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // The parent counts our watches now; it closes our stdin when done.
  await once(process.stdin.resume(), 'end');
  await watcher.close();
}

// ---- parent --------------------------------------------------------------------------------------

/** The inotify watches process `pid` holds. */
function watchesHeld(pid: number): number {
  let held = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue;
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      held += info.split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return held;
}

async function measure(backend: Backend, root: string): Promise<Outcome> {
  const proc = spawn(process.execPath, ['--expose-gc', SELF, '--child', backend, root], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  try {
    const lines = createInterface({ input: proc.stdout });
    const first = (await Promise.race([once(lines, 'line'), once(proc, 'exit')])) as [string | number | null];
    if (typeof first[0] !== 'string') {
      return { ok: false, why: `exited before ready: ${stderr.trim().split('\n')[0] ?? 'no output'}` };
    }
    const report = JSON.parse(first[0]) as ChildReport;
    const watches = watchesHeld(proc.pid ?? 0);
    proc.stdin.end();
    await once(proc, 'exit');
    return { ok: true, m: { watches, rssMB: report.rssMB, peakMB: report.peakMB, readyMs: report.readyMs } };
  } finally {
    clearTimeout(timer);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}

/** `files` empty files spread evenly over `dirs` directories directly below the root. */
function generate(base: string, size: Size): string {
  const root = mkdtempSync(`${base}/sersync-bench-`);
  const perDir = Math.ceil(size.files / size.dirs);
  let written = 0;
  for (let d = 0; d < size.dirs; d++) {
    const dir = `${root}/d${d}`;
    mkdirSync(dir);
    for (let f = 0; f < perDir && written < size.files; f++, written++)
      closeSync(openSync(`${dir}/f${f}.txt`, 'w'));
  }
  return root;
}

async function remove(path: string): Promise<void> {
  await once(spawn('rm', ['-rf', '--', path], { stdio: 'inherit' }), 'exit');
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Target {
  readonly label: string;
  readonly value: (m: Measured) => string;
  /** Undefined when there is no target for this metric at this size. */
  readonly target?: { readonly text: string; readonly met: (m: Measured) => boolean };
}

function targets(size: Size): Target[] {
  const large = size.files >= 1_000_000;
  return [
    {
      label: 'inotify watches',
      value: (m) => fmt(m.watches),
      target: { text: `${fmt(size.dirs + 1)} (dirs + 1)`, met: (m) => m.watches === size.dirs + 1 },
    },
    {
      label: 'RSS when ready',
      value: (m) => `${fmt(m.rssMB, 1)} MB`,
      target: large
        ? { text: '≤ 150 MB', met: (m) => m.rssMB <= 150 }
        : { text: '< 100 MB', met: (m) => m.rssMB < 100 },
    },
    { label: 'peak RSS', value: (m) => `${fmt(m.peakMB, 1)} MB` },
    {
      label: 'ready',
      value: (m) => `${fmt(m.readyMs)} ms`,
      ...(large ? {} : { target: { text: '< 500 ms', met: (m: Measured) => m.readyMs < 500 } }),
    },
  ];
}

function table(size: Size, outcomes: Record<Backend, Outcome>): string {
  const rows = targets(size);
  const cell = (b: Backend, row: Target): string => {
    const o = outcomes[b];
    if (!o.ok) return 'not run';
    const mark = row.target === undefined ? '' : row.target.met(o.m) ? ' ✓' : ' ✗';
    return `${row.value(o.m)}${mark}`;
  };
  const lines = [
    `| ${fmt(size.files)} files / ${fmt(size.dirs)} dirs | ${BACKENDS.join(' | ')} | target |`,
    `|---|${BACKENDS.map(() => '---').join('|')}|---|`,
    ...rows.map(
      (r) => `| ${r.label} | ${BACKENDS.map((b) => cell(b, r)).join(' | ')} | ${r.target?.text ?? '—'} |`,
    ),
  ];
  const notes: string[] = [];
  for (const b of BACKENDS) {
    const o = outcomes[b];
    if (!o.ok) {
      notes.push(`- ${b}: not run: ${o.why}`);
      continue;
    }
    for (const r of rows) {
      if (r.target !== undefined && !r.target.met(o.m)) {
        notes.push(`- ${b} misses the target for ${r.label}: ${r.value(o.m)} (target ${r.target.text})`);
      }
    }
  }
  return [...lines, '', ...(notes.length > 0 ? notes : ['- every target met'])].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      files: { type: 'string' },
      dirs: { type: 'string' },
      dir: { type: 'string' },
      child: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.child !== undefined) {
    await child(values.child as Backend, process.argv.at(-1) ?? '');
    return;
  }
  const sizes: Size[] =
    values.files !== undefined || values.dirs !== undefined
      ? [{ files: Number(values.files ?? 100_000), dirs: Number(values.dirs ?? 1_000) }]
      : values.quick
        ? [{ files: 100_000, dirs: 1_000 }]
        : [
            { files: 100_000, dirs: 1_000 },
            { files: 1_000_000, dirs: 10_000 },
          ];
  const base = values.dir ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const limit = currentWatchLimit();
  const chokidarPackage = new URL('../../../node_modules/chokidar/package.json', import.meta.url);
  const chokidarVersion = (JSON.parse(readFileSync(chokidarPackage, 'utf8')) as { version: string }).version;
  console.log(
    `Watcher benchmark: Node ${process.version}, Linux ${release()}, ${availableParallelism()} cores, ` +
      `chokidar ${chokidarVersion}, max_user_watches ${fmt(limit)}, trees in ${base}\n`,
  );
  for (const size of sizes) {
    const started = performance.now();
    const root = generate(base, size);
    console.log(
      `generated ${fmt(size.files)} files in ${fmt(size.dirs)} directories in ${fmt((performance.now() - started) / 1000, 1)} s`,
    );
    try {
      const outcomes = {} as Record<Backend, Outcome>;
      for (const backend of BACKENDS) {
        const needed = backend === 'chokidar' ? size.files + size.dirs + 1 : size.dirs + 1;
        outcomes[backend] =
          needed > limit
            ? {
                ok: false,
                why: `needs ${fmt(needed)} inotify watches (one per file and directory); the limit is ${fmt(limit)}`,
              }
            : await measure(backend, root);
      }
      console.log(`\n${table(size, outcomes)}\n`);
    } finally {
      await remove(root);
    }
  }
}

await main();
