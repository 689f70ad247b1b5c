import { spawn } from 'node:child_process';
import { closeSync, readFileSync, rmSync } from 'node:fs';
import { SersyncError } from '../errors.js';
import { ensureDirFor, openAppend, readFileNoFollow, replaceFile } from '../owned-files.js';

/** Set in the environment of the detached child, so it knows to report back instead of detaching again. */
const CHILD_ENV = 'SERSYNC_DAEMON_CHILD';

/** What the child tells the parent over IPC once it is watching, or why it could not start. */
type StartupMessage =
  { readonly type: 'ready'; readonly pid: number } | { readonly type: 'error'; readonly message: string };

export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

/**
 * `-d`: starts this same command again detached (a new session, stdin closed, stdout and stderr
 * appended to `logFile`) and waits until the child has loaded its config and set its watches, so
 * an init script's exit status means something. Resolves to the child's pid; rejects with the
 * child's own error when it could not start.
 */
export async function detach(logFile: string): Promise<number> {
  const fd = openAppend(logFile, 'log file');
  const script = process.argv[1];
  if (script === undefined)
    throw new SersyncError('ERR_SERSYNC_DAEMON', 'cannot find the sersync2 script to re-run');
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    detached: true,
    stdio: ['ignore', fd, fd, 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  closeSync(fd);
  try {
    const msg = await new Promise<StartupMessage>((resolve, reject) => {
      child.once('message', (m) => {
        resolve(m as StartupMessage);
      });
      child.once('exit', (code, signal) => {
        reject(
          new SersyncError(
            'ERR_SERSYNC_DAEMON',
            `the daemon exited during start-up (${signal ?? `exit ${code ?? '?'}`}); see ${logFile}:\n${tail(logFile)}`,
          ),
        );
      });
      child.once('error', reject);
    });
    if (msg.type === 'error') throw new SersyncError('ERR_SERSYNC_DAEMON', msg.message);
    return msg.pid;
  } finally {
    child.removeAllListeners();
    if (child.connected) child.disconnect();
    child.unref();
  }
}

/** In the detached child: tell the parent how start-up went, then cut the cord. */
export function reportStartup(result: { ok: true } | { ok: false; message: string }): void {
  // Once reported, the channel is closed: a later failure is the log's business.
  if (!isDaemonChild() || process.send === undefined || !process.connected) return;
  const msg: StartupMessage = result.ok
    ? { type: 'ready', pid: process.pid }
    : { type: 'error', message: result.message };
  process.send(msg, () => {
    process.disconnect();
  });
}

/**
 * Writes the pid file (owner-only, never through a link, where nobody else can replace it: see
 * `ensureDirFor` and `replaceFile`); `remove` deletes it if it still names this process.
 */
export function writePidFile(file: string): { remove: () => void } {
  ensureDirFor(file, 'pid file');
  replaceFile(file, `${process.pid}\n`);
  return {
    remove: () => {
      try {
        const held = readFileNoFollow(file, 64); // a pid and a newline
        if (Buffer.isBuffer(held) && held.toString('utf8').trim() === String(process.pid)) rmSync(file);
      } catch {
        // already gone
      }
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-6).join('\n');
  } catch {
    return '';
  }
}
