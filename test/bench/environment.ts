import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { onPath, serviceEnvironment } from './subjects.js';

/** The machine and the software a bench run measured, printed first and kept in `--json`. */
export interface Environment {
  readonly date: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly busy: Busy;
  readonly versions: Readonly<Record<string, string>>;
  readonly inotify: Readonly<Record<string, string>>;
  readonly nodeStart: NodeStart;
}

/** Node's own start until a script's first line (median of five, ms), in each environment. */
export interface NodeStart {
  /** As the replicators run (`serviceEnvironment`). */
  readonly service: number;
  /** With the bench's own environment, as a shell would start it. */
  readonly inherited: number;
}

function nodeStartMs(env: NodeJS.ProcessEnv): number {
  const runs = Array.from({ length: 5 }, () => {
    const r = spawnSync(process.execPath, ['-p', 'performance.now()'], { env, encoding: 'utf8' });
    return Number(r.stdout.trim());
  }).sort((a, b) => a - b);
  return runs[2] ?? Number.NaN;
}

function firstLine(cmd: string, args: readonly string[], pick: RegExp): string {
  if (onPath(cmd) === null) return 'not installed';
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const text = `${r.stdout}\n${r.stderr}`;
  return pick.exec(text)?.[1] ?? text.trim().split('\n')[0] ?? '?';
}

/** The checkout's commit, `-dirty` when the working tree differs: which engine was measured. */
function gitRevision(cwd: string): string {
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { cwd, encoding: 'utf8' });
  return r.status === 0 ? `git ${r.stdout.trim()}` : 'not a git checkout';
}

function procValue(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * How busy the machine is now: the load average and the share of the last 60 s in which some
 * runnable task waited for a CPU (/proc/pressure/cpu; null where the kernel has no PSI).
 */
export interface Busy {
  readonly loadAverage: readonly number[];
  readonly cpuPressure60: number | null;
}

export function busyNow(): Busy {
  const m = /^some .*avg60=([\d.]+)/m.exec(procValue('/proc/pressure/cpu'));
  return { loadAverage: loadavg(), cpuPressure60: m?.[1] === undefined ? null : Number(m[1]) };
}

export function formatBusy(b: Busy): string {
  const psi = b.cpuPressure60 === null ? '' : `, CPU pressure ${b.cpuPressure60.toFixed(0)} % (60 s)`;
  return `load ${b.loadAverage.map((l) => l.toFixed(2)).join(' ')}${psi}`;
}

export function describeEnvironment(): Environment {
  const root = join(import.meta.dirname, '..', '..', '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  return {
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? '?',
    memoryBytes: totalmem(),
    kernel: release(),
    busy: busyNow(),
    versions: {
      'sersync-ts': `${pkg.version} (${gitRevision(root)})`,
      node: process.version,
      rsync: firstLine('rsync', ['--version'], /rsync\s+version\s+(\S+)/),
      lsyncd: firstLine('lsyncd', ['--version'], /Version:\s*(\S+)/),
      inotifywait: firstLine('inotifywait', ['--help'], /^inotifywait\s+(\S+)/m),
      sersync2: process.env.SERSYNC_BIN ?? 'not given (SERSYNC_BIN)',
    },
    inotify: {
      max_user_watches: procValue('/proc/sys/fs/inotify/max_user_watches'),
      max_queued_events: procValue('/proc/sys/fs/inotify/max_queued_events'),
    },
    nodeStart: { service: nodeStartMs(serviceEnvironment()), inherited: nodeStartMs(process.env) },
  };
}

export function formatEnvironment(e: Environment): string {
  return [
    `machine: ${e.cpus} CPUs (${e.cpuModel}), ${(e.memoryBytes / 2 ** 30).toFixed(1)} GiB, kernel ${e.kernel}, ${formatBusy(e.busy)}`,
    `versions: ${Object.entries(e.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `inotify: ${Object.entries(e.inotify)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    `node's own start: ${e.nodeStart.service.toFixed(0)} ms as the replicators run (PATH and LANG only, as a service), ` +
      `${e.nodeStart.inherited.toFixed(0)} ms with this shell's environment`,
  ].join('\n');
}
