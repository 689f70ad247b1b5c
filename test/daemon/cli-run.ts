/** Helpers of the daemon tests: the real CLI as a command, detached daemons, their state files. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { stateFileFor } from '../../src/queue/state-dir.js';
import { CLI } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `sersync2 args…` to completion (asynchronously, so the test's own servers keep serving);
 * with `timeoutMs`, a run that should have ended by then is killed (code null).
 */
export async function runCli(args: readonly string[], timeoutMs?: number): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/**
 * Whether `pid` is a running process. A detached daemon is not our child: once it exits it may
 * linger as a zombie until init reaps it, and a zombie has ended.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The files `-d` keeps in the state directory for a config. */
export function daemonFiles(stateDir: string, configFile: string): { pid: string; log: string } {
  return {
    pid: stateFileFor(stateDir, configFile, 'sersync2', 'pid'),
    log: stateFileFor(stateDir, configFile, 'sersync2', 'log'),
  };
}

/** SIGTERM to a detached daemon (if still running), waiting until it has ended; SIGKILL as a last resort. */
export async function stopDetached(pid: number): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, 'SIGTERM');
  try {
    await eventually(() => !isRunning(pid), 20_000, `pid ${pid} to end`);
  } catch (err) {
    process.kill(pid, 'SIGKILL');
    throw err;
  }
}
