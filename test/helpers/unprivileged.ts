/**
 * A throw-away unprivileged user for attack tests: created with `useradd` (a system account, no
 * home, no shell), its steps run through `setpriv` with its own uid and gid and no supplementary
 * groups, removed after the file's tests. Where that is impossible (not root, no useradd), the
 * reason is returned so that the test skips saying why.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';

export interface Unprivileged {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** `cmd` prefixed so that it runs as the user. */
  argv(cmd: readonly string[]): string[];
  /** Runs `cmd` as the user to completion. */
  run(cmd: readonly string[]): SpawnSyncReturns<string>;
  /** Starts `cmd` as the user. */
  spawn(cmd: readonly string[]): ChildProcess;
  /** Hands `dir` and everything in it to the user, and lets it reach `dir` (see `reach`). */
  grant(dir: string): void;
  /** Lets the user reach `path`: search permission on every directory above it. */
  reach(path: string): void;
}

/** The user for this file's tests, or why there is none; `remove` deletes it. */
export type UnprivilegedOrReason =
  | { readonly user: Unprivileged; readonly remove: () => void }
  | { readonly user: null; readonly reason: string };

/** useradd and userdel wait for each other's lock on /etc/passwd; other test files run them too. */
function withPasswdLock(cmd: readonly string[]): SpawnSyncReturns<string> {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(cmd[0] ?? '', cmd.slice(1), { encoding: 'utf8' });
    if (r.status === 0 || attempt >= 50 || !/lock|try again/i.test(r.stderr)) return r;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 + attempt * 20);
  }
}

function idOf(name: string, flag: '-u' | '-g'): number {
  return Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
}

/** Creates the user, or says why it cannot be done here. */
export function createUnprivileged(): UnprivilegedOrReason {
  if (process.getuid?.() !== 0) return { user: null, reason: 'needs root to create a throw-away user' };
  for (const tool of ['useradd', 'userdel', 'setpriv'])
    if (spawnSync(tool, ['--help']).error !== undefined)
      return { user: null, reason: `${tool} is not installed` };
  const name = `sxt${process.pid.toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  const add = withPasswdLock(['useradd', '-M', '-r', '-U', '-s', '/usr/sbin/nologin', name]);
  if (add.status !== 0) return { user: null, reason: `useradd failed: ${add.stderr.trim()}` };
  const uid = idOf(name, '-u');
  const gid = idOf(name, '-g');
  const argv = (cmd: readonly string[]): string[] => [
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    '--',
    ...cmd,
  ];
  const user: Unprivileged = {
    name,
    uid,
    gid,
    argv,
    run: (cmd) => {
      const [bin, ...args] = argv(cmd);
      return spawnSync(bin ?? '', args, { encoding: 'utf8', timeout: 120_000 });
    },
    spawn: (cmd) => {
      const [bin, ...args] = argv(cmd);
      return spawn(bin ?? '', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    },
    grant: (dir) => {
      chownTree(dir, uid, gid);
      user.reach(dir);
    },
    reach: (path) => {
      for (let d = dirname(path); d !== dirname(d); d = dirname(d)) {
        const mode = statSync(d).mode & 0o7777;
        if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
      }
    },
  };
  return {
    user,
    remove: () => {
      const r = withPasswdLock(['userdel', name]);
      if (r.status !== 0) throw new Error(`userdel ${name} failed: ${r.stderr}`);
    },
  };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid);
}

/**
 * Registers the file's hooks: the user exists from `before` to `after`. Inside a test, `user()`
 * is the user, or null after `t.skip(reason())` was the right answer.
 */
export function useUnprivileged(): { user: () => Unprivileged | null; reason: () => string } {
  let made: UnprivilegedOrReason | null = null;
  before(() => {
    made = createUnprivileged();
  });
  after(() => {
    if (made !== null && made.user !== null) made.remove();
  });
  return {
    user: () => made?.user ?? null,
    reason: () => (made !== null && made.user === null ? made.reason : 'the user was not created'),
  };
}
