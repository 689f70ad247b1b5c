import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Remote, RsyncSettings } from '../../src/config/types.js';
import {
  busyLimit,
  busyRerunWaitMs,
  classifyExit,
  CLOSED_ON_REMOVALS,
  daemonRefusedPaths,
  failedPaths,
  failsOnlyItsRun,
  failureOutcome,
  lastErrorLine,
  remoteLoss,
  REPLICA_UNMOUNTED,
} from '../../src/sync/exit-codes.js';
import {
  anchoredPattern,
  deleteArgs,
  deleteRules,
  destination,
  fileListEntry,
  fullArgs,
  hasUpdate,
  moveArgs,
  stallBackstopS,
  syncArgs,
  withoutUpdate,
} from '../../src/sync/rsync-args.js';
import { remoteKind, type ProbeTarget } from '../../src/config/remote-kinds.js';

const daemon: Remote = { id: '10.0.0.1::m1', target: { kind: 'daemon', host: '10.0.0.1', module: 'm1' } };
const ssh: Remote = { id: '10.0.0.1:/srv/m1', target: { kind: 'ssh', host: '10.0.0.1', path: '/srv/m1' } };
const local: Remote = { id: '/srv/replica', target: { kind: 'local', path: '/srv/replica' } };

/** sersync's G18 settings: auth, port 874, timeout 100. */
const g18: RsyncSettings = {
  commonParamsRaw: '-artuz',
  commonParams: ['-artuz'],
  auth: { enabled: true, users: 'root', passwordFile: '/etc/rsync.pas' },
  port: 874,
  timeoutS: 100,
  stallTimeoutS: 600,
  ssh: false,
};

/** How a local replica at /R maps its receiver's names back to the tree. */
const replica = remoteKind({ id: '/R', target: { kind: 'local', path: '/R' } }).treePath;

test('rsync args: daemon remote carries user, port, timeout, password file and TCP_NODELAY (G18)', () => {
  assert.deepEqual(syncArgs(daemon, g18), [
    '-artz',
    '--port=874',
    '--timeout=100',
    '--password-file=/etc/rsync.pas',
    '--sockopts=TCP_NODELAY',
    '--ignore-times',
    '-R',
    '--no-recursive',
    '--from0',
    '--files-from=-',
    './',
    'root@10.0.0.1::m1',
  ]);
});

test('rsync args: -u (--update) is dropped from event runs (the watcher saw the change) and kept for full syncs', () => {
  const cases: [string[], string[]][] = [
    [['-artuz'], ['-artz']],
    [['-u'], []],
    [
      ['-az', '--update', '--bwlimit=100'],
      ['-az', '--bwlimit=100'],
    ],
    [
      ['-az', '--suffix=.u', '-T/usr/tmp'],
      ['-az', '--suffix=.u', '-T/usr/tmp'],
    ],
  ];
  for (const [params, expected] of cases) {
    assert.deepEqual(withoutUpdate(params), expected, params.join(' '));
    assert.equal(hasUpdate(params), params.join() !== expected.join(), params.join(' '));
  }
  const r = { ...g18, commonParams: ['-artuz'] };
  for (const args of [syncArgs(daemon, r), deleteArgs(daemon, r), moveArgs(daemon, r, 'b', 'a', true) ?? []])
    assert.equal(args[0], '-artz');
  assert.equal(fullArgs(daemon, r, true, [])[0], '-artuz');
});

test('rsync args: commonParams that set --sockopts are left alone', () => {
  const args = syncArgs(daemon, { ...g18, commonParams: ['-az', '--sockopts=SO_SNDBUF=65536'] });
  assert.equal(args.filter((a) => a.startsWith('--sockopts')).length, 1);
  assert.ok(args.includes('--sockopts=SO_SNDBUF=65536'));
});

test("rsync args: ssh mode has no --password-file and the port is ssh's (sersync §5 #15 fixed)", () => {
  const args = syncArgs(ssh, { ...g18, ssh: true });
  assert.ok(
    !args.some(
      (a) => a.startsWith('--password-file') || a.startsWith('--port') || a.startsWith('--sockopts'),
    ),
  );
  assert.deepEqual(args.slice(0, 4), ['-artz', '-e', 'ssh -p 874', '--timeout=100']);
  assert.equal(args.at(-1), 'root@10.0.0.1:/srv/m1');
});

test('rsync args: a local directory target needs no daemon options', () => {
  assert.deepEqual(
    syncArgs(local, {
      ...g18,
      auth: { enabled: false, users: '', passwordFile: '' },
      port: null,
      timeoutS: null,
    }),
    ['-artz', '--ignore-times', '-R', '--no-recursive', '--from0', '--files-from=-', './', '/srv/replica/'],
  );
});

test("rsync args: with <timeout> off, the stall backstop is the worker's watch, and the argv a bare rsync speaks", () => {
  const off = { ...g18, timeoutS: null };
  // --timeout makes every run to a default rsyncd wait ~50 ms (Nagle meets the delayed ACK).
  for (const [remote, rsync] of [
    [daemon, off],
    [ssh, { ...off, ssh: true }],
    [local, off],
  ] as const)
    assert.ok(!syncArgs(remote, rsync).some((a) => a.startsWith('--timeout')), remote.id);
  assert.equal(stallBackstopS(daemon, off), 600);
  assert.equal(stallBackstopS(ssh, { ...off, ssh: true }), 600);
  assert.equal(stallBackstopS(local, off), null, 'no network to stall');
  assert.equal(stallBackstopS(daemon, { ...off, stallTimeoutS: 0 }), null, 'stall="0": none, as sersync');
  // <timeout start="true"> is rsync's own, as written (time="0" is the operator's "no timeout").
  assert.equal(stallBackstopS(daemon, g18), null);
  assert.ok(syncArgs(daemon, g18).includes('--timeout=100'));
  assert.ok(syncArgs(daemon, { ...g18, timeoutS: 0 }).includes('--timeout=0'));
});

test('rsync args: destinations', () => {
  const noAuth = { ...g18, auth: { enabled: false, users: 'root', passwordFile: '' } };
  assert.equal(destination(daemon, noAuth), '10.0.0.1::m1');
  assert.equal(destination(daemon, g18, 'a dir/sub'), 'root@10.0.0.1::m1/a dir/sub/');
  assert.equal(destination(local, g18, 'x'), '/srv/replica/x/');
});

test('rsync args: an IPv6 address goes to rsync in brackets (bare, rsync splits it at its first ::), and to the probe without', () => {
  const at = (host: string, kind: 'daemon' | 'ssh'): Remote =>
    kind === 'daemon'
      ? { id: `${host}::m1`, target: { kind, host, module: 'm1' } }
      : { id: `${host}:/srv/r`, target: { kind, host, path: '/srv/r' } };
  for (const host of ['2001:db8::5', '[2001:db8::5]']) {
    assert.equal(destination(at(host, 'daemon'), g18, 'd'), 'root@[2001:db8::5]::m1/d/');
    assert.equal(destination(at(host, 'ssh'), { ...g18, ssh: true }), 'root@[2001:db8::5]:/srv/r');
    assert.deepEqual(remoteKind(at(host, 'daemon')).probe(g18), { host: '2001:db8::5', port: 874 });
    assert.deepEqual(remoteKind(at(host, 'ssh')).probe({ ...g18, port: null }), {
      host: '2001:db8::5',
      port: 22,
    });
  }
  assert.equal(destination(at('backup.example', 'daemon'), g18), 'root@backup.example::m1');
});

test("rsync args: deletes use sersync's include chain on stdin, protected by --exclude=*", () => {
  const args = deleteArgs(daemon, g18);
  assert.deepEqual(args.slice(-7), [
    '-r',
    '--delete',
    '--from0',
    '--include-from=-',
    '--exclude=*',
    './',
    'root@10.0.0.1::m1',
  ]);
  assert.deepEqual(deleteRules(['d1/d2/n.txt', 'sub']), [
    '/d1/',
    '/d1/d2/',
    '/d1/d2/n.txt',
    '/d1/d2/n.txt/***',
    '/sub',
    '/sub/***',
  ]);
});

test('rsync args: names are escaped only where rsync would read wildcards', () => {
  assert.equal(anchoredPattern('plain\\name'), '/plain\\name');
  assert.equal(anchoredPattern('a*b'), '/a\\*b');
  assert.equal(anchoredPattern('back\\slash', '/***'), '/back\\\\slash/***');
  assert.equal(anchoredPattern('[x]?'), '/\\[x]\\?');
  assert.equal(fileListEntry(''), '.');
  assert.equal(fileListEntry('#not-a-comment'), './#not-a-comment');
});

test('rsync args: a renamed directory is sent from inside it (never by a name that could be a link) with its old name as --link-dest basis: from the module root to a daemon, relative elsewhere', () => {
  assert.deepEqual(moveArgs(daemon, g18, 'p/new', 'p/old', true)?.slice(-5), [
    '-r',
    '--delete',
    '--link-dest=/p/old',
    './',
    'root@10.0.0.1::m1/p/new/',
  ]);
  const local: Remote = { id: '/backup', target: { kind: 'local', path: '/backup' } };
  assert.deepEqual(moveArgs(local, g18, 'p/new', 'q/old', true)?.slice(-3), [
    '--link-dest=../../q/old',
    './',
    '/backup/p/new/',
  ]);
  const ssh: Remote = { id: 'h:/srv/r', target: { kind: 'ssh', host: 'h', path: '/srv/r' } };
  assert.equal(moveArgs(ssh, g18, 'new', 'old', true)?.at(-3), '--link-dest=../old');
  assert.equal(moveArgs(daemon, g18, Buffer.from([0xff]).toString('latin1'), 'old', true), null);
});

test('rsync args: full sync deletes only with inotify/delete on and carries the crontab excludes', () => {
  const withDelete = fullArgs(daemon, g18, true, ['*.php', 'info/*']);
  assert.ok(withDelete.includes('--delete'));
  assert.deepEqual(withDelete.slice(-5), [
    '--exclude-from=-',
    '--exclude=*.php',
    '--exclude=info/*',
    './',
    'root@10.0.0.1::m1',
  ]);
  assert.ok(!fullArgs(daemon, g18, false, []).includes('--delete'));
});

test('rsync args: full syncs compare times to the nanosecond unless commonParams sets a window', () => {
  assert.ok(fullArgs(daemon, g18, true, []).includes('--modify-window=-1'));
  for (const own of ['--modify-window=2', '-@1', '-artuz@1']) {
    const args = fullArgs(daemon, { ...g18, commonParams: ['-artuz', own] }, true, []);
    assert.ok(!args.includes('--modify-window=-1'), own);
  }
});

test('exit codes: 0 and 24 succeed, 23 only when every error is a vanished source', () => {
  assert.equal(classifyExit(0, ''), 'ok');
  assert.equal(classifyExit(24, 'file has vanished: "/W/x"'), 'ok');
  assert.equal(
    classifyExit(
      23,
      'rsync: [sender] link_stat "/W/./sedAb12" failed: No such file or directory (2)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338)',
    ),
    'ok',
  );
  assert.equal(
    classifyExit(
      23,
      'rsync: [sender] link_stat "/W/up/f" failed: Too many levels of symbolic links (40)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)',
    ),
    'ok',
    'a path now behind a symlink someone else planted (rsync 3.5 refuses to follow it) is gone from the tree',
  );
  assert.equal(
    classifyExit(23, 'rsync: link_stat "/W/gone" failed: No such file or directory (2)'),
    'ok',
    'the sender of rsync < 3.2.4 does not tag its lines',
  );
  // Printed without rsync's prefix, each still a file that did not arrive (and, with --delete, no
  // deletion done by that run): never a success.
  for (const line of [
    `filename overflows max-path len by 1: ${'d'.repeat(240)}/${'e'.repeat(240)}`,
    'skipping overly long name: x',
    'cannot convert filename: caf\\#351 (Invalid or incomplete multibyte or wide character)',
    'could not make way for new symlink: d',
    'ERROR: module is read only',
  ]) {
    const stderr = `${line}\nrsync error: some files/attrs were not transferred (code 23) at main.c(1347)`;
    assert.equal(classifyExit(23, stderr), 'retry', line);
    assert.equal(lastErrorLine(stderr), line, 'the line an operator is shown');
  }
  assert.equal(
    failedPaths(23, 'filename overflows max-path len by 1: a/b\nrsync error: x (code 23)', '/W', replica),
    null,
    'the whole batch fails (the name is relative to where rsync ran, which a move run changes)',
  );
  for (const line of [
    'rsync: [generator] recv_generator: failed to stat "/replica/d/f": Too many levels of symbolic links (40)',
    'rsync: [receiver] mkstemp "/replica/d/.f.XXXXXX" failed: No such file or directory (2)',
    'rsync: recv_generator: mkdir "/replica/d" failed: No such file or directory (2)',
    'rsync: change_dir "/replica/d" failed: No such file or directory (2)',
  ])
    assert.notEqual(
      classifyExit(23, `${line}\nrsync error: some files/attrs were not transferred (code 23)`),
      'ok',
      `the receiver's side did not write the file: ${line}`,
    );
  assert.equal(
    classifyExit(
      23,
      'rsync: [receiver] mkstemp "/replica/.a.XXXX" failed: Permission denied (13)\nrsync error: some files/attrs were not transferred (code 23)',
    ),
    'partial',
    'a file the replica could not take: named, the others arrived',
  );
  assert.equal(classifyExit(10, ''), 'retry');
  assert.equal(classifyExit(5, '@ERROR: auth failed on module m1'), 'final');
  const busy = '@ERROR: max connections (4) reached -- try again later';
  assert.equal(
    classifyExit(5, `${busy}\nrsync error: error starting client-server protocol (code 5) at main.c(1863)`),
    'retry',
    'a busy daemon heals by itself',
  );
  assert.equal(failureOutcome({ exitCode: 5, message: busy }), 'retry');
  assert.equal(failureOutcome({ exitCode: 5, message: '@ERROR: Unknown module ‘m2’' }), 'final');
  assert.equal(classifyExit(99, ''), 'retry');
});

test("exit codes: a daemon's busy refusal names its max connections and is run again after 25 ms, doubling to 1 s, six times (then the queue's)", () => {
  const busy =
    '@ERROR: max connections (4) reached -- try again later\nrsync error: error starting client-server protocol (code 5) at main.c(1863)';
  assert.equal(busyLimit({ exitCode: 5, stderr: busy }), 4);
  assert.equal(busyLimit({ exitCode: 5, stderr: '@ERROR: auth failed on module m1' }), null);
  assert.equal(busyLimit({ exitCode: 23, stderr: busy }), null, 'only a refused login is a busy daemon');
  const waits = [1, 2, 3, 4, 5, 6, 7].map(busyRerunWaitMs);
  assert.deepEqual(waits, [25, 50, 100, 200, 400, 800, null]);
});

test('exit codes: 23 is partial when every error names a file: of the source rsync could not read, or one the replica could not take', () => {
  const unreadable =
    'rsync: [sender] send_files failed to open "/W/secret": Permission denied (13)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338)';
  assert.equal(classifyExit(23, unreadable), 'partial');
  assert.equal(
    classifyExit(
      23,
      `${unreadable}\nrsync: [receiver] mkstemp "/replica/.a.XXXX" failed: Permission denied (13)`,
    ),
    'partial',
  );
  assert.equal(
    classifyExit(23, `${unreadable}\nrsync: [receiver] some trouble without a name (5)`),
    'retry',
    'and a failure when anything else went wrong',
  );
});

test('exit codes: which failures mean the remote is lost (probed), and which may have cut a file', () => {
  const table: [exitCode: number, message: string, lost: boolean, resync: boolean][] = [
    [10, 'rsync: [sender] failed to connect to 10.0.0.1 (10.0.0.1): Connection refused (111)', true, false],
    [10, 'rsync: connection unexpectedly closed (0 bytes received so far) [sender]', true, true],
    [12, 'rsync: connection unexpectedly closed', true, true],
    [30, 'sersync2 error: timeout: no I/O for 600 s (timeout/@stall): rsync stopped', true, true],
    [35, 'rsync error: timeout waiting for daemon connection (code 35)', true, false],
    [255, 'ssh: connect to host 10.0.0.1 port 22: No route to host', true, false],
    [-1, 'rsync was killed', true, true],
    [
      REPLICA_UNMOUNTED,
      'rsync not run: the file system mounted at /mnt/usb … is not mounted now',
      true,
      true,
    ],
    [5, '@ERROR: auth failed on module m1', false, false],
    [11, 'rsync: write failed on "/replica/a": No space left on device (28)', false, false],
    // an rsync 3.1 daemon closing on a removal while the batch's sends got through: its refusal
    [10, 'rsync: [sender] read error: Connection reset by peer (104)', true, true],
    [10, `rsync: [sender] read error: Connection reset by peer (104)${CLOSED_ON_REMOVALS}`, false, false],
  ];
  for (const [exitCode, message, lost, resync] of table)
    assert.deepEqual(remoteLoss({ exitCode, message }), { lost, resync }, `${exitCode} ${message}`);
  // a removal's run the daemon closed on may be its alone; a connection refused is every run's
  assert.equal(
    failsOnlyItsRun({ exitCode: 10, message: 'rsync: [sender] read error: Connection reset by peer (104)' }),
    true,
  );
  assert.equal(
    failsOnlyItsRun({
      exitCode: 10,
      message: 'rsync: [sender] failed to connect to 10.0.0.1 (10.0.0.1): Connection refused (111)',
    }),
    false,
  );
});

test("exit codes: the reported line is the specific error, not rsync's generic summary", () => {
  assert.equal(
    lastErrorLine(
      'rsync: [sender] failed to connect to 127.0.0.1 (127.0.0.1): Connection refused (111)\nrsync error: error in socket IO (code 10) at clientserver.c(165) [sender=3.5.0]\n',
    ),
    'rsync: [sender] failed to connect to 127.0.0.1 (127.0.0.1): Connection refused (111)',
  );
  assert.equal(
    lastErrorLine(
      '@ERROR: auth failed on module replica\nrsync error: error starting client-server protocol (code 5)',
    ),
    '@ERROR: auth failed on module replica',
  );
  assert.equal(
    lastErrorLine(
      'ERROR: module is read only\nrsync error: syntax or usage error (code 1) at main.c(1185) [Receiver=3.5.0]\n' +
        'rsync: [sender] read error: Connection reset by peer (104)\n',
    ),
    'ERROR: module is read only',
    "the remote's refusal, not the connection reset that follows it",
  );
  // a daemon's `refuse options`, and an option the remote rsync does not know, said the same way
  for (const refusal of [
    'rsync: The server is configured to refuse --delete',
    'rsync: on remote machine: --mkpath: unknown option',
  ])
    assert.equal(
      lastErrorLine(
        `${refusal}\nrsync error: requested action not supported (code 4) at clientserver.c(1267) [Receiver=3.5.0]\n` +
          'rsync: [sender] read error: Connection reset by peer (104)\n',
      ),
      refusal,
    );
  assert.equal(
    lastErrorLine(
      'rsync: [sender] could not open password file /etc/rsync.pas: No such file or directory (2)\n' +
        'rsync error: syntax or usage error (code 1) at authenticate.c(247) [sender=3.5.0]\n',
    ),
    'rsync: [sender] could not open password file /etc/rsync.pas: No such file or directory (2)',
    "rsync's own line on the cause, though it has no error word",
  );
  assert.equal(
    lastErrorLine(
      'rsync: [receiver] write failed on "/replica/big" (in replica): No space left on device (28)\n' +
        'rsync error: error in file IO (code 11) at receiver.c(657) [receiver=3.5.0]\n' +
        'rsync: [sender] read error: Connection reset by peer (104)\n' +
        'rsync error: error in socket I/O (code 10) at io.c(806) [sender=3.5.0]\n',
    ),
    'rsync: [receiver] write failed on "/replica/big" (in replica): No space left on device (28)',
    "the replica's full disk, not the connection reset that follows it",
  );
});

test('exit 23: the source files rsync could not read, relative to the root, with its line about each, or null for any other error', () => {
  const tail =
    'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)';
  const open = (p: string): string =>
    `rsync: [sender] send_files failed to open "${p}": Permission denied (13)`;
  const opendir = 'rsync: [sender] opendir "/W/d/sub" failed: Permission denied (13)';
  const unknown = 'rsync: [sender] some_new_check "/W/odd" failed: Operation not permitted (1)';
  assert.deepEqual(
    failedPaths(
      23,
      [
        open('/W/a\\#012b'),
        opendir,
        open('/W/l\\#351t q"t'),
        'rsync: [sender] link_stat "/W/gone" failed: No such file or directory (2)',
        'file has vanished: "/W/gone2"',
        'rsync: [sender] link_stat "/W/linked/f" failed: Too many levels of symbolic links (40)',
        unknown,
        tail,
      ].join('\n'),
      '/W',
      replica,
    ),
    [
      {
        path: 'a\nb',
        error: open('/W/a\\#012b'),
        onReplica: false,
        contentsSkipped: false,
        notRemoved: null,
      },
      { path: 'd/sub', error: opendir, onReplica: false, contentsSkipped: false, notRemoved: null },
      {
        path: 'l\u00e9t q"t',
        error: open('/W/l\\#351t q"t'),
        onReplica: false,
        contentsSkipped: false,
        notRemoved: null,
      },
      { path: 'odd', error: unknown, onReplica: false, contentsSkipped: false, notRemoved: null },
    ],
  );
  assert.equal(failedPaths(23, `${open('/elsewhere/x')}\n${tail}`, '/W', replica), null, 'outside the root');
  assert.equal(
    failedPaths(
      23,
      `${open('/W/a')}\nrsync: [receiver] mkstemp "/.a.XyZ123" failed: No space left on device (28)\n${tail}`,
      '/W',
      replica,
    ),
    null,
    'an error about a path that is not the replica fails the whole batch',
  );
  assert.equal(failedPaths(10, open('/W/a'), '/W', replica), null, 'only exit 23 is per file');
});

test("exit 23: what the replica could not take is named as the tree's path (a temporary name as its file), the rest arrived", () => {
  const tail =
    'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)';
  const mkstemp = 'rsync: [receiver] mkstemp "/R/locked/.x.txt.LyWaBa" failed: Permission denied (13)';
  const mkdir = 'rsync: [generator] recv_generator: mkdir "/R/up/sub" failed: Permission denied (13)';
  const rename = 'rsync: [receiver] rename "/R/a/.b.Qw3rTy" -> "/R/a/b": Permission denied (13)';
  const times = 'rsync: [generator] failed to set times on "/R/t": Operation not permitted (1)';
  assert.deepEqual(failedPaths(23, [mkstemp, mkdir, rename, times, tail].join('\n'), '/W', replica), [
    { path: 'locked/x.txt', error: mkstemp, onReplica: true, contentsSkipped: false, notRemoved: null },
    { path: 'up/sub', error: mkdir, onReplica: true, contentsSkipped: true, notRemoved: null },
    { path: 'a/b', error: rename, onReplica: true, contentsSkipped: false, notRemoved: null },
    { path: 't', error: times, onReplica: true, contentsSkipped: false, notRemoved: null },
  ]);
  // a daemon's receiver, chrooted or not, names them from its module
  const daemonLine =
    'rsync: [receiver] mkstemp "/locked/.x.txt.LyWaBa" (in backup) failed: Permission denied (13)';
  const daemon = remoteKind({ id: 'h::backup', target: { kind: 'daemon', host: 'h', module: 'backup' } });
  assert.deepEqual(failedPaths(23, `${daemonLine}\n${tail}`, '/W', daemon.treePath), [
    { path: 'locked/x.txt', error: daemonLine, onReplica: true, contentsSkipped: false, notRemoved: null },
  ]);
  // rsync's own trouble with the replica as a whole is not one file's
  assert.equal(
    failedPaths(
      23,
      `rsync: [generator] failed to set times on "/R": Operation not permitted (1)\n${tail}`,
      '/W',
      replica,
    ),
    null,
  );
});

test('exit 23 from an rsync before 3.2.0 (CentOS 7, RHEL 8, Ubuntu 20.04), whose lines name no role: the same paths and outcome as tagged ones', () => {
  const tail =
    'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]';
  // verbatim from an rsync 3.1.3 daemon (module `m`, run as nobody) and a 3.5.0 client
  const unlink = 'rsync: delete_file: unlink(locked/stale) failed: Permission denied (13)';
  const mkdir = 'rsync: recv_generator: mkdir "locked/new" (in m) failed: Permission denied (13)';
  const skipping = '*** Skipping any contents from this failed directory ***';
  const mkstemp = 'rsync: mkstemp "locked/.x.txt.WNGkHB" (in m) failed: Permission denied (13)';
  const top = 'rsync: failed to set times on "." (in m): Operation not permitted (1)';
  const stderr = [unlink, mkdir, skipping, mkstemp, top, tail].join('\n');
  const daemon = remoteKind({ id: 'h::m', target: { kind: 'daemon', host: 'h', module: 'm' } });
  assert.equal(classifyExit(23, stderr), 'partial');
  assert.deepEqual(failedPaths(23, stderr, '/W', daemon.treePath), [
    { path: 'locked/stale', error: unlink, onReplica: true, contentsSkipped: false, notRemoved: 'file' },
    { path: 'locked/new', error: mkdir, onReplica: true, contentsSkipped: true, notRemoved: null },
    { path: 'locked/x.txt', error: mkstemp, onReplica: true, contentsSkipped: false, notRemoved: null },
    { path: '', error: top, onReplica: true, contentsSkipped: false, notRemoved: null },
  ]);
  // an ssh or local receiver names the replica absolute; an old client's sender, the source
  const ssh = 'rsync: mkstemp "/R/locked/.x.txt.WNGkHB" failed: Permission denied (13)';
  const source = 'rsync: send_files failed to open "/W/secret": Permission denied (13)';
  assert.deepEqual(
    failedPaths(23, [ssh, source, tail].join('\n'), '/W', replica)?.map((p) => [p.path, p.onReplica]),
    [
      ['locked/x.txt', true],
      ['secret', false],
    ],
  );
  // an untagged line that names nothing is no file's
  assert.equal(classifyExit(23, `rsync: some trouble without a name (5)\n${tail}`), 'retry');
  // the daemon's full disk is the cause, not the connection reset the client prints after it
  const full = 'rsync: write failed on "big" (in m): No space left on device (28)';
  assert.equal(
    lastErrorLine(`${full}\nrsync: [sender] read error: Connection reset by peer (104)\n${tail}`),
    full,
  );
});

test('remote kinds: each kind owns its transport, login, tuning, network and probe', () => {
  const off = { ...g18, timeoutS: null };
  const table: [Remote, RsyncSettings, string[], string[], string[], boolean, ProbeTarget][] = [
    [
      daemon,
      g18,
      ['--port=874'],
      ['--password-file=/etc/rsync.pas'],
      ['--sockopts=TCP_NODELAY'],
      true,
      { host: '10.0.0.1', port: 874 },
    ],
    [
      daemon,
      { ...off, port: null },
      [],
      ['--password-file=/etc/rsync.pas'],
      ['--sockopts=TCP_NODELAY'],
      true,
      { host: '10.0.0.1', port: 873 },
    ],
    [ssh, { ...g18, ssh: true }, ['-e', 'ssh -p 874'], [], [], true, { host: '10.0.0.1', port: 874 }],
    [ssh, { ...g18, ssh: true, port: null }, ['-e', 'ssh'], [], [], true, { host: '10.0.0.1', port: 22 }],
    [local, g18, [], [], [], false, { writable: '/srv/replica' }],
  ];
  for (const [remote, rsync, transport, login, tuning, networked, probe] of table) {
    const kind = remoteKind(remote);
    assert.deepEqual(
      [kind.transport(rsync), kind.login(rsync), kind.tuning(rsync), kind.networked, kind.probe(rsync)],
      [transport, login, tuning, networked, probe],
      remote.id,
    );
  }
});

test("exit 23: what a daemon's module refuses to receive (its exclude or filter) is its policy, not a failure; its names are read back", () => {
  const tail =
    'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)';
  const file = 'ERROR: daemon refused to receive file "up/a.tmp"';
  const dir = 'ERROR: daemon refused to receive directory "lost+found"';
  const skipping = '*** Skipping any contents from this failed directory ***';
  const stderr = [dir, skipping, file, tail].join('\n');
  assert.equal(classifyExit(23, stderr), 'ok');
  assert.deepEqual(daemonRefusedPaths({ exitCode: 23, stderr }), ['lost+found', 'up/a.tmp']);
  assert.deepEqual(
    daemonRefusedPaths({ exitCode: 23, stderr: 'ERROR: daemon refused to receive file "l\\#351t"' }),
    ['l\u00e9t'],
  );
  assert.deepEqual(daemonRefusedPaths({ exitCode: 12, stderr }), [], 'only an exit 23 reports them');
  // beside a file the replica could not take: only that one fails, and it is the line shown
  const mkstemp = 'rsync: [receiver] mkstemp "d/.f.AbCdEf" (in m) failed: Permission denied (13)';
  assert.equal(classifyExit(23, [file, mkstemp, tail].join('\n')), 'partial');
  assert.equal(lastErrorLine([mkstemp, file, tail].join('\n')), mkstemp);
});

test("exit 23: an entry the replica's generator could not remove (--delete) is named, as a removal", () => {
  const tail =
    'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)';
  const unlink = 'rsync: [generator] delete_file: unlink(locked/old.txt) failed: Permission denied (13)';
  const rmdir = 'rsync: [generator] delete_file: rmdir(locked/gone) failed: Permission denied (13)';
  const daemon = remoteKind({ id: 'h::backup', target: { kind: 'daemon', host: 'h', module: 'backup' } });
  assert.equal(classifyExit(23, `${unlink}\n${tail}`), 'partial');
  assert.deepEqual(failedPaths(23, [unlink, rmdir, tail].join('\n'), '/W', daemon.treePath), [
    { path: 'locked/old.txt', error: unlink, onReplica: true, contentsSkipped: false, notRemoved: 'file' },
    { path: 'locked/gone', error: rmdir, onReplica: true, contentsSkipped: false, notRemoved: 'directory' },
  ]);
});
