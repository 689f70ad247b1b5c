/**
 * Operating the real sersync2 against a real rsync daemon: -d and its pid file, SIGTERM, SIGHUP,
 * one instance per config, `sersync2 status`, `sersync2 resync` and /metrics.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { packageVersion } from '../../src/version.js';
import { disposeRsyncDaemon, freePort, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { sersyncConfigXml, startSersync, writeConfig, type SersyncConfigSpec } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, treeDiff } from '../helpers/trees.js';
import { daemonFiles, isRunning, runCli, stopDetached } from './cli-run.js';
import { parsePrometheusText } from './prometheus-text.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon({ extraModules: ['second'] });
  work = await tempDir('sersync-daemon-e2e-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

interface Setup {
  readonly base: string;
  readonly src: string;
  readonly config: string;
  readonly state: string;
  /** Writes the config again with these changes (same file). */
  rewrite(spec: Partial<SersyncConfigSpec>, edit?: (xml: string) => string): void;
}

let runs = 0;
function setup(edit: (xml: string) => string = (x) => x): Setup {
  const base = join(work.path, `run${++runs}`);
  const src = join(base, 'W');
  mkdirSync(src, { recursive: true });
  for (const m of [daemon.module, 'second']) clearDir(daemon.moduleDir(m));
  const spec: SersyncConfigSpec = { watch: src, daemons: [daemon], failLog: join(base, 'fail.sh') };
  const config = writeConfig(base, edit(sersyncConfigXml(spec)));
  return {
    base,
    src,
    config,
    state: join(base, 'state'),
    rewrite: (more, edit2 = (x) => x) => writeConfig(base, edit2(sersyncConfigXml({ ...spec, ...more }))),
  };
}

function clearDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** Each test starts real processes; none may hang the suite. */
const E2E = { timeout: 90_000 };

const onReplica = (name: string, module = daemon.module): string => join(daemon.moduleDir(module), name);

async function status(s: Setup): Promise<DaemonStatus> {
  const r = await runCli(['status', '--json', '-o', s.config, '--state-dir', s.state]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DaemonStatus;
}

test(
  '-d: returns once watching; pid file; one instance per config; SIGTERM stops it cleanly and loses nothing',
  E2E,
  async () => {
    const s = setup();
    const started = await runCli(['-d', '-o', s.config, '--state-dir', s.state]);
    assert.equal(started.code, 0, started.stderr);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    try {
      // the parent has returned: the child is watching already
      writeFileSync(join(s.src, 'first.txt'), 'written right after -d returned');
      await eventually(() => existsSync(onReplica('first.txt')), 10_000, 'first.txt on the replica');

      const files = daemonFiles(s.state, s.config);
      assert.equal(readFileSync(files.pid, 'utf8'), `${pid}\n`);
      assert.ok(isRunning(pid));

      for (const args of [['-d'], []]) {
        const second = await runCli([...args, '-o', s.config, '--state-dir', s.state]);
        assert.equal(second.code, 1, `second instance ${args.join(' ')}`);
        assert.match(second.stderr, new RegExp(`another sersync2 \\(pid ${pid}\\) is already running for`));
        assert.equal(readFileSync(files.pid, 'utf8'), `${pid}\n`, 'the pid file still names the first');
      }

      mkdirSync(join(s.src, 'burst'));
      for (let i = 0; i < 300; i++) writeFileSync(join(s.src, 'burst', `f${i}`), `file ${i}`);
      await stopDetached(pid);
      assert.equal(existsSync(files.pid), false, 'the pid file is removed');
      assert.match(readFileSync(files.log, 'utf8'), /"msg":"stopped"/);
    } finally {
      await stopDetached(pid);
    }
    // what was still pending at the stop reaches the replica after the next start
    const again = await startSersync(s.config, [], s.state);
    try {
      await eventually(() => treeDiff(s.src, daemon.dir) === '', 20_000, 'convergence after restart');
    } finally {
      assert.equal(await again.stop(), 0);
    }
  },
);

test('-d with a broken config: the error on stderr, a non-zero exit, nothing left running', E2E, async () => {
  const s = setup();
  writeFileSync(
    s.config,
    '<?xml version="1.0"?>\n<head version="2.5">\n  <host hostip="x" port="8008">\n</head>\n',
  );
  const r = await runCli(['-d', '-o', s.config, '--state-dir', s.state]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`${s.config.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  assert.equal(existsSync(daemonFiles(s.state, s.config).pid), false);
});

test(
  'status --json counts a known workload; /metrics agrees; resync sends what the watcher never saw',
  E2E,
  async () => {
    const port = await freePort();
    const s = setup((xml) =>
      xml
        .replace(
          '<host hostip="localhost" port="8008"></host>',
          `<host hostip="127.0.0.1" port="${port}" metrics="true"/>`,
        )
        .replace('<crontab start="false" schedule="600">', '<crontab start="true" schedule="600">'),
    );
    writeFileSync(join(s.src, 'before-start.txt'), 'written before sersync2 started, without -r');
    const proc = await startSersync(s.config, [], s.state);
    try {
      const s0 = await status(s);
      assert.equal(s0.pid, proc.child.pid);
      assert.equal(s0.version, packageVersion());
      assert.equal(s0.configFile, s.config);
      assert.deepEqual(s0.trees, [
        {
          root: s.src,
          watching: true,
          watcher: 'inotify',
          directories: 1,
          degraded: [],
          unwatchedDirectories: 0,
          gaps: [],
          resolvedRoot: s.src,
          rootSwitches: 0,
          watcherRestarts: 0,
          lastWatcherRestart: null,
          sharedFileSystems: [],
          events: 0,
          pending: 0,
        },
      ]);
      assert.equal(s0.pool.maxConcurrent, 10, '-n absent means 10');
      assert.equal(s0.fullSync.lastAt, null);
      const next = (s0.fullSync.nextAt ?? 0) - s0.startedAt;
      assert.ok(next >= 600 * 60_000 && next <= 601 * 60_000, `next full sync in 600 min, not ${next} ms`);
      const remote = `127.0.0.1::${daemon.module}`;
      assert.deepEqual(
        s0.remotes.map((r) => [r.remote, r.rsyncRuns, r.queuedRetries, r.lastSuccessAt]),
        [[remote, 0, 0, null]],
      );

      const N = 4;
      for (let i = 0; i < N; i++) {
        writeFileSync(join(s.src, `f${i}.bin`), randomBytes(3000));
        await eventually(() => existsSync(onReplica(`f${i}.bin`)), 10_000, `f${i}.bin on the replica`);
      }
      await eventually(async () => (await status(s)).remotes[0]?.inFlight === 0, 5000, 'the lane to settle');
      const s1 = await status(s);
      const [r1] = s1.remotes;
      assert.ok(r1 !== undefined);
      assert.equal(r1.filesSent, N);
      assert.equal(r1.rsyncRuns, N);
      assert.ok(r1.bytesSent >= N * 3000, `${r1.bytesSent} bytes sent`);
      assert.equal(r1.failedBatches, 0);
      assert.equal(r1.lastFailureAt, null);
      assert.ok((r1.lastSuccessAt ?? 0) >= s0.now);
      assert.equal(s1.pool.started, N);
      assert.ok((s1.trees[0]?.events ?? 0) >= N);

      const metrics = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      const sample = (name: string): number | undefined =>
        metrics.get(name)?.samples.find((x) => x.labels['root'] === s.src && x.labels['remote'] === remote)
          ?.value;
      assert.equal(sample('sersync_files_sent_total'), N);
      assert.equal(sample('sersync_rsync_runs_total'), N);
      assert.equal(sample('sersync_retry_queue_operations'), 0);
      const viaHttp = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as DaemonStatus;
      assert.equal(viaHttp.pid, proc.child.pid);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);

      const human = await runCli(['status', '-o', s.config, '--state-dir', s.state]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, new RegExp(`pid ${proc.child.pid}`));
      assert.match(human.stdout, new RegExp(`^${s.src}\\s+yes\\s+1\\s+`, 'm'));

      assert.equal(existsSync(onReplica('before-start.txt')), false, 'not seen by the watcher');
      const unknown = await runCli([
        'resync',
        '--root',
        '/no/such/tree',
        '-o',
        s.config,
        '--state-dir',
        s.state,
      ]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /\/no\/such\/tree is not a watched tree/);
      const resync = await runCli(['resync', '-o', s.config, '--state-dir', s.state, '--root', `${s.src}/`]);
      assert.equal(resync.code, 0, resync.stderr);
      assert.equal(resync.stdout, `full sync queued: ${s.src}\n`);
      await eventually(
        () => existsSync(onReplica('before-start.txt')),
        10_000,
        'before-start.txt after resync',
      );
      await eventually(
        async () => (await status(s)).fullSync.lastAt !== null,
        5000,
        'the full sync recorded',
      );
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  },
);

test(
  'SIGHUP: a broken config is logged and the running one stays; a new remote is synced to',
  E2E,
  async () => {
    const s = setup();
    const proc = await startSersync(s.config, [], s.state);
    try {
      writeFileSync(join(s.src, 'a.txt'), 'a');
      await eventually(() => existsSync(onReplica('a.txt')), 10_000, 'a.txt');

      const good = readFileSync(s.config, 'latin1');
      writeFileSync(s.config, good.replace('<sersync>', '<sersync><localpath>'), 'latin1');
      proc.child.kill('SIGHUP');
      await eventually(() => /reload refused/.test(proc.stderr()), 10_000, 'the refusal in the log');
      const refusal =
        proc
          .stderr()
          .split('\n')
          .find((l) => l.includes('reload refused')) ?? '';
      assert.match(refusal, new RegExp(`${s.config.replace(/[.]/g, '\\.')}:\\d+:\\d+`), 'file:line:column');
      writeFileSync(join(s.src, 'b.txt'), 'b');
      await eventually(() => existsSync(onReplica('b.txt')), 10_000, 'b.txt with the old config');
      const refused = await status(s);
      assert.equal(refused.reloads, 0);
      assert.match(
        refused.reloadRefused?.error ?? '',
        /:\d+:\d+/,
        'status says the reload was refused, and where',
      );

      // a config that loads but cannot start (a local replica under a regular file): the old one comes back
      writeFileSync(join(s.base, 'a-file'), '');
      s.rewrite({ localTargets: [join(s.base, 'a-file', 'replica')] });
      proc.child.kill('SIGHUP');
      await eventually(() => /going back to the previous one/.test(proc.stderr()), 10_000, 'the fallback');
      await eventually(
        () => /"msg":"watching 1 directories under/.test(proc.stderr()),
        10_000,
        'watching again',
      );
      writeFileSync(join(s.src, 'b2.txt'), 'b2');
      await eventually(() => existsSync(onReplica('b2.txt')), 10_000, 'b2.txt with the old config restarted');
      assert.match((await status(s)).reloadRefused?.error ?? '', /^cannot start on it: /);

      s.rewrite({ modules: ['second'] });
      proc.child.kill('SIGHUP');
      await eventually(() => /config reloaded/.test(proc.stderr()), 10_000, 'the reload');
      assert.equal((await status(s)).reloadRefused, null, 'a reload that took effect clears it');
      writeFileSync(join(s.src, 'c.txt'), 'c');
      await eventually(() => existsSync(onReplica('c.txt', 'second')), 10_000, 'c.txt on the new remote');
      await eventually(() => existsSync(onReplica('c.txt')), 10_000, 'c.txt on the first remote');
      await eventually(
        () => treeDiff(s.src, daemon.moduleDir('second')) === '',
        10_000,
        'the new remote resynced',
      );
      const st = await status(s);
      assert.equal(st.reloads, 1);
      assert.deepEqual(
        st.remotes.map((r) => r.remote),
        [`127.0.0.1::${daemon.module}`, '127.0.0.1::second'],
      );
      assert.ok((st.remotes[0]?.filesSent ?? 0) >= 3, 'counters from before the reload are kept');
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  },
);

test('status and resync without a running daemon: exit 1 and what to run instead', E2E, async () => {
  const s = setup();
  const st = await runCli(['status', '-o', s.config, '--state-dir', s.state]);
  assert.equal(st.code, 1);
  assert.match(st.stderr, new RegExp(`no sersync2 is running for ${s.config}.*sersync2 -d -o ${s.config}`));
  const rs = await runCli(['resync', '-o', s.config, '--state-dir', s.state]);
  assert.equal(rs.code, 1);
  assert.match(rs.stderr, new RegExp(`no sersync2 is running for .*sersync2 -r -o ${s.config}`));
});
