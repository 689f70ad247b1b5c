/**
 * A remote that cannot compare modification times to the nanosecond: a receiver older than rsync
 * 3.1.3 (CentOS 7's 3.1.2) does not know the `--modify-window=-1` of full syncs and verify, and a
 * daemon whose `refuse options` name `modify-window` refuses it. Here a real daemon of the second
 * kind, end to end through the CLI: full syncs and verify still compare (to the second), and
 * `status`, /metrics and verify's report say so while it lasts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { parsePrometheusText } from '../daemon/prometheus-text.js';
import { converged, useLab } from '../helpers/lab.js';
import { freePort } from '../helpers/rsyncd.js';
import { CLI } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';

const lab = useLab('sersync-seconds-window-', { moduleLines: ['refuse options = modify-window'] });

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

test("a daemon refusing --modify-window: the start's full sync and verify compare to the second, and status, /metrics and verify say so", async () => {
  const port = await freePort();
  const xml = (text: string): string =>
    text.replace(
      '<host hostip="localhost" port="8008"></host>',
      `<host hostip="127.0.0.1" port="${port}" metrics="true"></host>`,
    );
  const setup = (src: string): void => {
    for (const name of ['a.txt', 'b.txt']) writeFileSync(join(src, name), `before the start: ${name}\n`);
  };
  await lab.withSersync({ args: ['-r'], xml, setup }, async (run) => {
    const flags = ['-o', join(run.base, 'confxml.xml'), '--state-dir', join(run.base, 'state')];
    await converged(run.src, run.replica);
    const remoteOf = (): DaemonStatus['remotes'][number] | undefined => {
      const r = cli(['status', '--json', ...flags]);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as DaemonStatus).remotes[0];
    };
    await eventually(() => remoteOf()?.fullSyncWindow?.window === 'second', 10_000, 'the full sync recorded');
    assert.equal(remoteOf()?.queuedRetries, 0, 'nothing waits');
    const text = cli(['status', ...flags]);
    assert.match(
      text.stdout,
      /^note: 127\.0\.0\.1::\S+ compares modification times to the second \(.*\): a full sync or verify misses a file rewritten at the same size within the second of its copy$/m,
    );
    const metrics = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    assert.deepEqual(
      metrics.get('sersync_full_sync_seconds_window')?.samples.map((s) => s.value),
      [1],
    );

    // the changes that come in go as always (they carry no window)
    writeFileSync(join(run.src, 'c.txt'), 'after the start\n');
    await converged(run.src, run.replica);

    const verified = cli(['verify', ...flags]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /: equal\n {2}note: modification times compared to the second \(/);
    const json = cli(['verify', '--json', ...flags]);
    assert.equal((JSON.parse(json.stdout) as { toTheSecond: boolean }[])[0]?.toTheSecond, true);
  });
});
