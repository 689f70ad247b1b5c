/**
 * `sersync2 -r` end to end (reference §3.9, G20, G21; §5 #4 and #13): the real CLI, a real rsync
 * daemon, a replica that differs from the source. What must never reach the replica is checked in
 * the daemon's transfer log as well as on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { shellWord } from '../../src/queue/fail-log.js';
import { converged, useLab, type RunOptions } from '../helpers/lab.js';
import { CLI, sersyncConfigXml, writeConfig, type SersyncProcess } from '../helpers/sersync.js';
import { eventually, treeDiff } from '../helpers/trees.js';
import { drawnPieces, populate } from './helpers.js';

const lab = useLab('sersync-fullsync-', { extraModules: ['second'] });

type Files = Readonly<Record<string, string>>;

function write(root: string, files: Files, mtime?: Date): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    if (mtime !== undefined) utimesSync(file, mtime, mtime);
  }
}

/** Every file below `root` with its content. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile())
      out[join(e.parentPath, e.name).slice(root.length + 1)] = readFileSync(
        join(e.parentPath, e.name),
        'latin1',
      );
  }
  return out;
}

/** The JSON log lines sersync2 wrote to stderr (no terminal). */
function logEntries(proc: SersyncProcess): Record<string, unknown>[] {
  return proc
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const HOUR_AGO = new Date(Date.now() - 3_600_000);
/** The source; `sub/b.txt` differs from the replica's (older, so `-u` lets it be replaced). */
const SOURCE: Files = {
  'a.txt': 'same',
  'sub/b.txt': 'new content',
  'sub/deep/c.txt': 'missing on the replica',
  'quote"d name.txt': 'q',
  '-leading dash': 'd',
};
const REPLICA_SAME: Files = { 'a.txt': 'same' };
const REPLICA_CHANGED: Files = { 'sub/b.txt': 'old content' };
const REPLICA_EXTRA: Files = { 'extra.txt': 'only on the replica', 'gone/dir/x': 'x' };

/**
 * A source tree and a replica prepared by `setup`, then `sersync2 ARGS` on a config made from
 * sersync's shipped file; `body` runs while it replicates, and it must stop cleanly.
 */
const withSersync = (
  opts: Omit<RunOptions, 'setup'>,
  setup: (src: string, replica: string) => void,
  body: (
    src: string,
    replica: string,
    proc: SersyncProcess,
    received: () => Promise<string[]>,
    base: string,
  ) => Promise<void>,
): Promise<void> =>
  lab.withSersync({ ...opts, setup }, (run) => body(run.src, run.replica, run.proc, run.received, run.base));

/** Resolves once the first remote's full sync has been batched and settled (its `synced` log line). */
async function fullSyncDone(proc: SersyncProcess): Promise<void> {
  await eventually(
    () => logEntries(proc).some((e) => e.msg === 'synced' || e.msg === 'sync failed, queued for retry'),
    20_000,
    'the full sync to end',
  );
}

/** Turns on sersync's crontab (every 600 minutes, so it never fires here) with these crontab-filter globs. */
function crontabFilter(globs: readonly string[]): (xml: string) => string {
  return (xml) =>
    xml
      .replace('<crontab start="false"', '<crontab start="true"')
      .replace(
        /<crontabfilter start="false">[\s\S]*?<\/crontabfilter>/,
        `<crontabfilter start="true">${globs.map((g) => `<exclude expression="${g}"></exclude>`).join('')}</crontabfilter>`,
      );
}

test('-r with inotify/delete on: the replica becomes the source (extra files removed), after the banner sersync printed (G20)', async () => {
  await withSersync(
    { args: ['-r'] },
    (src, replica) => {
      write(src, SOURCE);
      write(replica, { ...REPLICA_SAME, ...REPLICA_CHANGED, ...REPLICA_EXTRA }, HOUR_AGO);
    },
    async (src, replica, proc) => {
      await converged(src, replica);
      const out = proc.stdout();
      const banner = out.indexOf('rsync the directory recursivly to the remote servers once');
      const command = /^execute command: cd (\S+) && rsync (.*)$/m.exec(out);
      assert.ok(banner >= 0 && command !== null, out);
      assert.equal(command[1], src);
      assert.match(command[2] ?? '', /-artuz .*-R -r --delete .*\.\/ syncuser@127\.0\.0\.1::replica$/);
      assert.ok(banner < out.indexOf('run the sersync:'), 'the banner comes before sersync watches');
      assert.equal(existsSync(join(replica, 'gone')), false);
      assert.equal(
        logEntries(proc).some((e) => String(e.msg).startsWith('-r with the filter on')),
        false,
        'the filter note only when the filter is on',
      );
    },
  );
});

test('-r with inotify/delete off: missing and changed files are sent, nothing is removed', async () => {
  await withSersync(
    { args: ['-r'], spec: { inotify: { delete: false } } },
    (src, replica) => {
      write(src, SOURCE);
      write(replica, { ...REPLICA_SAME, ...REPLICA_CHANGED, ...REPLICA_EXTRA }, HOUR_AGO);
    },
    async (src, replica, proc) => {
      await eventually(() => existsSync(join(replica, 'sub/deep/c.txt')), 20_000, 'the missing file');
      await fullSyncDone(proc);
      assert.deepEqual(snapshot(replica), { ...SOURCE, ...REPLICA_EXTRA });
      assert.doesNotMatch(proc.stdout(), /^execute command: .*--delete/m);
    },
  );
});

test('-r with the realtime filter on (G21): runs, says why, and excluded paths are neither sent nor deleted', async () => {
  const EXCLUDED_LOCAL: Files = { 'x.gz': 'source gz', 'sub/y.gz': 'y', 'info/i1': 'i' };
  await withSersync(
    { args: ['-r'], spec: { filter: ['(.*)\\.gz', '^info/*'] } },
    (src, replica) => {
      write(src, { ...SOURCE, ...EXCLUDED_LOCAL });
      write(replica, {
        'x.gz': 'replica gz', // on both sides, excluded: the replica's copy is left alone
        'info/r1': 'r', // below an excluded directory that exists at the source: protected
        'only-replica.gz': 'o', // excluded name, but only on the replica
        ...REPLICA_EXTRA,
      });
    },
    async (src, replica, proc, received) => {
      await eventually(() => existsSync(join(replica, 'sub/deep/c.txt')), 20_000, 'the missing file');
      await fullSyncDone(proc);
      const why = logEntries(proc).filter((e) =>
        /^-r with the filter on: sersync skipped/.test(String(e.msg)),
      );
      assert.equal(why.length, 1, proc.stderr());
      // rsync has no regular expressions: the exclusions are the paths a walk of the *source* finds
      // excluded, passed to rsync one by one. A replica-only file matches nothing there, so --delete
      // removes it like any other file the source does not have. Use the crontab filter (rsync
      // globs, which protect on the receiving side too) to keep such files; see the next test.
      assert.deepEqual(snapshot(replica), { ...SOURCE, 'x.gz': 'replica gz', 'info/r1': 'r' });
      assert.deepEqual(
        (await received()).filter((p) => p.endsWith('.gz') || p.startsWith('info')),
        [],
        'no excluded path reached the daemon',
      );
    },
  );
});

test('-r with a crontab filter: its rsync globs also protect files that exist only on the replica', async () => {
  await withSersync(
    { args: ['-r'], spec: { filter: ['(.*)\\.gz'] }, xml: crontabFilter(['*.gz']) },
    (src, replica) => {
      write(src, { ...SOURCE, 'x.gz': 'source gz' });
      write(replica, { 'only-replica.gz': 'o', 'sub/only.gz': 'o2', ...REPLICA_EXTRA });
    },
    async (src, replica, proc) => {
      await eventually(() => existsSync(join(replica, 'sub/deep/c.txt')), 20_000, 'the missing file');
      await fullSyncDone(proc);
      assert.match(proc.stdout(), /^execute command: .* '--exclude=\*\.gz' .*$/m);
      assert.deepEqual(snapshot(replica), { ...SOURCE, 'only-replica.gz': 'o', 'sub/only.gz': 'o2' });
    },
  );
});

for (const [what, watch] of [
  ['a watch root that does not exist (a typo)', (base: string) => join(base, 'typo-W')],
  ['an empty watch root (an unmounted disk)', (base: string) => join(base, 'empty-W')],
] as const) {
  test(`-r with delete from ${what} is refused, the error names the root, the replica is intact`, async () => {
    const REPLICA: Files = { ...REPLICA_SAME, ...REPLICA_EXTRA, 'sub/b.txt': 'b' };
    await withSersync(
      {
        args: ['-r'],
        watch: (base) => {
          const w = watch(base);
          if (w.endsWith('empty-W')) mkdirSync(w);
          return w;
        },
      },
      (_src, replica) => {
        write(replica, REPLICA);
      },
      async (root, replica, proc, _received, base) => {
        await eventually(
          () => logEntries(proc).some((e) => e.level === 50 && /^refusing a full sync/.test(String(e.msg))),
          20_000,
          'the refusal',
        );
        const status = spawnSync(
          process.execPath,
          [CLI, 'status', '--json', '-o', join(base, 'confxml.xml'), '--state-dir', join(base, 'state')],
          { encoding: 'utf8' },
        );
        assert.equal(status.status, 0, status.stderr);
        const remote = (JSON.parse(status.stdout) as DaemonStatus).remotes.at(0);
        assert.ok(remote !== undefined);
        assert.equal(remote.lastSuccessAt, null, 'a refused full sync is no success');
        assert.match(
          remote.lastError ?? '',
          /^refusing a full sync with --delete: the watched directory is missing or empty/,
        );
        assert.notEqual(remote.lastFailureAt, null);
        const refusal = logEntries(proc).find((e) => e.level === 50);
        assert.ok(refusal !== undefined);
        assert.equal(refusal.root, root);
        assert.match(String(refusal.msg), /missing or empty; the replica is left as it is/);
        assert.deepEqual(snapshot(replica), REPLICA);
        assert.deepEqual(readdirSync(root), [], 'a missing root is created, empty: sersync2 then watches it');
        // Files that appear later are replicated as changes; nothing is deleted for them.
        writeFileSync(join(root, 'later.txt'), 'later');
        await eventually(() => existsSync(join(replica, 'later.txt')), 20_000, 'a later change');
        assert.deepEqual(snapshot(replica), { ...REPLICA, 'later.txt': 'later' });
        const synced = logEntries(proc).filter((e) => e.msg === 'synced');
        assert.ok(
          synced.every((e) => Number(e.rsyncRuns) > 0),
          'the refused full sync is not also reported as synced',
        );
      },
    );
  });
}

test('-r: changes made while the full sync runs are replicated too (the watches are set first)', async () => {
  let files = 0;
  await withSersync(
    { args: ['-r'] },
    (src) => {
      files = populate(src, 20, 100).files;
    },
    async (src, replica, _proc, received) => {
      await eventually(async () => (await received()).length > 0, 20_000, 'the full sync to start');
      writeFileSync(join(src, 'during.txt'), 'written during the full sync');
      writeFileSync(join(src, 'd0/f0'), 'changed during the full sync'); // sent early by the full sync
      rmSync(join(src, 'd19/f99')); // not sent yet
      mkdirSync(join(src, 'new-dir'));
      writeFileSync(join(src, 'new-dir/n'), 'n');
      const sentSoFar = (await received()).length;
      assert.ok(sentSoFar < files, `the full sync was still running (${sentSoFar} of ${files} sent)`);
      await converged(src, replica);
    },
  );
});

test('on a terminal, -r draws a bar per remote with files, bytes, rate and ETA; log lines go above the bars', async () => {
  const base = join(lab.work, 'terminal');
  const src = join(base, 'W');
  mkdirSync(src, { recursive: true });
  for (const dir of [lab.daemon.dir, lab.daemon.moduleDir('second')]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
  }
  const tree = populate(src, 10, 100);
  const file = writeConfig(
    base,
    sersyncConfigXml({
      watch: src,
      daemons: [lab.daemon],
      modules: ['second'],
      failLog: join(base, 'fail.sh'),
    }),
  );
  const pidFile = join(base, 'sersync2.pid');
  const argv = [
    process.execPath,
    CLI,
    '-r',
    '-o',
    file,
    '--state-dir',
    join(base, 'state'),
    '--pid-file',
    pidFile,
  ];
  // script(1) gives sersync2 a pseudo-terminal; the words are quoted for its `sh -c`.
  const child = spawn('script', ['-qec', argv.map(shellWord).join(' '), '/dev/null'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => {
    out += c;
  });
  const exited = once(child, 'exit');
  try {
    await eventually(() => (out.match(/INFO +synced/g) ?? []).length === 2, 30_000, 'both full syncs');
  } finally {
    await eventually(() => existsSync(pidFile), 10_000, 'the pid file');
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, out);
  }
  assert.equal(treeDiff(src, lab.daemon.dir), '');
  assert.equal(treeDiff(src, lab.daemon.moduleDir('second')), '');
  const drawn = drawnPieces(out);
  const done = `100% | ${tree.entries}/${tree.entries} files | ${tree.files} sent, `;
  for (const remote of ['127.0.0.1::replica', '127.0.0.1::second']) {
    const bar = drawn.find((l) => l.includes(done) && l.includes(`${src} -> ${remote}`));
    assert.ok(bar !== undefined, `the final bar of ${remote}:\n${out}`);
    assert.match(bar, /^\[=+\] 100% \| .* sent, [\d.]+ KiB \| [\d.]+ [KM]?i?B\/s \| ETA \d+s \| /);
  }
  assert.deepEqual(
    drawn.filter((l) => l.includes(' files |') && l.includes('INFO')),
    [],
    'no log line drawn into a bar',
  );
});
