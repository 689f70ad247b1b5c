/** /metrics in the Prometheus text format, and the read-only HTTP endpoint, over a real socket. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serveHttp } from '../../src/daemon/http.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../../src/daemon/metrics.js';
import { buildStatus } from '../../src/daemon/status.js';
import { freePort } from '../helpers/rsyncd.js';
import { parsePrometheusText, type MetricFamily } from './prometheus-text.js';
import { failingPlugin, imgTree, inputs, T, watched, wwwTree } from './status-fixture.js';

function value(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const f = families.get(name);
  assert.ok(f !== undefined, `${name} is exposed`);
  const s = f.samples.find((x) => JSON.stringify(x.labels) === JSON.stringify(labels));
  assert.ok(s !== undefined, `${name}${JSON.stringify(labels)} is exposed`);
  return s.value;
}

test('metrics: valid exposition text, every family typed and described, counters named _total', () => {
  const families = parsePrometheusText(renderMetrics(buildStatus(inputs({ plugin: failingPlugin() }))));
  assert.ok(families.has('sersync_plugin_failing'), 'the plugin families are checked too');
  for (const [name, f] of families) {
    assert.ok(f.type === 'counter' || f.type === 'gauge', `${name} has a TYPE`);
    assert.ok((f.help ?? '').length > 0, `${name} has a HELP`);
    assert.equal(name.endsWith('_total'), f.type === 'counter', `${name}: _total exactly for counters`);
    assert.ok(name.startsWith('sersync_'));
  }
});

test('metrics: the values are the status values, per tree and per tree x remote', () => {
  const m = parsePrometheusText(renderMetrics(buildStatus(inputs())));
  const www = { root: '/srv/www', remote: 'A::m' };
  const imgB = { root: '/srv/img', remote: 'B::m' };
  assert.equal(value(m, 'sersync_info', { version: '9.9.9', config: '/etc/sersync2/confxml.xml' }), 1);
  assert.equal(value(m, 'sersync_start_time_seconds'), (T - 3_723_000) / 1000);
  assert.equal(value(m, 'sersync_tree_watching', { root: '/srv/img' }), 0);
  assert.equal(value(m, 'sersync_tree_watched_directories', { root: '/srv/www' }), 12);
  assert.equal(value(m, 'sersync_tree_events_total', { root: '/srv/www' }), 40);
  assert.equal(value(m, 'sersync_pending_operations', imgB), 3);
  assert.equal(value(m, 'sersync_files_delayed_by_name', imgB), 1);
  assert.equal(value(m, 'sersync_files_awaiting_close', imgB), 2);
  assert.equal(value(m, 'sersync_files_awaiting_close', www), 0);
  assert.equal(value(m, 'sersync_batches_in_flight', www), 1);
  assert.equal(value(m, 'sersync_retry_queue_operations', imgB), 17);
  assert.equal(value(m, 'sersync_failed_batches_total', imgB), 4);
  assert.equal(value(m, 'sersync_files_sent_total', www), 30);
  assert.equal(value(m, 'sersync_sent_bytes_total', www), 3000);
  assert.equal(value(m, 'sersync_rsync_runs_total', www), 6);
  assert.equal(value(m, 'sersync_last_success_timestamp_seconds', www), (T - 5000) / 1000);
  assert.equal(value(m, 'sersync_rsync_max_concurrent'), 10);
  assert.equal(value(m, 'sersync_rsync_started_total'), 12);
  assert.equal(value(m, 'sersync_next_full_sync_timestamp_seconds'), (T + 600_000) / 1000);
  assert.equal(
    m.get('sersync_last_success_timestamp_seconds')?.samples.some((s) => s.labels['remote'] === 'B::m'),
    false,
    'a success that never happened has no sample (not 0, which would read as 1970)',
  );
});

test('metrics: label values with quotes, backslashes and newlines are escaped and read back', () => {
  const odd = 'C:\\"odd"\nroot';
  const m = parsePrometheusText(renderMetrics(buildStatus(inputs({ trees: [{ ...wwwTree(), root: odd }] }))));
  assert.equal(value(m, 'sersync_tree_events_total', { root: odd }), 40);
});

test('http: GET /metrics and /status; HEAD works; other methods 405, other paths 404', async () => {
  const port = await freePort();
  const status = buildStatus(inputs());
  const http = await serveHttp('127.0.0.1', port, () => status);
  const url = (path: string): string => `http://127.0.0.1:${port}${path}`;
  try {
    const metrics = await fetch(url('/metrics'));
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get('content-type'), METRICS_CONTENT_TYPE);
    parsePrometheusText(await metrics.text());

    const json = await fetch(url('/status?pretty'));
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await json.json(), JSON.parse(JSON.stringify(status)));

    const head = await fetch(url('/metrics'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');

    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await fetch(url('/status'), { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
      await r.text();
    }
    const missing = await fetch(url('/'));
    assert.equal(missing.status, 404);
    await missing.text();
  } finally {
    await http.close();
  }
});

test('http: a port already taken is a clear error naming the address', async () => {
  const port = await freePort();
  const first = await serveHttp('127.0.0.1', port, () => buildStatus(inputs()));
  try {
    await assert.rejects(
      serveHttp('127.0.0.1', port, () => buildStatus(inputs())),
      new RegExp(`cannot serve /metrics on 127\\.0\\.0\\.1:${port} .*EADDRINUSE`),
    );
  } finally {
    await first.close();
  }
});

test('the exposition reader used above refuses what the format does not allow', () => {
  const bad = [
    'no_newline 1',
    '# TYPE a counter\na_total 1\n# TYPE a gauge\n',
    'a 1\n# TYPE a gauge\na 2\n',
    'a{x="1"} 1\nb 1\na{x="2"} 1\n',
    'a{x="1"} 1\na{x="1"} 2\n',
    'a{x="\\t"} 1\n',
    'a{x="1"',
    'a{__x="1"} 1\n',
    'a 1 2 3\n',
    'a one\n',
    '0a 1\n',
    '# TYPE a widget\n',
  ];
  for (const text of bad) assert.throws(() => parsePrometheusText(text), Error, JSON.stringify(text));
  assert.equal(
    parsePrometheusText('# HELP a x\\ny\n# TYPE a gauge\na{b="c\\"d"} -Inf 123\n').get('a')?.help,
    'x\ny',
  );
});

test('metrics: the health of each tree and the replication lag of each remote', () => {
  const limited = {
    ...wwwTree(),
    ...watched({
      watching: false,
      directories: 12,
      degraded: ['watch-limit', 'fallback-watcher'],
      unwatchedDirectories: 7,
      gaps: [{ path: 'big', reason: 'watch-limit' }],
      watcherRestarts: 2,
    }),
  };
  const m = parsePrometheusText(renderMetrics(buildStatus(inputs({ trees: [limited, imgTree()] }))));
  assert.equal(value(m, 'sersync_tree_watching', { root: '/srv/www' }), 0, 'not watched in full');
  assert.equal(value(m, 'sersync_tree_degraded', { root: '/srv/www', reason: 'watch-limit' }), 1);
  assert.equal(value(m, 'sersync_tree_degraded', { root: '/srv/www', reason: 'fallback-watcher' }), 1);
  assert.equal(value(m, 'sersync_tree_degraded', { root: '/srv/www', reason: 'root-gone' }), 0);
  assert.equal(value(m, 'sersync_tree_degraded', { root: '/srv/img', reason: 'root-gone' }), 1);
  assert.equal(value(m, 'sersync_tree_unwatched_directories', { root: '/srv/www' }), 7);
  assert.equal(value(m, 'sersync_watcher_restarts_total', { root: '/srv/www' }), 2);
  assert.equal(value(m, 'sersync_replication_lag_seconds', { remote: 'A::m' }), 3);
  assert.equal(value(m, 'sersync_replication_lag_seconds', { remote: 'B::m' }), 120);
  assert.equal(
    value(m, 'sersync_oldest_unsynced_change_age_seconds', { root: '/srv/img', remote: 'A::m' }),
    0,
    'nothing waiting: no lag',
  );
});

test("metrics: the plugin's health, labelled with its name; none without a plugin", () => {
  const m = parsePrometheusText(renderMetrics(buildStatus(inputs({ plugin: failingPlugin() }))));
  const cdn = { plugin: 'refreshCDN' };
  assert.equal(value(m, 'sersync_plugin_failing', cdn), 1);
  assert.equal(value(m, 'sersync_plugin_delivered_total', cdn), 120);
  assert.equal(value(m, 'sersync_plugin_failed_total', cdn), 3);
  assert.equal(value(m, 'sersync_plugin_pending_events', cdn), 4);
  assert.equal(value(m, 'sersync_plugin_overflows_total', cdn), 1);
  assert.equal(value(m, 'sersync_plugin_last_failure_timestamp_seconds', cdn), (T - 2000) / 1000);
  assert.equal(value(m, 'sersync_plugin_last_success_timestamp_seconds', cdn), (T - 600_000) / 1000);
  const none = parsePrometheusText(renderMetrics(buildStatus(inputs())));
  assert.equal(
    [...none.keys()].some((k) => k.startsWith('sersync_plugin_')),
    false,
  );
});
