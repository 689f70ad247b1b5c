import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CLI, sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';
import { daemonUrl, type Lab } from './lab.js';
import { lsyncdConfig } from './lsyncd-config.js';
import { inotifyWatches, processTree } from './proc.js';

/** Where one replicator runs in one trial. */
export interface SubjectEnv {
  readonly lab: Lab;
  /** The watched tree. */
  readonly src: string;
  /** A directory for the replicator's own files (config, logs, state). */
  readonly scratch: string;
  /** Directories in the tree, the root included: the watches a replicator needs. */
  readonly dirs: number;
  /** Also wait for a peer's startup sync (false: only until every directory is watched). */
  readonly settle: boolean;
}

export interface Running {
  readonly pid: number;
  /** From spawn until every directory was watched (and a startup sync done, with `settle`). */
  readonly readyMs: number;
  /** What the replicator reported about its own start (sersync-ts: its `watching …` line). */
  readonly selfReport: string | null;
  stop(): Promise<void>;
}

/** A replicator under measurement. */
export interface Subject {
  readonly name: string;
  /** Lone changes wait for a timer (lsyncd's default 15 s delay): measured with fewer repeats. */
  readonly slow: boolean;
  /** Why it cannot run on this machine, or null. */
  missing(): string | null;
  start(env: SubjectEnv): Promise<Running>;
}

const READY_TIMEOUT_MS = 300_000;
const STOP_GRACE_MS = 5_000;

/** The executable `cmd` as found on PATH, or null. */
export function onPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The environment every replicator runs with: what a service manager gives a unit (systemd: PATH
 * and the locale), not the shell's that runs the bench. A variable Node reads at start (this
 * machine's shell sets NODE_EXTRA_CA_CERTS, which costs Node ~40 ms of parsing certificates) would
 * otherwise be measured as sersync-ts's start-up. `describeEnvironment` prints Node's own start
 * both ways.
 */
export function serviceEnvironment(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: process.env.LANG ?? 'C.UTF-8' };
}

export const sersyncTs: Subject = {
  name: 'sersync-ts',
  slow: false,
  missing: () => (existsSync(CLI) ? null : `${CLI} is not built`),
  async start(env) {
    const file = writeConfig(env.scratch, sersyncXml(env));
    const started = performance.now();
    const proc = await startSersync(file, [], join(env.scratch, 'state'), {
      baseEnv: serviceEnvironment(),
    });
    const readyMs = performance.now() - started;
    return {
      pid: proc.child.pid ?? 0,
      readyMs,
      selfReport: /^watching .*$/m.exec(proc.stdout())?.[0] ?? null,
      async stop() {
        const code = await proc.stop();
        if (code !== 0) throw new Error(`sersync-ts exited ${code}: ${proc.stderr().slice(-2000)}`);
      },
    };
  },
};

/** lsyncd 2.2.3 `default.rsync` as measured in research peers.md §4.1, with the given delay. */
export function lsyncd(delay: number): Subject {
  return {
    name: `lsyncd delay=${delay}`,
    slow: delay > 1,
    missing: () => (onPath('lsyncd') === null ? 'lsyncd is not installed' : null),
    async start(env) {
      const conf = join(env.scratch, 'lsyncd.conf.lua');
      writeFileSync(
        conf,
        lsyncdConfig({
          source: env.src,
          target: daemonUrl(env.lab),
          passwordFile: env.lab.daemon.passwordFile,
          delay,
          logFile: join(env.scratch, 'lsyncd.log'),
          statusFile: join(env.scratch, 'lsyncd.status'),
        }),
      );
      return startPeer('lsyncd', [conf], env, /Startup of .* finished/);
    },
  };
}

/**
 * The classic loop (research peers.md §4.1, the seed script verbatim): every close_write or
 * delete runs a whole-tree rsync. Paths reach bash as arguments, never inside the script.
 */
const LOOP_SCRIPT =
  'cd "$1" && inotifywait -mrq --format "%w%f" -e close_write,delete "$1" | ' +
  'while read line; do rsync -az --delete ./ "$2" --password-file="$3"; done';

export const inotifyLoop: Subject = {
  name: 'inotifywait loop',
  slow: false,
  missing: () => (onPath('inotifywait') === null ? 'inotify-tools (inotifywait) is not installed' : null),
  start: (env) =>
    startPeer(
      'bash',
      ['-c', LOOP_SCRIPT, 'loop', env.src, daemonUrl(env.lab), env.lab.daemon.passwordFile],
      env,
      null,
    ),
};

/**
 * Runs a command in its own mount namespace with /proc/sys/fs/inotify read-only: the original
 * sersync2 writes `max_user_watches=50000000` and `max_queued_events=327679` at start, which
 * would change the machine for everything measured after it. The script is fixed; the command
 * and its arguments reach it as positional parameters.
 */
const SYSCTLS_READ_ONLY =
  'mount --bind /proc/sys/fs/inotify /proc/sys/fs/inotify && ' +
  'mount -o remount,bind,ro /proc/sys/fs/inotify && exec "$0" "$@"';

export function withReadOnlySysctls(cmd: string, args: readonly string[]): [string, string[]] {
  return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', SYSCTLS_READ_ONLY, cmd, ...args]];
}

/** The original sersync2, when SERSYNC_BIN points at one, on the same config as sersync-ts. */
export const originalSersync: Subject = {
  name: 'sersync2 (original)',
  slow: false,
  missing: () => {
    const bin = process.env.SERSYNC_BIN;
    if (bin === undefined || bin === '') return 'SERSYNC_BIN is not set';
    if (onPath('unshare') === null)
      return 'unshare (util-linux) is not installed: it keeps its sysctl writes off the machine';
    return existsSync(bin) ? null : `SERSYNC_BIN=${bin} does not exist`;
  },
  start(env) {
    const file = writeConfig(env.scratch, sersyncXml(env));
    const [cmd, args] = withReadOnlySysctls(process.env.SERSYNC_BIN ?? '', ['-o', file]);
    return startPeer(cmd, args, env, null);
  },
};

/** Every replicator the bench knows, sersync-ts first. */
export const ALL_SUBJECTS: readonly Subject[] = [
  sersyncTs,
  lsyncd(0),
  lsyncd(15),
  inotifyLoop,
  originalSersync,
];

function sersyncXml(env: SubjectEnv): string {
  return sersyncConfigXml({
    watch: env.src,
    daemons: [env.lab.daemon],
    failLog: join(env.scratch, 'rsync_fail_log.sh'),
    params: env.lab.params,
  });
}

/**
 * Starts a peer in its own process group (so its rsync children go with it) and waits until it
 * holds a watch on every directory, then, if `settledLine` is given and `env.settle`, until its
 * output says the startup sync is done.
 */
async function startPeer(
  cmd: string,
  args: readonly string[],
  env: SubjectEnv,
  settledLine: RegExp | null,
): Promise<Running> {
  const started = performance.now();
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serviceEnvironment(),
  });
  let output = '';
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-64 * 1024);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  let spawnError: Error | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const pid = child.pid ?? 0;
  const alive = (): void => {
    if (spawnError !== null) throw new Error(`${cmd}: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${cmd} exited ${child.exitCode ?? child.signalCode}: ${output.slice(-2000)}`);
  };
  const stop = (): Promise<void> => stopGroup(child, exited);
  try {
    await eventually(
      () => {
        alive();
        return inotifyWatches(processTree(pid)) >= env.dirs;
      },
      READY_TIMEOUT_MS,
      `${cmd} watching ${env.dirs} directories`,
    );
    const readyMs = performance.now() - started;
    if (settledLine !== null && env.settle) {
      await eventually(
        () => {
          alive();
          return settledLine.test(output);
        },
        READY_TIMEOUT_MS,
        `${cmd}: ${settledLine}`,
      );
    }
    return { pid, readyMs, selfReport: null, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** SIGTERM to the whole group, SIGKILL after a grace period; resolves when the leader is gone. */
async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const leader = child.pid;
  if (leader === undefined) return; // never started
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-leader, sig);
    } catch {
      // the group is gone already
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => {
    signal('SIGKILL');
  }, STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  signal('SIGKILL'); // stragglers of the group (an rsync the leader did not wait for)
}
