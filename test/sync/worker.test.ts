import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { describeExit } from '../../src/sync/exit-codes.js';
import { failureOf } from '../../src/sync/outcome.js';
import type { Remote, RsyncSettings } from '../../src/config/types.js';
import { runReads, runWrites } from '../../src/sync/confine.js';
import type { RsyncTask } from '../../src/sync/task.js';
import runRsync from '../../workers/rsync.js';
import { startStallProxy } from '../faults/lib/proxy.js';
import { rsyncProcesses } from '../faults/lib/procs.js';
import { disposeRsyncDaemon, startRsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';

const filter = { excludes: [], ignoreDotFiles: false, own: [] };

test('worker: a run from a watch root that is gone says so, not "spawn rsync ENOENT"', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const result = await runRsync({
    kind: 'delete',
    cwd: join(work.path, 'gone'),
    args: ['-r', '--delete', '--include-from=-', '--exclude=*', './', join(work.path, 'replica')],
    input: { kind: 'rules', rules: ['+ /f'] },
    filter,
    stallS: null,
    access: { reads: [join(work.path, 'replica')], writes: [join(work.path, 'replica')] },
  });
  assert.equal(result.exitCode, 3, "rsync's code for a source it cannot use");
  assert.equal(
    result.stderr,
    `rsync not run: the watched directory ${join(work.path, 'gone')} is no longer a directory there (moved, removed or a symlink)`,
  );
});

test("worker: a root swapped for a symlink after its identity was taken sends nothing of the link's target", async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  const outside = join(work.path, 'outside');
  for (const d of [root, replica, outside]) mkdirSync(d);
  writeFileSync(join(root, 'kept.txt'), 'in the tree');
  writeFileSync(join(replica, 'kept.txt'), 'in the tree');
  writeFileSync(join(outside, 'secret.txt'), 'outside the tree');
  const st = statSync(root);
  const base = {
    cwd: root,
    rootId: { dev: st.dev, ino: st.ino, uid: st.uid },
    filter,
    stallS: null,
    access: { reads: [replica], writes: [replica] },
  };
  const tasks: RsyncTask[] = [
    {
      ...base,
      kind: 'full',
      args: ['-a', '--delete', '--exclude-from=-', './', replica],
      input: { kind: 'excluded' },
    },
    {
      ...base,
      kind: 'send',
      args: ['-a', '--files-from=-', '--from0', './', replica],
      input: { kind: 'files', paths: ['secret.txt'], sentAs: new Map(), trees: [] },
    },
  ];
  // The attack, between the tree's check and the run: the root's parent is writable by its user.
  renameSync(root, `${root}.old`);
  symlinkSync(outside, root);
  for (const task of tasks) {
    const result = await runRsync(task);
    assert.equal(result.exitCode, 3, `${task.kind}: rsync's code for a source it cannot use`);
    assert.match(
      result.stderr,
      /^rsync not run: the watched directory .* is no longer the directory being watched \(replaced\)/,
    );
  }
  assert.deepEqual(readdirSync(replica), ['kept.txt']);
});

test('worker: a run that makes no I/O for stallS seconds is stopped and reported as an rsync timeout', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const daemon = await startRsyncDaemon();
  t.after(() => disposeRsyncDaemon(daemon));
  const proxy = await startStallProxy(daemon.port);
  t.after(() => proxy.close());
  writeFileSync(join(work.path, 'f'), 'x');
  proxy.stall();
  const marker = `--port=${proxy.port}`;
  const result = await runRsync({
    kind: 'send',
    cwd: work.path,
    // No --timeout: the argv a bare rsync speaks.
    args: [
      '-a',
      marker,
      `--password-file=${daemon.passwordFile}`,
      './',
      `${daemon.user}@127.0.0.1::${daemon.module}/`,
    ],
    input: null,
    filter,
    stallS: 1,
    access: { reads: [daemon.passwordFile], writes: [] },
  });
  assert.equal(result.exitCode, 30);
  assert.match(result.stderr, /timeout: no I\/O for 1 s \(timeout\/@stall\)/);
  assert.ok(result.durationMs < 15_000, `stopped after ${result.durationMs} ms`);
  assert.deepEqual(rsyncProcesses(marker), [], 'the stalled rsync is gone');
});

test('worker: a slow run that keeps moving bytes is not taken for a stalled one', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  mkdirSync(join(work.path, 'src'));
  mkdirSync(join(work.path, 'replica')); // as the start makes a local replica
  writeFileSync(join(work.path, 'src', 'big'), Buffer.alloc(300 * 1024, 1));
  const started = performance.now();
  const result = await runRsync({
    kind: 'send',
    cwd: join(work.path, 'src'),
    // ~3 s at 100 KiB/s, with a backstop of 1 s: only silence counts, not length.
    args: ['-a', '--bwlimit=100', './', join(work.path, 'replica')],
    input: null,
    filter,
    stallS: 1,
    access: { reads: [join(work.path, 'replica')], writes: [join(work.path, 'replica')] },
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.ok(performance.now() - started > 1500, 'the run lasted longer than the backstop');
});

/** A tree with `old/` on the replica and the same directory renamed `new` at the source. */
async function renamedTree(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ root: string; replica: string; outside: string }> {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  const outside = join(work.path, 'outside');
  for (const d of [join(root, 'new'), join(replica, 'old'), join(outside, 'new')])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(root, 'new', 'f.txt'), 'in the tree');
  writeFileSync(join(outside, 'new', 'secret.txt'), 'outside the tree');
  assert.equal(spawnSync('cp', ['-a', join(root, 'new', 'f.txt'), join(replica, 'old', 'f.txt')]).status, 0);
  return { root, replica, outside };
}

const moveTask = (root: string, replica: string, dir: string): RsyncTask => ({
  kind: 'move',
  cwd: root,
  dir,
  args: ['-a', '-r', '--link-dest=../old', './', `${replica}/${dir}/`],
  input: null,
  filter,
  stallS: null,
  access: { reads: [replica], writes: [replica] },
});

test('worker: a run inside a directory starts there: the renamed directory is rebuilt from its old copy', async (t) => {
  const { root, replica } = await renamedTree(t);
  const result = await runRsync(moveTask(root, replica, 'new'));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.filesSent, 0);
  assert.equal(statSync(join(replica, 'new', 'f.txt')).ino, statSync(join(replica, 'old', 'f.txt')).ino);
});

test('worker: a directory swapped for a symlink (or below one) before its run is never entered', async (t) => {
  const { root, replica, outside } = await renamedTree(t);
  renameSync(join(root, 'new'), join(root, 'moved'));
  symlinkSync(join(outside, 'new'), join(root, 'new'));
  symlinkSync(outside, join(root, 'p'));
  for (const dir of ['new', 'p/new']) {
    const result = await runRsync(moveTask(root, replica, dir));
    assert.equal(result.exitCode, 3, "rsync's code for a source it cannot use");
    assert.match(result.stderr, /^rsync not run: .*new is no longer a directory there/);
  }
  assert.deepEqual(readdirSync(replica), ['old']);
});

/**
 * rsync before 3.5 follows a link planted in the middle of a listed path between the listing and
 * its read: `a/secret.txt` listed, then `a/` swapped for `a -> outside/`. Confined, its read of
 * the target is refused wherever the link points, and the path counts as gone from the tree.
 */
test('worker: a link planted mid-path after the listing brings nothing from outside the tree (confined reads; the remote shell outside)', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const daemon = await startRsyncDaemon();
  t.after(() => disposeRsyncDaemon(daemon));
  const root = join(work.path, 'src');
  const outside = join(work.path, 'outside');
  const local = join(work.path, 'local-replica');
  for (const d of [join(root, 'b'), outside, local]) mkdirSync(d, { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), 'outside the tree');
  writeFileSync(join(root, 'b', 'kept.txt'), 'in the tree');
  symlinkSync(outside, join(root, 'a')); // planted after `a/secret.txt` was listed
  // The password file is not among what rsync may read: it gets the password in its environment.
  symlinkSync(dirname(daemon.passwordFile), join(root, 'p'));
  const files = {
    kind: 'files',
    paths: ['a/secret.txt', 'b/kept.txt', `p/${basename(daemon.passwordFile)}`],
    sentAs: new Map(),
    trees: [],
  } as const;
  const toDaemon: RsyncTask = {
    kind: 'send',
    cwd: root,
    args: [
      '-a',
      '--from0',
      '--files-from=-',
      `--port=${daemon.port}`,
      `--password-file=${daemon.passwordFile}`,
      './',
      `${daemon.user}@127.0.0.1::${daemon.module}/`,
    ],
    input: files,
    filter,
    stallS: null,
    access: { reads: [daemon.passwordFile], writes: [] },
  };
  const toLocal: RsyncTask = {
    ...toDaemon,
    args: ['-a', '--from0', '--files-from=-', './', `${local}/`],
    access: { reads: [local], writes: [local] },
  };
  // A stand-in for ssh: reads its key from outside the tree (it runs outside the confinement), then
  // runs `rsync --server` for the "host" here.
  const keys = join(work.path, 'keys');
  mkdirSync(keys);
  writeFileSync(join(keys, 'id'), 'the key');
  const ssh = join(keys, 'ssh');
  writeFileSync(
    ssh,
    `#!/bin/sh\ncp ${keys}/id ${keys}/read-by-ssh || exit 255\nwhile [ "$1" != rsync ]; do shift; done\nexec "$@"\n`,
    { mode: 0o755 },
  );
  const shellReplica = join(work.path, 'shell-replica');
  const overShell: RsyncTask = {
    ...toDaemon,
    args: ['-a', '--from0', '--files-from=-', '-e', `${ssh} -p 22`, './', `host:${shellReplica}/`],
    access: { reads: [], writes: [] },
  };
  for (const [task, replica] of [
    [toDaemon, daemon.dir],
    [toLocal, local],
    [overShell, shellReplica],
  ] as const) {
    const result = await runRsync(task);
    assert.equal(result.exitCode, 23, result.stderr);
    assert.match(result.stderr, /send_files failed to open ".*\/a\/secret\.txt": Permission denied \(13\)/);
    // Gone from the tree, as rsync ≥ 3.5 has it: the run succeeded (the links have their own events).
    assert.equal(result.leftTree.length, 2, result.stderr);
    assert.match(result.leftTree.join('\n'), /a\/secret\.txt": Permission denied/);
    assert.equal(failureOf(result), null);
    assert.equal(
      existsSync(join(replica, 'a', 'secret.txt')),
      false,
      `read through the link into ${replica}`,
    );
    assert.equal(readFileSync(join(replica, 'b', 'kept.txt'), 'utf8'), 'in the tree');
    assert.equal(
      existsSync(join(replica, 'p', basename(daemon.passwordFile))),
      false,
      `the password file read through the link into ${replica}`,
    );
  }
  assert.equal(readFileSync(join(keys, 'read-by-ssh'), 'utf8'), 'the key', 'the remote shell read its key');
});

/**
 * Landlock denies linking and renaming across directories under any ruleset unless a rule allows
 * it; the helper allows it (the kernel still refuses one that would make a file readable that was
 * not), so a local replica's hard links (`-H`, `--link-dest`) stay hard links.
 */
test('worker: a confined run to a local replica keeps hard links across its directories (-H)', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  for (const d of [join(root, 'a'), join(root, 'b'), replica]) mkdirSync(d, { recursive: true });
  writeFileSync(join(root, 'a', 'f'), 'linked');
  linkSync(join(root, 'a', 'f'), join(root, 'b', 'g'));
  const result = await runRsync({
    kind: 'full',
    cwd: root,
    args: ['-aH', './', `${replica}/`],
    input: null,
    filter,
    stallS: null,
    access: { reads: [replica], writes: [replica] },
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(statSync(join(replica, 'a', 'f')).ino, statSync(join(replica, 'b', 'g')).ino);
});

/**
 * Writes are confined too: a local replica's run may write the replica and the places its
 * commonParams name (a backup directory, its own log), as `runWrites` says.
 */
test('worker: a confined run to a local replica writes its backups and its log where commonParams names them', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  const old = join(work.path, 'old');
  const logs = join(work.path, 'logs');
  for (const d of [root, replica, old, logs]) mkdirSync(d);
  writeFileSync(join(root, 'f'), 'new content');
  writeFileSync(join(replica, 'f'), 'old');
  const params = ['-a', '-b', `--backup-dir=${old}`, `--log-file=${logs}/client.log`];
  const remote: Remote = { id: replica, target: { kind: 'local', path: replica } };
  const rsync: RsyncSettings = {
    commonParamsRaw: params.join(' '),
    commonParams: params,
    auth: { enabled: false, users: '', passwordFile: '' },
    port: null,
    timeoutS: null,
    stallTimeoutS: 600,
    ssh: false,
  };
  const result = await runRsync({
    kind: 'full',
    cwd: root,
    args: [...params, './', `${replica}/`],
    input: null,
    filter,
    stallS: null,
    access: { reads: runReads(remote, rsync), writes: runWrites(remote, rsync) },
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(readFileSync(join(replica, 'f'), 'utf8'), 'new content');
  assert.equal(readFileSync(join(old, 'f'), 'utf8'), 'old', 'the backup');
  assert.match(readFileSync(join(logs, 'client.log'), 'utf8'), /f/, 'its log');
});

/**
 * The helper's own failure: a path it must allow that it cannot open (a symlink loop named by
 * `--exclude-from`) stops the run before rsync starts, with 126 and the reason, a failure that is
 * retried, never a lost remote nor a silent unconfined run.
 */
test('worker: a run that cannot be confined is not run: 126 with the reason, retried', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  for (const d of [root, replica]) mkdirSync(d);
  writeFileSync(join(root, 'f'), 'x');
  const loop = join(work.path, 'excludes');
  symlinkSync(loop, loop);
  const result = await runRsync({
    kind: 'full',
    cwd: root,
    args: ['-a', `--exclude-from=${loop}`, './', `${replica}/`],
    input: null,
    filter,
    stallS: null,
    access: { reads: [replica, loop], writes: [replica] },
  });
  assert.equal(result.exitCode, 126, result.stderr);
  assert.match(
    result.stderr,
    /cannot confine rsync to the tree: open .*excludes: Too many levels of symbolic links/,
  );
  assert.equal(failureOf(result)?.exitCode, 126);
  assert.equal(describeExit(126).outcome, 'retry');
  assert.equal(describeExit(126).lost, undefined, 'not a lost remote');
  assert.deepEqual(readdirSync(replica), [], 'rsync did not run');
});

/**
 * rsync stops its remote shell with a signal when it is stopped itself (SIGUSR1); the shell runs
 * outside the confinement, a child of the helper's broker, so the relay rsync started passes the
 * signal on. Otherwise the shell would hold rsync's stderr open and the stalled run never end.
 */
test(
  'worker: a stalled run through a remote shell ends at the stall backstop, its shell stopped with it',
  { timeout: 20_000 },
  async (t) => {
    const work = await tempDir();
    t.after(work.remove);
    const root = join(work.path, 'src');
    mkdirSync(root);
    writeFileSync(join(root, 'f'), 'x');
    const shell = join(work.path, 'stalled-shell');
    writeFileSync(shell, '#!/bin/sh\nexec sleep 3600\n', { mode: 0o755 });
    const result = await runRsync({
      kind: 'full',
      cwd: root,
      args: ['-a', '-e', shell, './', 'host:/nowhere/'],
      input: null,
      filter,
      stallS: 1,
      access: { reads: [], writes: [] },
    });
    assert.equal(result.exitCode, 30, result.stderr);
    assert.match(result.stderr, /no I\/O for 1 s/);
  },
);
