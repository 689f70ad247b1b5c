/**
 * The native posix_spawn (native/spawn.c, src/sync/posix-spawn.ts) that starts every rsync: what the
 * child gets (its fds 0–3, its directory, default signals, the environment), how its end is told
 * (code or signal name, once, after its output), that it is reaped, and a worker thread that ends
 * with a child still running.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { canPosixSpawn, describeChildStart, posixSpawn, type SpawnedChild } from '../src/posix-spawn.js';
import { ADDON_PATH } from '../src/watch/native.js';

const skip = canPosixSpawn() ? false : 'the native binding is not built';

interface Ended {
  readonly code: number | null;
  readonly signal: string | null;
  readonly out: string;
  readonly err: string;
}

/** Runs `sh -c script` with /tmp as its fd 3; `input` goes to its stdin. */
function sh(
  script: string,
  opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { child: SpawnedChild; ended: Promise<Ended> } {
  const fd3 = openSync('/tmp', 'r');
  let child: SpawnedChild | null;
  try {
    child = posixSpawn('sh', ['-c', script], { cwd: opts.cwd ?? '/', env: opts.env ?? process.env, fd3 });
  } finally {
    closeSync(fd3); // the child has its own copy
  }
  assert.ok(child !== null);
  return { child, ended: ended(child, opts.input) };
}

/** Feeds `input` to the child and gathers its output until it has ended. */
async function ended(child: SpawnedChild, input = ''): Promise<Ended> {
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  return { code, signal, out, err };
}

test(
  'posix spawn: the child has the pipes as 0-2, fd 3, its directory and the environment given',
  { skip },
  async () => {
    const { ended: e } = sh('pwd; readlink /proc/self/fd/3; cat; echo "$ONLY_HERE" >&2; exit 7', {
      cwd: '/proc/self/fd/3',
      input: 'from stdin\n',
      env: { PATH: process.env.PATH, ONLY_HERE: 'set for it' },
    });
    const r = await e;
    assert.deepEqual(r, { code: 7, signal: null, out: '/tmp\n/tmp\nfrom stdin\n', err: 'set for it\n' });
  },
);

test(
  "posix spawn: without fd 3 or a directory the child has neither and runs in this process's; newSession makes it a session and group leader",
  { skip },
  async () => {
    const script = 'pwd; test -e /proc/self/fd/3 && echo fd3; cut -d" " -f5,6 /proc/$$/stat; echo $$';
    for (const newSession of [false, true]) {
      const child = posixSpawn('sh', ['-c', script], { env: process.env, newSession });
      assert.ok(child !== null);
      const r = await ended(child);
      assert.doesNotMatch(r.out, /fd3/);
      const [cwd, ids, pid] = r.out.trim().split('\n');
      assert.equal(cwd, process.cwd());
      const [pgrp, session] = (ids ?? '').split(' ').map(Number);
      const own = Number(pid);
      assert.equal(pgrp === own && session === own, newSession, `${newSession}: ${r.out}`);
      if (!newSession) assert.equal(session, Number(readFileSync('/proc/self/stat', 'utf8').split(' ')[5]));
    }
  },
);

test(
  'posix spawn: no signal is blocked in the child, none of 1-31 ignored (Node ignores SIGPIPE)',
  { skip },
  async () => {
    const { ended: e } = sh('grep -E "^Sig(Ign|Blk)" /proc/self/status; kill -PIPE $$');
    const r = await e;
    assert.equal(r.signal, 'SIGPIPE', JSON.stringify(r));
    const mask = (name: string): bigint =>
      BigInt(`0x${new RegExp(`^${name}:\\s+([0-9a-f]+)$`, 'm').exec(r.out)?.[1] ?? 'ff'}`);
    assert.equal(mask('SigBlk'), 0n, r.out);
    // glibc's posix_spawn leaves its own two signals (32, 33) ignored; the program's glibc sets them again.
    assert.equal(mask('SigIgn') & 0x7fffffffn, 0n, r.out);
  },
);

test('posix spawn: kill until reaped, then false; the child is reaped (no zombie)', { skip }, async () => {
  const { child, ended: e } = sh('sleep 30');
  assert.equal(child.kill('SIGTERM'), true);
  assert.equal((await e).signal, 'SIGTERM');
  assert.equal(
    child.kill('SIGKILL'),
    false,
    'a reaped child is not signalled: its pid may be another process now',
  );
  assert.equal(existsSync(`/proc/${child.pid}`), false, 'not reaped');
});

test(
  'posix spawn: a program that is not there throws ENOENT; an abort kills the child with SIGTERM and says so',
  { skip },
  async () => {
    const fd3 = openSync('/tmp', 'r');
    try {
      assert.throws(() => posixSpawn('no-such-program-here', [], { cwd: '/', env: process.env, fd3 }), {
        code: 'ENOENT',
      });
      const abort = new AbortController();
      const child = posixSpawn('sleep', ['30'], { cwd: '/', env: process.env, fd3, signal: abort.signal });
      assert.ok(child !== null);
      const error = once(child, 'error');
      const closed = new Promise((resolve) => child.on('close', (_code, signal) => resolve(signal)));
      abort.abort();
      assert.equal(((await error)[0] as NodeJS.ErrnoException).code, 'ABORT_ERR');
      assert.equal(await closed, 'SIGTERM');
    } finally {
      closeSync(fd3);
    }
  },
);

test(
  'posix spawn: a worker thread that ends with its child running ends cleanly; the child runs on',
  { skip },
  async () => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
     const { openSync } = require('node:fs');
     const addon = require(${JSON.stringify(ADDON_PATH)});
     const c = addon.spawnProcess('sleep', ['sleep', '30'], [], '/', openSync('/', 'r'), false, () => {});
     parentPort.postMessage(c.pid);`,
      { eval: true },
    );
    const [pid] = (await once(worker, 'message')) as [number];
    assert.equal(await worker.terminate(), 1);
    assert.match(readFileSync(`/proc/${pid}/stat`, 'utf8'), /^\d+ \(sleep\) [RS] /);
    process.kill(pid, 'SIGKILL');
  },
);

test('posix_spawn: check and the start say when rsync starts by a fork instead, and why', () => {
  const spawn = (): never => assert.fail('not called');
  assert.deepEqual(describeChildStart({ ok: true, binding: { spawnProcess: spawn } as never }), {
    by: 'posix_spawn',
    note: null,
  });
  const unbuilt = describeChildStart({
    ok: false,
    reason: 'the native inotify binding did not load (x.node)',
  });
  assert.equal(unbuilt.by, 'fork');
  assert.match(unbuilt.note ?? '', /fork of this process.*did not load \(x\.node\).*npm rebuild/);
  const older = describeChildStart({ ok: true, binding: {} as never });
  assert.equal(older.by, 'fork');
  assert.match(older.note ?? '', /built from an older sersync-ts/);
});
