import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PathOp } from '../../src/coalesce/types.js';
import type { Config } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { fromBytes } from '../../src/paths.js';
import { openQueueForConfig } from '../../src/queue/open.js';
import type { QueueRow, QueueStore } from '../../src/queue/types.js';
import { tempDir } from '../helpers/tmp.js';
import { testConfig } from './helpers/config.js';

const CLI = fileURLToPath(new URL('./helpers/cli.js', import.meta.url));
const R1 = '127.0.0.1::tongbu1';
const R2 = '127.0.0.1::backup';

interface Env {
  readonly dir: string;
  readonly config: Config;
  readonly stateDir: string;
  /** Runs the CLI with `-o <config> --state-dir <dir>` appended; stdin is a pipe (not a terminal). */
  cli(args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string };
  open(): QueueStore;
}

async function withEnv(fn: (env: Env) => void): Promise<void> {
  const d = await tempDir();
  try {
    const watch = join(d.path, 'W');
    mkdirSync(watch);
    const config = testConfig(d.path, {
      watch,
      failLog: join(d.path, 'rsync_fail_log.sh'),
      remotes: [
        { ip: '127.0.0.1', name: 'tongbu1' },
        { ip: '127.0.0.1', name: 'backup' },
      ],
    });
    const stateDir = join(d.path, 'state');
    fn({
      dir: d.path,
      config,
      stateDir,
      cli: (args, input = '') => {
        const r = spawnSync(process.execPath, [CLI, ...args, '-o', config.file, '--state-dir', stateDir], {
          input,
          encoding: 'utf8',
          timeout: 20_000,
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      },
      open: () => openQueueForConfig(config, { stateDirFlag: stateDir, log: silentLogger }).store,
    });
  } finally {
    await d.remove();
  }
}

const ODD = fromBytes(Buffer.concat([Buffer.from('bad'), Buffer.from([0xff]), Buffer.from('\nname')]));

/** a: failed twice (exit 10); b: failed once on R2 (exit 5); odd name failed once; c: being sent. */
function seed(env: Env): { a: QueueRow; b: QueueRow; odd: QueueRow; c: QueueRow } {
  const store = env.open();
  const root = env.config.localpaths[0]?.watch ?? '';
  const failOnce = (remote: string, op: PathOp, exitCode: number): void => {
    store.fail(store.begin(remote, root, [op]), { exitCode, message: `rsync error: code ${exitCode}` });
  };
  failOnce(R1, { kind: 'sync', path: 'www/a.txt' }, 10);
  failOnce(R1, { kind: 'sync', path: 'www/a.txt' }, 10);
  failOnce(R2, { kind: 'delete', path: 'img/b', isDir: true }, 5);
  failOnce(R1, { kind: 'sync', path: ODD }, 23);
  store.begin(R1, root, [{ kind: 'sync', path: 'www/c.txt' }]);
  const byPath = new Map(store.list().map((r) => [r.op.path, r]));
  store.close();
  const get = (p: string): QueueRow => {
    const r = byPath.get(p);
    assert.ok(r !== undefined, p);
    return r;
  };
  return { a: get('www/a.txt'), b: get('img/b'), odd: get(ODD), c: get('www/c.txt') };
}

test('queue list: a table, newest failures first, names shown safely; filters; --json', async () => {
  await withEnv((env) => {
    const empty = env.cli(['queue', 'list']);
    assert.equal(empty.status, 0, empty.stderr);
    assert.match(empty.stdout, /the retry queue is empty/);

    const { a, b, odd, c } = seed(env);
    const r = env.cli(['queue', 'list']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +REMOTE +OPERATION +PATH +ATTEMPTS +AGE +NEXT +LAST ERROR$/);
    assert.equal(lines.length, 5, 'a newline in a name does not break the table');
    assert.deepEqual(
      lines.slice(1).map((l) => Number(l.split(/ +/)[0])),
      [odd.id, b.id, a.id, c.id],
    );
    assert.ok(lines[1]?.includes('bad\uFFFD\\nname'), lines[1]);
    assert.match(lines[2] ?? '', new RegExp(`^${b.id} +${R2} +delete dir +img/b +1 .*rsync error: code 5$`));
    assert.match(lines[4] ?? '', / running/);

    const filtered = env.cli(['queue', 'list', '--remote', R1, '--path', 'www/', '--limit', '1', '--json']);
    assert.equal(filtered.status, 0, filtered.stderr);
    const rows = JSON.parse(filtered.stdout) as { id: number; op: { path: string } }[];
    assert.deepEqual(
      rows.map((x) => [x.id, x.op.path]),
      [[a.id, 'www/a.txt']],
    );

    const bad = env.cli(['queue', 'list', '--limit', 'lots']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--limit wants a positive whole number/);
  });
});

test('queue show: one row in full with its sersync command; an unknown id is an error', async () => {
  await withEnv((env) => {
    const { a } = seed(env);
    const r = env.cli(['queue', 'show', String(a.id)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^id: +\d+$/m);
    assert.match(r.stdout, /^attempts: +2$/m);
    assert.match(r.stdout, /^exit code: +10$/m);
    assert.match(r.stdout, /^last error: +rsync error: code 10$/m);
    assert.ok(
      r.stdout.includes(
        `as sersync:    cd ${env.dir}/W && rsync -artuz -R "./www/a.txt" ${R1} >/dev/null 2>&1`,
      ),
    );

    const j = env.cli(['queue', 'show', String(a.id), '--json']);
    const row = JSON.parse(j.stdout) as { remoteId: string; sersyncCommand: string; attempts: number };
    assert.equal(row.remoteId, R1);
    assert.equal(row.attempts, 2);
    assert.match(row.sersyncCommand, /"\.\/www\/a\.txt"/);

    const missing = env.cli(['queue', 'show', '9999']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no queued row 9999/);
  });
});

test('queue stats: counts per remote and exit code, oldest failure', async () => {
  await withEnv((env) => {
    seed(env);
    const r = env.cli(['queue', 'stats', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(stats['inflight'], 1);
    assert.equal(stats['retry'], 3);
    assert.deepEqual(stats['byRemote'], [
      { remoteId: R1, count: 3 },
      { remoteId: R2, count: 1 },
    ]);
    assert.equal(typeof stats['oldestFailureAt'], 'number');
    const text = env.cli(['queue', 'stats']).stdout;
    assert.match(text, /^queued: 4 \(3 waiting to retry, 1 being sent\)$/m);
    assert.match(text, /^ {2}10 {2}1$/m);
  });
});

test('queue retry makes rows due now; it needs ids or --all', async () => {
  await withEnv((env) => {
    const { a, b } = seed(env);
    const before = Date.now();
    const r = env.cli(['queue', 'retry', String(b.id)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^1 row\(s\) due now/);
    let store = env.open();
    assert.ok((store.get(b.id)?.nextAttemptAt ?? Infinity) <= Date.now());
    assert.ok((store.get(a.id)?.nextAttemptAt ?? 0) > before + 5000, 'other rows keep their back-off');
    store.close();

    assert.equal(env.cli(['queue', 'retry']).status, 1);
    assert.match(env.cli(['queue', 'retry', '--all', '3']).stderr, /not both/);
    assert.match(env.cli(['queue', 'retry', '777']).stderr, /no queued row 777/);

    assert.match(env.cli(['queue', 'retry', '--all', '--json']).stdout, /"due": 3/);
    store = env.open();
    assert.equal(store.due(Date.now(), 100).length, 3);
    store.close();
  });
});

test('queue drop refuses without a terminal unless --yes, and the fail log follows', async () => {
  await withEnv((env) => {
    const { a, b } = seed(env);
    const failLog = env.config.failLog.path;
    assert.match(readFileSync(failLog, 'latin1'), /^#errno 2560\n.*"\.\/www\/a\.txt"/);

    const refused = env.cli(['queue', 'drop', String(a.id)]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /refusing to drop 1 queued row\(s\) without --yes/);
    let store = env.open();
    assert.ok(store.get(a.id) !== null, 'nothing dropped');
    store.close();

    const dropped = env.cli(['queue', 'drop', String(a.id), String(b.id), '--yes']);
    assert.equal(dropped.status, 0, dropped.stderr);
    assert.match(dropped.stdout, /dropped 2 row\(s\)/);
    store = env.open();
    assert.equal(store.get(a.id), null);
    assert.equal(store.get(b.id), null);
    assert.equal(store.stats().retry + store.stats().inflight, 2);
    store.close();
    assert.equal(readFileSync(failLog, 'latin1'), '', 'the dropped row left the fail log');
  });
});

/** Runs the CLI under a pseudo-terminal and answers its question with `answer`. */
const PTY_DRIVER = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
buf, sent = b'', False
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    buf += data
    if not sent and b'[y/N]' in buf:
        os.write(fd, os.environ['ANSWER'].encode() + b'\\n')
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(buf)
sys.exit(os.waitstatus_to_exitcode(status))
`;

test('queue drop asks on a terminal and drops only on yes', async () => {
  await withEnv((env) => {
    const { a } = seed(env);
    const onTerminal = (answer: string): string => {
      const r = spawnSync(
        'python3',
        [
          '-c',
          PTY_DRIVER,
          process.execPath,
          CLI,
          'queue',
          'drop',
          String(a.id),
          '-o',
          env.config.file,
          '--state-dir',
          env.stateDir,
        ],
        { env: { ...process.env, ANSWER: answer }, encoding: 'utf8', timeout: 20_000 },
      );
      assert.equal(r.status, 0, r.stderr + r.stdout);
      return r.stdout;
    };
    assert.match(onTerminal('n'), /Drop 1 queued row\(s\) for good\?[\s\S]*nothing dropped/);
    let store = env.open();
    assert.ok(store.get(a.id) !== null);
    store.close();
    assert.match(onTerminal('y'), /dropped 1 row\(s\)/);
    store = env.open();
    assert.equal(store.get(a.id), null);
    store.close();
  });
});
