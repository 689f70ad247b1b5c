import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { PathOp } from '../../src/coalesce/types.js';
import type { Config } from '../../src/config/types.js';
import { pino } from 'pino';
import { silentLogger } from '../../src/log/logger.js';
import { fromBytes, fromUtf8, pathBytes } from '../../src/paths.js';
import { remoteFor, renderFailLog, renderSersyncCommand } from '../../src/queue/fail-log.js';
import { failLogMirror, writeFailLogMirror } from '../../src/queue/fail-log-mirror.js';
import { openQueueForConfig } from '../../src/queue/open.js';
import { openWorkStore } from '../../src/queue/store.js';
import type { QueueRow, QueueStore } from '../../src/queue/types.js';
import { mountUnavailable } from '../faults/cases/watch-health.js';
import { tempDir } from '../helpers/tmp.js';
import { testConfig, type TestConfigOptions } from './helpers/config.js';

const RED = ' >/dev/null 2>&1 ';

async function inTemp<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const d = await tempDir();
  try {
    return await fn(d.path);
  } finally {
    await d.remove();
  }
}

/** The command for `op` under a config built from `o` (watch `/W` unless given). */
function command(
  dir: string,
  op: PathOp,
  o: Partial<TestConfigOptions> = {},
  fullSyncExcludes: string[] = [],
): string {
  const config = testConfig(dir, { watch: '/W', failLog: join(dir, 'fail.sh'), ...o });
  const local = config.localpaths[0];
  const remote = local?.remotes[0];
  assert.ok(local !== undefined && remote !== undefined);
  return renderSersyncCommand({
    rsync: config.rsync,
    remote,
    root: local.watch,
    op,
    deleteEnabled: config.inotify.delete,
    debug: config.debug,
    fullSyncExcludes,
  });
}

/** A store row that has failed `times` times with `exitCode`. */
function failedRow(
  store: QueueStore,
  remoteId: string,
  root: string,
  op: PathOp,
  exitCode: number,
  times = 2,
): QueueRow {
  for (let i = 0; i < times; i++)
    store.fail(store.begin(remoteId, root, [op]), { exitCode, message: 'failed' });
  const row = store.list().find((r) => r.op.path === op.path && r.remoteId === remoteId);
  assert.ok(row !== undefined);
  return row;
}

test('a known failure is written byte for byte as sersync wrote it (golden G25)', async () => {
  await inTemp((dir) => {
    const config = testConfig(dir, { watch: '/W', failLog: join(dir, 'fail.sh') });
    const store = openWorkStore(join(dir, 'q.sqlite'));
    const row = failedRow(store, '127.0.0.1::tongbu1', '/W', { kind: 'sync', path: 'fail1.txt' }, 1);
    store.close();
    assert.equal(
      renderFailLog(config, [row]).toString('latin1'),
      '#errno 256\ncd /W && rsync -artuz -R "./fail1.txt" 127.0.0.1::tongbu1 >/dev/null 2>&1 \n\n',
    );
  });
});

test('sync commands match the lines sersync ran (spec §3.8)', async () => {
  await inTemp((dir) => {
    const golden: [PathOp, Partial<TestConfigOptions>, string][] = [
      [
        { kind: 'sync', path: 'sub/deep/b.txt' },
        {},
        `cd /W && rsync -artuz -R "./sub/deep/b.txt" 127.0.0.1::tongbu1${RED}`,
      ],
      [{ kind: 'tree', path: 'newdir' }, {}, `cd /W && rsync -artuz -R "./newdir" 127.0.0.1::tongbu1${RED}`],
      [
        { kind: 'sync', path: 'with space$x.txt' },
        {},
        `cd /W && rsync -artuz -R "./with space\\$x.txt" 127.0.0.1::tongbu1${RED}`,
      ],
      [
        { kind: 'sync', path: 'f.txt' },
        {
          auth: { users: 'root', passwordFile: '/etc/rsync.pas' },
          port: 874,
          timeoutS: 100,
          remotes: [{ ip: '10.0.0.1', name: 'm1' }],
        },
        `cd /W && rsync -artuz -R  --port=874  --timeout=100 "./f.txt" root@10.0.0.1::m1 --password-file=/etc/rsync.pas${RED}`,
      ],
      [
        { kind: 'sync', path: 'a.txt' },
        { debug: true },
        'cd /W && rsync -artuz -R "./a.txt" 127.0.0.1::tongbu1',
      ],
    ];
    for (const [op, o, expected] of golden) assert.equal(command(dir, op, o), expected);
  });
});

test('delete and full-sync commands match sersync, with --exclude=* quoted against globbing', async () => {
  await inTemp((dir) => {
    // sersync's lines (§3.8, G4–G7, G15, G20, G23) with its unquoted `--exclude=*` written `--exclude="*"`.
    const q = (s: string): string => s.replace('--exclude=*', '--exclude="*"');
    const del = (path: string, isDir: boolean): PathOp => ({ kind: 'delete', path, isDir });
    const golden: [string, string][] = [
      [
        command(dir, del('a.txt', false)),
        `cd /W && rsync -artuz -R --delete ./   --include="a.txt" --exclude=*  127.0.0.1::tongbu1${RED}`,
      ],
      [
        command(dir, del('d1/d2/n.txt', false), { debug: true, remotes: [{ ip: '127.0.0.1', name: 'dst' }] }),
        'cd /W && rsync -artuz -R --delete ./   --include="d1/" --include="d1/d2/" --include="d1/d2/n.txt" --exclude=*  127.0.0.1::dst',
      ],
      [
        command(dir, del('sub/deep', true), { debug: true }),
        'cd /W && rsync -artuz -R --delete ./   --include="sub/" --include="sub/deep"  --include="sub/deep/***" --exclude=*  127.0.0.1::tongbu1',
      ],
      [
        command(dir, del('sub', true), { debug: true }),
        'cd /W && rsync -artuz -R --delete ./   --include="sub"  --include="sub/***" --exclude=*  127.0.0.1::tongbu1',
      ],
      [
        command(dir, del('f.txt', false), {
          auth: { users: 'root', passwordFile: '/etc/rsync.pas' },
          port: 874,
          timeoutS: 100,
          remotes: [{ ip: '10.0.0.2', name: 'm2' }],
        }),
        `cd /W && rsync -artuz -R  --port=874  --timeout=100 --delete ./   --include="f.txt" --exclude=*  root@10.0.0.2::m2 --password-file=/etc/rsync.pas${RED}`,
      ],
      [
        command(dir, del('a.txt', false), { deleteEvents: false, debug: true }),
        'cd /W && rsync -artuz -R  ./   --include="a.txt" --exclude=*  127.0.0.1::tongbu1',
      ],
      [
        command(
          dir,
          { kind: 'full', path: '' },
          {
            auth: { users: 'root', passwordFile: '/etc/rsync.pas' },
            port: 874,
            timeoutS: 100,
            remotes: [{ ip: '10.0.0.1', name: 'm1' }],
          },
        ),
        `cd /W && rsync -artuz -R --delete ./  --port=874  --timeout=100 root@10.0.0.1::m1 --password-file=/etc/rsync.pas${RED}`,
      ],
      [
        command(dir, { kind: 'full', path: '' }, {}, ['*.php', 'info/*']),
        `cd /W && rsync -artuz -R --delete ./ 127.0.0.1::tongbu1 --exclude="*.php" --exclude="info/*"${RED}`,
      ],
    ];
    for (const [actual, sersync] of golden) assert.equal(actual, q(sersync));
  });
});

test('the status after #errno is sersync’s system() status', async () => {
  await inTemp((dir) => {
    const config = testConfig(dir, { watch: '/W', failLog: join(dir, 'fail.sh') });
    const store = openWorkStore(join(dir, 'q.sqlite'));
    const rows = [
      failedRow(store, '127.0.0.1::tongbu1', '/W', { kind: 'sync', path: 'a' }, 10),
      failedRow(store, '127.0.0.1::tongbu1', '/W', { kind: 'sync', path: 'b' }, -1),
    ];
    store.close();
    const text = renderFailLog(config, rows).toString('latin1');
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith('#errno')),
      ['#errno 2560', '#errno -1'],
    );
  });
});

/** A fake `rsync` that appends its cwd and argv (NUL-separated) to $RSYNC_ARGV_LOG. */
function fakeRsync(binDir: string): void {
  mkdirSync(binDir, { recursive: true });
  const script = join(binDir, 'rsync');
  writeFileSync(
    script,
    '#!/bin/sh\n{ printf "CWD=%s\\0" "$PWD"; for a in "$@"; do printf "%s\\0" "$a"; done; printf "END\\0"; } >> "$RSYNC_ARGV_LOG"\n',
  );
  chmodSync(script, 0o755);
}

/** The recorded calls: [cwd, ...argv] as byte strings. */
function recordedCalls(log: string): string[][] {
  const parts = readFileSync(log).toString('latin1').split('\0');
  const calls: string[][] = [];
  let cur: string[] = [];
  for (const p of parts) {
    if (p === 'END') {
      calls.push(cur);
      cur = [];
    } else if (p.startsWith('CWD=')) cur = [p.slice(4)];
    else if (p !== '') cur.push(p);
  }
  return calls;
}

test('hostile names give lines /bin/sh accepts and runs on the literal name', async () => {
  await inTemp((dir) => {
    const watch = join(dir, 'W "q" $HOME `x` it\'s');
    mkdirSync(watch);
    // A file named like an option: an unquoted --exclude=* would be globbed into it.
    writeFileSync(join(watch, '--exclude=zz'), '');
    const failLog = join(dir, 'rsync_fail_log.sh');
    const config = testConfig(dir, { watch, failLog });
    const names = [
      'plain.txt',
      'with space$x.txt',
      'quote"in.txt',
      '`touch INJECTED`.txt',
      '$(touch INJECTED2)',
      'back\\slash\\$x',
      "it's",
      'new\nline',
      '-rf',
      'sub dir/--delete',
    ].map(fromUtf8);
    names.push(fromBytes(Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x22, 0x24])));
    const store = openWorkStore(join(dir, 'q.sqlite'));
    const rows = [
      ...names.map((n) => failedRow(store, '127.0.0.1::tongbu1', watch, { kind: 'sync', path: n }, 1)),
      ...names.map((n) =>
        failedRow(store, '127.0.0.1::tongbu1', watch, { kind: 'delete', path: `gone/${n}`, isDir: true }, 1),
      ),
    ];
    writeFailLogMirror(config, store, rows, Date.now());
    store.close();

    const syntax = spawnSync('/bin/sh', ['-n', failLog], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);

    const bin = join(dir, 'bin');
    fakeRsync(bin);
    const log = join(dir, 'argv.log');
    const run = spawnSync('/bin/sh', [failLog], {
      cwd: dir,
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, RSYNC_ARGV_LOG: log },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const root = fromUtf8(watch);
    const dest = '127.0.0.1::tongbu1';
    // What sersync meant (spec §3.8): `rsync P -R ./rel dest`; deletes: `--delete ./`, the include chain, `--exclude=*`.
    const expected = [
      ...names.map((n) => [root, '-artuz', '-R', `./${n}`, dest]),
      ...names.map((n) => [
        root,
        '-artuz',
        '-R',
        '--delete',
        './',
        '--include=gone/',
        ...(n.startsWith('sub dir/') ? ['--include=gone/sub dir/'] : []),
        `--include=gone/${n}`,
        `--include=gone/${n}/***`,
        '--exclude=*',
        dest,
      ]),
    ];
    assert.deepEqual(recordedCalls(log), expected);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('INJECTED')),
      [],
      'nothing in a name was executed',
    );
    assert.deepEqual(
      readdirSync(watch).filter((f) => f.startsWith('INJECTED')),
      [],
    );
  });
});

test('ssh targets get a command rsync accepts: no --password-file, the port for ssh', async () => {
  await inTemp((dir) => {
    const line = command(
      dir,
      { kind: 'sync', path: 'f.txt' },
      {
        ssh: true,
        auth: { users: 'root', passwordFile: '/etc/rsync.pas' },
        port: 874,
        timeoutS: 100,
        remotes: [{ ip: '10.0.0.1', name: 'm1' }],
      },
    );
    assert.equal(
      line,
      `cd /W && rsync -artuz -R  -e 'ssh -p 874'  --timeout=100 "./f.txt" root@10.0.0.1:m1${RED}`,
    );
  });
});

test('a row whose remote left the config is still written, read back from its id', async () => {
  await inTemp((dir) => {
    const config = testConfig(dir, { watch: '/W', failLog: join(dir, 'fail.sh') });
    assert.deepEqual(remoteFor(config, '10.9.9.9::old').target, {
      kind: 'daemon',
      host: '10.9.9.9',
      module: 'old',
    });
    assert.deepEqual(remoteFor(config, '10.9.9.9:/srv/r').target, {
      kind: 'ssh',
      host: '10.9.9.9',
      path: '/srv/r',
    });
    assert.deepEqual(remoteFor(config, '/srv/replica').target, { kind: 'local', path: '/srv/replica' });
  });
});

test('the fail log follows the queue: written on the second failure, emptied on success, mode 0600', async () => {
  await inTemp((dir) => {
    const failLog = join(dir, 'rsync_fail_log.sh');
    const config = testConfig(dir, { watch: '/W', failLog, stateDir: join(dir, 'state') });
    const { store } = openQueueForConfig(config, { stateDirFlag: null, log: silentLogger });
    try {
      assert.equal(readFileSync(failLog, 'latin1'), '', 'an empty queue mirrors as an empty file');
      assert.equal(statSync(failLog).mode & 0o777, 0o600);
      const op: PathOp = { kind: 'sync', path: 'fail1.txt' };
      store.fail(store.begin('127.0.0.1::tongbu1', '/W', [op]), { exitCode: 1, message: '' });
      assert.equal(readFileSync(failLog, 'latin1'), '', 'sersync logged only after the retry failed too');
      store.fail(store.begin('127.0.0.1::tongbu1', '/W', [op]), { exitCode: 1, message: '' });
      assert.equal(
        readFileSync(failLog, 'latin1'),
        `#errno 256\ncd /W && rsync -artuz -R "./fail1.txt" 127.0.0.1::tongbu1${RED}\n\n`,
      );
      assert.equal(statSync(failLog).mode & 0o777, 0o600);
      store.succeed(store.begin('127.0.0.1::tongbu1', '/W', [op]));
      assert.equal(readFileSync(failLog, 'latin1'), '');
    } finally {
      store.close();
    }
  });
});

test('a fail log the queue did not write (sersync’s) is kept aside, never overwritten', async () => {
  await inTemp((dir) => {
    const failLog = join(dir, 'rsync_fail_log.sh');
    const legacy = `#errno 256\ncd /W && rsync -artuz -R "./old.txt" 127.0.0.1::tongbu1${RED}\n\n`;
    writeFileSync(failLog, legacy, { mode: 0o777 });
    const config: Config = testConfig(dir, { watch: '/W', failLog, stateDir: join(dir, 'state') });
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const { store } = openQueueForConfig(config, { stateDirFlag: null, log });
    store.close();
    const kept = readdirSync(dir).filter((f) => f.startsWith('rsync_fail_log.sh.sersync-'));
    assert.equal(kept.length, 1);
    assert.equal(readFileSync(join(dir, kept[0] ?? ''), 'latin1'), legacy);
    assert.equal(readFileSync(failLog, 'latin1'), '');
    assert.match(warnings.join('\n'), /sersync2 migrate .*--fail-log/);

    // Reopening finds its own file and leaves nothing more aside.
    openQueueForConfig(config, { stateDirFlag: null, log }).store.close();
    assert.equal(readdirSync(dir).filter((f) => f.includes('.sersync-')).length, 1);
    assert.ok(!existsSync(`${failLog}.tmp-${process.pid}`));
  });
});

test('paths keep their bytes in the file (non-UTF-8 names are not mangled)', async () => {
  await inTemp((dir) => {
    const config = testConfig(dir, { watch: '/W', failLog: join(dir, 'fail.sh') });
    const name = fromBytes(Buffer.from([0xe9, 0x74, 0xe9, 0x2e, 0x74, 0x78, 0x74]));
    const store = openWorkStore(join(dir, 'q.sqlite'));
    const row = failedRow(store, '127.0.0.1::tongbu1', '/W', { kind: 'sync', path: name }, 1);
    store.close();
    const bytes = renderFailLog(config, [row]);
    assert.ok(bytes.includes(Buffer.concat([Buffer.from('"./'), pathBytes(name), Buffer.from('"')])));
  });
});

test('a fail log that cannot be written is said once, not at every change of the rows, and again only after it was written', async (t) => {
  const unavailable = mountUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  await inTemp((dir) => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'sersync-fail-log', disk]).status, 0);
    const fill = (): void => {
      spawnSync('dd', ['if=/dev/zero', `of=${join(disk, 'filler')}`, 'bs=4k']); // ends with ENOSPC
    };
    const file = join(disk, 'rsync_fail_log.sh');
    const config = testConfig(disk, { watch: '/W', failLog: file });
    const store = openWorkStore(join(dir, 'q.sqlite'));
    const lines: string[] = [];
    const mirror = failLogMirror(
      config,
      () => store,
      pino({ level: 'info' }, { write: (l: string) => lines.push(l) }),
    );
    try {
      fill();
      for (let i = 0; i < 2; i++)
        store.fail(store.begin('127.0.0.1::tongbu1', '/W', [{ kind: 'sync', path: 'a.txt' }]), {
          exitCode: 10,
          message: 'down',
        });
      const said = (text: string): number => lines.filter((l) => l.includes(text)).length;
      assert.equal(mirror.trouble(), null);
      for (let i = 0; i < 5; i++) mirror.update(store.failedAtLeast(2));
      assert.equal(said('could not update the fail log'), 1, 'said once over five changes');
      // shown while it lasts (status, /metrics), since its first failure
      const trouble = mirror.trouble();
      assert.equal(trouble?.file, file);
      assert.match(trouble.error, /ENOSPC/);
      for (let i = 0; i < 2; i++) mirror.update(store.failedAtLeast(2));
      assert.equal(mirror.trouble()?.since, trouble.since);
      rmSync(join(disk, 'filler'));
      mirror.update(store.failedAtLeast(2));
      assert.equal(said('the fail log is written again'), 1);
      assert.equal(mirror.trouble(), null);
      assert.match(readFileSync(file, 'latin1'), /a\.txt/);
      rmSync(file);
      fill();
      mirror.update(store.failedAtLeast(2));
      assert.equal(said('could not update the fail log'), 2, 'said again after it had worked');
    } finally {
      store.close();
      spawnSync('umount', [disk]);
    }
  });
});
