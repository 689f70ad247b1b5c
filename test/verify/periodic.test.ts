/**
 * The daemon's periodic verify (`<verify start="true">`): real rsync against a local replica;
 * its last result reaches the status snapshot and /metrics, and drift shows there. And the
 * verify's progress bar on a terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import { renderMetrics } from '../../src/daemon/metrics.js';
import { statusText } from '../../src/daemon/status-text.js';
import { buildStatus } from '../../src/daemon/status.js';
import { silentLogger } from '../../src/log/logger.js';
import { ProgressBars } from '../../src/sync/progress-bars.js';
import { PeriodicVerify } from '../../src/verify/periodic.js';
import { verifyLane } from '../../src/verify/verify.js';
import { inputs } from '../daemon/status-fixture.js';
import { parsePrometheusText } from '../daemon/prometheus-text.js';
import { daemonRemote, testConfig } from '../helpers/config.js';
import { disposeRsyncDaemon, startRsyncDaemon } from '../helpers/rsyncd.js';
import { eventually, writeAlike } from '../helpers/trees.js';
import { tempDir } from '../helpers/tmp.js';

test('<verify start schedule> is read, off and daily by default', async () => {
  const dir = await tempDir('sersync-verify-conf-');
  try {
    const xml = (extra: string): string =>
      `<?xml version="1.0"?><head version="2.5">${extra}<sersync><localpath watch="${dir.path}/w"><remote path="/tmp/r"/></localpath></sersync></head>`;
    writeFileSync(join(dir.path, 'a.xml'), xml(''));
    writeFileSync(join(dir.path, 'b.xml'), xml('<verify start="true" schedule="60"/>'));
    assert.deepEqual(loadConfig(join(dir.path, 'a.xml')).verify, { enabled: false, scheduleMinutes: 1440 });
    assert.deepEqual(loadConfig(join(dir.path, 'b.xml')).verify, { enabled: true, scheduleMinutes: 60 });
    writeFileSync(join(dir.path, 'c.xml'), xml('<verify start="true" schedule="0"/>'));
    assert.throws(() => loadConfig(join(dir.path, 'c.xml')), /schedule/);
  } finally {
    await dir.remove();
  }
});

test('the periodic verify reports drift in status and /metrics', async () => {
  const dir = await tempDir('sersync-verify-periodic-');
  const src = join(dir.path, 'src');
  const replica = join(dir.path, 'replica');
  mkdirSync(src);
  mkdirSync(replica);
  writeFileSync(join(src, 'only-in-tree.txt'), 'x');
  const config = testConfig([
    { watch: src, remotes: [{ id: replica, target: { kind: 'local', path: replica } }] },
  ]);
  const periodic = new PeriodicVerify({
    config,
    outstanding: () => [],
    log: silentLogger,
    intervalMs: 20,
    recheckMs: 10,
  });
  try {
    assert.equal(renderMetrics(buildStatus(inputs())).includes('sersync_verify'), false, 'off: no series');
    periodic.start();
    // A path changed within the verify's own run counts as pending: the next runs see it as drift.
    await eventually(() => periodic.status().lanes[0]?.driftPaths === 1, 20_000, 'the drift');
    const metrics = (): ReturnType<typeof parsePrometheusText> =>
      parsePrometheusText(renderMetrics(buildStatus(inputs({ verify: periodic.status() }))));
    const drift = metrics().get('sersync_verify_drift_paths')?.samples;
    assert.deepEqual(drift, [
      { name: 'sersync_verify_drift_paths', labels: { root: src, remote: replica }, value: 1 },
    ]);
    assert.deepEqual(periodic.status().lanes[0]?.first, { missing: ['only-in-tree.txt'] });
    const success = metrics().get('sersync_verify_last_success_timestamp_seconds')?.samples[0]?.value;
    assert.ok(success !== undefined && success > 0);

    rmSync(join(src, 'only-in-tree.txt'));
    await eventually(() => periodic.status().lanes[0]?.driftPaths === 0, 20_000, 'drift gone');
    assert.equal(metrics().get('sersync_verify_drift_paths')?.samples[0]?.value, 0);
    assert.equal(metrics().get('sersync_verify_seconds_window')?.samples[0]?.value, 0, 'to the nanosecond');
    assert.equal(metrics().get('sersync_verify_extras_unlisted')?.samples[0]?.value, 0, 'extras listed');
  } finally {
    await periodic.stop();
    await dir.remove();
  }
});

test('on a terminal the verify draws a progress bar per tree and remote, as -r does', async () => {
  const dir = await tempDir('sersync-verify-bar-');
  try {
    const src = join(dir.path, 'src');
    const replica = join(dir.path, 'replica');
    mkdirSync(src);
    mkdirSync(replica);
    for (let i = 0; i < 20; i++) writeFileSync(join(src, `f${i}`), 'x');
    let drawn = '';
    const terminal = new Writable({
      write(chunk: Buffer, _enc, done) {
        drawn += chunk.toString();
        done();
      },
    });
    Object.assign(terminal, { isTTY: true, columns: 200 });
    const config = testConfig([
      { watch: src, remotes: [{ id: replica, target: { kind: 'local', path: replica } }] },
    ]);
    const verdict = await verifyLane(src, config.localpaths[0]?.remotes[0] ?? assert.fail(), {
      config,
      checksum: false,
      pending: () => Promise.resolve(null),
      recheckMs: 0,
      progress: new ProgressBars(terminal as unknown as NodeJS.WriteStream),
    });
    assert.equal(verdict.error, null);
    assert.ok(drawn.includes(`${src} -> ${replica}`), drawn);
    assert.match(drawn, /100% \| 21\/21 files/);
  } finally {
    await dir.remove();
  }
});

test(
  'stopping the daemon kills a periodic verify in progress instead of waiting for it',
  { timeout: 60_000 },
  async () => {
    const dir = await tempDir('sersync-verify-stop-');
    // A "remote" that accepts the connection and never answers: rsync would wait for its --timeout.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const base = testConfig([
        {
          watch: dir.path,
          remotes: [{ id: '127.0.0.1::m', target: { kind: 'daemon', host: '127.0.0.1', module: 'm' } }],
        },
      ]);
      const config = { ...base, rsync: { ...base.rsync, port } };
      const periodic = new PeriodicVerify({
        config,
        outstanding: () => [],
        log: silentLogger,
        intervalMs: 10,
      });
      periodic.start();
      await eventually(() => sockets.length > 0, 20_000, 'rsync connected');
      const started = performance.now();
      await periodic.stop();
      assert.ok(performance.now() - started < 5000, 'stop() did not wait for rsync');
      assert.equal(periodic.status().lastRunAt, null, 'a verify cut short is not a result');
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      await dir.remove();
    }
  },
);

/**
 * One periodic verify of a tree holding `a.txt` against a real daemon whose module has
 * `moduleLines`, its replica holding `a.txt` and `replicaOnly`: the status text and the /metrics
 * sample `metric` of the lane, once it compared them.
 */
async function periodicAgainst(
  moduleLines: readonly string[],
  replicaOnly: readonly string[],
  metric: string,
): Promise<{
  text: string;
  sample: unknown;
  drift: number | null | undefined;
  lane: Record<string, string>;
}> {
  const daemon = await startRsyncDaemon({ moduleLines });
  const dir = await tempDir('sersync-verify-policy-');
  writeAlike([dir.path, daemon.dir], 'a.txt', 'x');
  for (const name of replicaOnly) writeFileSync(join(daemon.dir, name), 'kept by the replica');
  const periodic = new PeriodicVerify({
    config: testConfig([{ watch: dir.path, remotes: [daemonRemote(daemon)] }], { daemon }),
    outstanding: () => [],
    log: silentLogger,
    intervalMs: 20,
  });
  try {
    periodic.start();
    await eventually(() => periodic.status().lastSuccessAt !== null, 20_000, 'a verify');
    const status = buildStatus(inputs({ verify: periodic.status() }));
    const metrics = parsePrometheusText(renderMetrics(status));
    return {
      text: statusText(status),
      sample: metrics.get(metric)?.samples,
      drift: metrics.get('sersync_verify_drift_paths')?.samples[0]?.value,
      lane: { root: dir.path, remote: daemonRemote(daemon).id },
    };
  } finally {
    await periodic.stop();
    await dir.remove();
    await disposeRsyncDaemon(daemon);
  }
}

test('a periodic verify against a daemon refusing --modify-window says, in status and /metrics, that it compared to the second', async () => {
  const metric = 'sersync_verify_seconds_window';
  const seen = await periodicAgainst(['refuse options = modify-window'], [], metric);
  assert.match(
    seen.text,
    /^verify: .*1 compared to the second \(the remote refuses the nanosecond window\)$/m,
  );
  assert.deepEqual(seen.sample, [{ name: metric, labels: seen.lane, value: 1 }]);
});

test('a periodic verify against a daemon refusing --delete says, in status and /metrics, that it could not list what only the replica has', async () => {
  const metric = 'sersync_verify_extras_unlisted';
  const seen = await periodicAgainst(['refuse options = delete'], ['only-there.txt'], metric);
  assert.match(
    seen.text,
    /^verify: .*replicas equal, 1 not listing what only the replica has \(its daemon refuses --delete\)$/m,
  );
  assert.deepEqual(seen.sample, [{ name: metric, labels: seen.lane, value: 1 }]);
  assert.equal(seen.drift, 0, 'what only the replica has is not drift here');
});
