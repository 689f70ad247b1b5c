import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { PathOp } from '../../src/coalesce/types.js';
import type { RemoteTarget } from '../../src/config/types.js';
import { fromBytes, fromUtf8 } from '../../src/paths.js';
import { exitCodeOfStatus, legacyToRows, parseLegacyFailLog } from '../../src/queue/legacy-fail-log.js';
import { tempDir } from '../helpers/tmp.js';
import { testConfig } from './helpers/config.js';

const RED = ' >/dev/null 2>&1 ';
const daemon = (host: string, module: string): RemoteTarget => ({ kind: 'daemon', host, module });
const T = daemon('127.0.0.1', 'tongbu1');

/** Lines as sersync 2.5.4 wrote them (spec §3.8, §7), and what each meant. */
const SERSYNC_LINES: [string, RemoteTarget, PathOp][] = [
  [`cd /W && rsync -artuz -R "./a.txt" 127.0.0.1::tongbu1${RED}`, T, { kind: 'sync', path: 'a.txt' }],
  [
    `cd /W && rsync -artuz -R "./sub/deep/b.txt" 127.0.0.1::tongbu1${RED}`,
    T,
    { kind: 'sync', path: 'sub/deep/b.txt' },
  ],
  [
    `cd /W && rsync -artuz -R "./with space\\$x.txt" 127.0.0.1::tongbu1${RED}`,
    T,
    { kind: 'sync', path: 'with space$x.txt' },
  ],
  [
    `cd /W && rsync -artuz -R  --port=874  --timeout=100 "./f.txt" root@10.0.0.1::m1 --password-file=/etc/rsync.pas${RED}`,
    daemon('10.0.0.1', 'm1'),
    { kind: 'sync', path: 'f.txt' },
  ],
  [
    'cd /W && rsync -artuz -R  -e ssh  --port=874  --timeout=100 "./f.txt" root@10.0.0.1:m1 --password-file=/etc/rsync.pas',
    { kind: 'ssh', host: '10.0.0.1', path: 'm1' },
    { kind: 'sync', path: 'f.txt' },
  ],
  [
    `cd /W && rsync -artuz -R --delete ./   --include="a.txt" --exclude=*  127.0.0.1::tongbu1${RED}`,
    T,
    { kind: 'delete', path: 'a.txt', isDir: false },
  ],
  [
    'cd /W && rsync -artuz -R --delete ./   --include="d1/" --include="d1/d2/" --include="d1/d2/n.txt" --exclude=*  127.0.0.1::dst',
    daemon('127.0.0.1', 'dst'),
    { kind: 'delete', path: 'd1/d2/n.txt', isDir: false },
  ],
  [
    'cd /W && rsync -artuz -R --delete ./   --include="sub/" --include="sub/deep"  --include="sub/deep/***" --exclude=*  127.0.0.1::tongbu1',
    T,
    { kind: 'delete', path: 'sub/deep', isDir: true },
  ],
  [
    `cd /W && rsync -artuz -R  --port=874  --timeout=100 --delete ./   --include="f.txt" --exclude=*  root@10.0.0.2::m2 --password-file=/etc/rsync.pas${RED}`,
    daemon('10.0.0.2', 'm2'),
    { kind: 'delete', path: 'f.txt', isDir: false },
  ],
  // <delete start="false">: the move-away only sent the include chain, i.e. a sync.
  [
    'cd /W && rsync -artuz -R  ./   --include="a.txt" --exclude=*  127.0.0.1::tongbu1',
    T,
    { kind: 'sync', path: 'a.txt' },
  ],
  [
    `cd /W && rsync -artuz -R --delete ./ 127.0.0.1::tongbu1 --exclude="*.php" --exclude="info/*"${RED}`,
    T,
    { kind: 'full', path: '' },
  ],
  // sersync escaped only `$`: back-ticks, backslashes and quotes are part of the name.
  [
    `cd /W && rsync -artuz -R "./\`touch INJECTED\`.txt" 127.0.0.1::tongbu1${RED}`,
    T,
    { kind: 'sync', path: '`touch INJECTED`.txt' },
  ],
  [
    `cd /W && rsync -artuz -R "./quote"in.txt" 127.0.0.1::tongbu1${RED}`,
    T,
    { kind: 'sync', path: 'quote"in.txt' },
  ],
  [`cd /W && rsync -artuz -R "./a\\\\$b" 127.0.0.1::tongbu1${RED}`, T, { kind: 'sync', path: 'a\\$b' }],
];

test('every form sersync wrote is read back as what it meant', () => {
  for (const [line, target, op] of SERSYNC_LINES) {
    const { commands, problems } = parseLegacyFailLog(`#errno 256\n${line}\n\n`);
    assert.deepEqual(problems, [], line);
    assert.deepEqual(commands, [{ line: 2, status: 256, text: line, root: '/W', target, op }], line);
  }
});

test('sersync-ts’s own single-quoted lines read back too, even across lines', () => {
  const text = [
    '#errno 256',
    `cd '/srv/my site' && rsync -artuz -R './it'\\''s' 127.0.0.1::tongbu1${RED}`,
    '',
    '#errno 2560',
    `cd /W && rsync -artuz -R './new`,
    `line' 127.0.0.1::tongbu1${RED}`,
    '',
    '#errno -1',
    `cd /W && rsync -artuz -R --delete ./   --include='q"/' --include='q"/x'  --include='q"/x/***' --exclude="*"  127.0.0.1::tongbu1${RED}`,
    '',
  ].join('\n');
  const { commands, problems } = parseLegacyFailLog(text);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    commands.map((c) => [c.line, c.status, c.root, c.op]),
    [
      [2, 256, '/srv/my site', { kind: 'sync', path: "it's" }],
      [5, 2560, '/W', { kind: 'sync', path: 'new\nline' }],
      [9, -1, '/W', { kind: 'delete', path: 'q"/x', isDir: true }],
    ],
  );
});

test('names keep their bytes', () => {
  const name = fromBytes(Buffer.from([0x62, 0xff, 0xfe, 0x2e, 0x74]));
  const text = fromUtf8(`cd /W && rsync -artuz -R "./`) + name + fromUtf8(`" 127.0.0.1::tongbu1${RED}\n`);
  assert.deepEqual(parseLegacyFailLog(text).commands[0]?.op, { kind: 'sync', path: name });
});

test('lines that are not usable commands are reported with their line numbers, the rest still read', () => {
  const text = [
    '#errno 256',
    'echo hello',
    '',
    `cd /W && rsync -artuz -R "./open quote 127.0.0.1::tongbu1${RED}`,
    `cd /W && rsync -artuz -R "./ok.txt" 127.0.0.1::tongbu1${RED}`,
    'cd /W && rsync -artuz -R --delete ./   --include="x/" --include="y/z" --exclude=*  127.0.0.1::tongbu1',
    'cd /W && rsync -artuz -R --bwlimit=10 "./b" 127.0.0.1::tongbu1',
    'cd /W && rsync -artuz "./no-R" 127.0.0.1::tongbu1',
    'cd /W && rsync -artuz -R "./no-destination"',
    "cd /W && rsync -artuz -R './never closed 127.0.0.1::tongbu1",
    `cd /W && rsync -artuz -R "./last.txt" 127.0.0.1::tongbu1${RED}`,
    "cd /W && rsync -artuz -R './runs on 127.0.0.1::tongbu1",
    "cd /W && rsync -artuz -R './x' 127.0.0.1::tongbu1",
  ].join('\n');
  const { commands, problems } = parseLegacyFailLog(text);
  assert.deepEqual(
    commands.map((c) => [c.line, c.status, c.op.path]),
    [
      [5, null, 'ok.txt'],
      [11, null, 'last.txt'],
      [13, null, 'x'],
    ],
  );
  assert.deepEqual(
    problems.map((p) => p.line),
    [2, 4, 6, 7, 8, 9, 10, 12],
  );
  assert.ok(problems.every((p) => p.reason.length > 0));
  assert.equal(problems[1]?.text, `cd /W && rsync -artuz -R "./open quote 127.0.0.1::tongbu1${RED}`);
});

test('#errno and blank lines are structure: a file of only those has no commands and no problems', () => {
  assert.deepEqual(parseLegacyFailLog('#errno 256\n\n\n#errno -1\n  \n'), { commands: [], problems: [] });
  assert.deepEqual(parseLegacyFailLog(''), { commands: [], problems: [] });
});

test('exit codes come back from system() statuses', () => {
  assert.deepEqual([256, 2560, 6144, 0, -1, 9, null].map(exitCodeOfStatus), [1, 10, 24, 0, -1, -1, -1]);
});

test('commands become retry rows of this config; what it cannot place is a problem', async () => {
  const d = await tempDir();
  try {
    const config = testConfig(d.path, {
      watch: '/W',
      failLog: join(d.path, 'fail.sh'),
      remotes: [
        { ip: '127.0.0.1', name: 'tongbu1' },
        { ip: '10.0.0.1', name: 'm1' },
      ],
    });
    const text = [
      '#errno 256',
      `cd /W && rsync -artuz -R "./a.txt" 127.0.0.1::tongbu1${RED}`,
      '#errno 2560',
      `cd /W/ && rsync -artuz -R "./dir" root@10.0.0.1::m1 --password-file=/etc/rsync.pas${RED}`,
      `cd /W && rsync -artuz -R "./b.txt" 127.0.0.1::elsewhere${RED}`,
      `cd /other && rsync -artuz -R "./c.txt" 127.0.0.1::tongbu1${RED}`,
    ].join('\n');
    const { rows, problems } = legacyToRows(
      config,
      parseLegacyFailLog(text).commands,
      '/tmp/rsync_fail_log.sh',
      (root, path) => root === '/W' && path === 'dir',
    );
    assert.deepEqual(rows, [
      {
        remoteId: '127.0.0.1::tongbu1',
        root: '/W',
        op: { kind: 'sync', path: 'a.txt' },
        attempts: 2,
        failure: { exitCode: 1, message: 'imported from /tmp/rsync_fail_log.sh:2' },
      },
      {
        remoteId: '10.0.0.1::m1',
        root: '/W',
        op: { kind: 'tree', path: 'dir' },
        attempts: 2,
        failure: { exitCode: 10, message: 'imported from /tmp/rsync_fail_log.sh:4' },
      },
    ]);
    // The line as it was written, and which destination or tree is not in the config.
    assert.deepEqual(
      problems.map((p) => [p.line, p.text, p.reason]),
      [
        [
          5,
          `cd /W && rsync -artuz -R "./b.txt" 127.0.0.1::elsewhere${RED}`,
          `its destination 127.0.0.1::elsewhere is not a remote of /W in ${config.file}`,
        ],
        [
          6,
          `cd /other && rsync -artuz -R "./c.txt" 127.0.0.1::tongbu1${RED}`,
          `/other is not a watched tree in ${config.file}`,
        ],
      ],
    );
  } finally {
    await d.remove();
  }
});
