import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Remote, RsyncSettings } from '../../src/config/types.js';
import {
  CONFINE_HELPER,
  confinedCommand,
  describeConfinement,
  rshWord,
  runReads,
  runWrites,
} from '../../src/sync/confine.js';
import { tempDir } from '../helpers/tmp.js';

const daemon: Remote = { id: '10.0.0.1::m1', target: { kind: 'daemon', host: '10.0.0.1', module: 'm1' } };
const ssh: Remote = { id: '10.0.0.1:/srv/m1', target: { kind: 'ssh', host: '10.0.0.1', path: '/srv/m1' } };
const local: Remote = { id: '/srv/replica', target: { kind: 'local', path: '/srv/replica' } };

const settings = (commonParams: string[], auth = true): RsyncSettings => ({
  commonParamsRaw: commonParams.join(' '),
  commonParams,
  auth: { enabled: auth, users: 'root', passwordFile: '/etc/rsync.pas' },
  port: null,
  timeoutS: null,
  stallTimeoutS: 600,
  ssh: false,
});

test("confine: what a run may read besides the tree, by remote kind; not the remote shell's keys", () => {
  assert.deepEqual(runReads(daemon, settings(['-artuz'])), ['/etc/rsync.pas'], 'its password file');
  assert.deepEqual(runReads(daemon, settings(['-artuz'], false)), []);
  assert.deepEqual(
    runReads(local, settings(['-artuz'])),
    ['/srv/replica'],
    "the receiver reads the replica's files",
  );
  assert.deepEqual(runReads(ssh, settings(['-artuz'])), [], 'ssh runs outside, with its keys');
  assert.deepEqual(runReads(daemon, settings(['-artuz', '-e', 'ssh -p 2222'])), ['/etc/rsync.pas']);
  assert.deepEqual(
    runReads(
      daemon,
      settings(['-artuz', '--exclude-from=/etc/rsync.excludes', '--filter=merge /etc/rsync.rules']),
    ),
    ['/etc/rsync.pas', '/etc/rsync.excludes', '/etc/rsync.rules'],
    'files commonParams names',
  );
  assert.deepEqual(runReads(daemon, settings(['-artuz', '--exclude=*.tmp'])), ['/etc/rsync.pas']);
  // Not a remote shell's key: the shell runs outside, and rsync must not be able to send the key.
  assert.deepEqual(
    runReads(ssh, settings(['-artuz', '-e', 'ssh -i /root/.ssh/backup_key', '--rsync-path=/usr/bin/rsync'])),
    [],
  );
});

test('confine: where a run may write, by remote kind: a local replica, and the places commonParams names', () => {
  assert.deepEqual(runWrites(daemon, settings(['-artuz'])), [], 'a daemon writes on its own side');
  assert.deepEqual(runWrites(ssh, settings(['-artuz'])), []);
  assert.deepEqual(runWrites(local, settings(['-artuz'])), ['/srv/replica'], "the receiver's replica");
  assert.deepEqual(
    runWrites(
      local,
      settings([
        '-artuz',
        '--log-file=/var/log/rsync/client.log',
        '--write-batch',
        '/srv/batches/b1',
        '-T/var/tmp/rsync',
        '--backup-dir=/srv/old',
        '--partial-dir=.partial',
      ]),
    ),
    ['/srv/replica', '/var/log/rsync', '/srv/batches', '/var/tmp/rsync', '/srv/old'],
    "a log or batch file's directory, a directory itself; relative ones are below the replica",
  );
  assert.deepEqual(runWrites(daemon, settings(['-artuz', '--exclude-from=/etc/x'])), [], 'read, not written');
});

test('confine: the helper is given what it may write, /dev/null always', () => {
  const { args } = confinedCommand({ reads: ['/srv/replica'], writes: ['/srv/replica'] }, 3, ['-a']);
  const writes = args.flatMap((a, i) => (a === '--allow-write' ? [args[i + 1]] : []));
  assert.deepEqual(writes, ['/dev/null', '/srv/replica']);
});

test("confine: a remote shell in the argv is started by the helper's relay, outside the confinement", () => {
  const relay = `'${CONFINE_HELPER}' --relay`;
  const run = (argv: string[]) => {
    const { command, args } = confinedCommand({ reads: ['/etc/rsync.pas'], writes: [] }, 3, argv);
    const end = args.indexOf('--');
    return { command, options: args.slice(0, end), rsync: args.slice(end + 1) };
  };
  const direct = run(['-a', '--port=873', './', 'h::m/']);
  assert.equal(direct.command, CONFINE_HELPER);
  assert.deepEqual(direct.rsync, ['rsync', '-a', '--port=873', './', 'h::m/']);
  assert.equal(direct.options.includes('--shell-outside'), false, 'no shell, no broker');
  assert.deepEqual(direct.options.slice(0, 2), ['--allow-fd', '3']);
  assert.ok(direct.options.includes('/etc/rsync.pas'));
  assert.equal(direct.options.includes(CONFINE_HELPER), false);

  const overSsh = run(['-a', '-avze', 'ssh -p 2222', '--rsh=ssh -i /k', './', 'h:/d/']);
  assert.deepEqual(overSsh.rsync, [
    'rsync',
    '-a',
    '-avze',
    `${relay} ssh -p 2222`,
    `--rsh=${relay} ssh -i /k`,
    './',
    'h:/d/',
  ]);
  assert.ok(overSsh.options.includes('--shell-outside'));
  // the relay is run by the confined rsync: it may read the helper's own program
  assert.equal(overSsh.options[overSsh.options.indexOf(CONFINE_HELPER) - 1], '--allow');
});

test('confine: how check says it', () => {
  assert.equal(
    describeConfinement({ abi: 7 }),
    "yes: rsync reads only the tree and the system's files, and writes only a local replica (Landlock ABI 7)",
  );
  assert.equal(
    describeConfinement({ unavailable: 'this kernel has no Landlock' }),
    'no: this kernel has no Landlock',
  );
});

test("confine: rsync's -e reads a quoted program path as one word, spaces and quotes in it too", async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const dir = join(work.path, `it's a "dir"`);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'f'), 'x');
  const shell = join(dir, 'remote shell');
  // `shell -x host rsync --server …`: runs the server here, and says it ran
  writeFileSync(
    shell,
    `#!/bin/sh\ntouch "$(dirname "$0")/ran"\nwhile [ "$1" != rsync ]; do shift; done\nexec "$@"\n`,
    { mode: 0o755 },
  );
  const run = spawnSync(
    'rsync',
    ['-a', '-e', `${rshWord(shell)} -x`, './', `host:${join(work.path, 'dst')}/`],
    {
      cwd: join(dir, 'src'),
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(existsSync(join(dir, 'ran')), true);
  assert.equal(readFileSync(join(work.path, 'dst', 'f'), 'utf8'), 'x');
});

/**
 * A local replica's receiver runs here, as root: one that met a link planted in the replica (a
 * receiver without the 2026 fixes, or a flaw still unknown) would write where it leads. Whatever
 * the program does, the helper lets it create, write and remove only below the replica; a stand-in
 * for such a receiver tries every way out.
 */
test('confine: the confined program writes only below what it may write: through a planted link, outside, nothing', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const tree = join(work.path, 'tree');
  const replica = join(work.path, 'replica');
  const outside = join(work.path, 'outside');
  for (const d of [tree, replica, outside]) mkdirSync(d);
  writeFileSync(join(outside, 'kept'), 'kept');
  symlinkSync(outside, join(replica, 'planted'));
  const { command, args } = confinedCommand({ reads: [replica], writes: [replica] }, 3, []);
  const script = [
    'cd "$1"',
    'echo in > new && mkdir d && echo in > d/f && mv d/f d/g && rm d/g && rmdir d && echo ok > inside-ok',
    'echo out > planted/x',
    'mkdir planted/d',
    'ln -s /etc planted/l',
    'rm planted/kept',
    'mv new planted/moved',
    `echo out > ${JSON.stringify(join(tree, 'x'))}`,
    'echo written > /dev/null && echo ok > devnull-ok',
  ].join('\n');
  const rsyncAt = args.indexOf('rsync');
  const run = spawnSync(command, [...args.slice(0, rsyncAt), 'sh', '-c', script, 'sh', replica], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', openSync(tree, 'r')],
  });
  assert.equal(run.error, undefined);
  assert.ok(existsSync(join(replica, 'inside-ok')), `below the replica: ${run.stderr}`);
  assert.ok(existsSync(join(replica, 'devnull-ok')), `/dev/null: ${run.stderr}`);
  assert.deepEqual(readdirSync(outside), ['kept'], `written through the link: ${run.stderr}`);
  assert.deepEqual(readdirSync(tree), [], 'the tree is read, never written');
  assert.match(run.stderr, /planted\/x: Permission denied/);
});
