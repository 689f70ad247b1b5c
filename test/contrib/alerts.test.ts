/**
 * contrib/prometheus/sersync2-alerts.yml under `promtool test rules`, fed with /metrics scraped
 * from a real sersync2: one remote that works and one that refuses every batch. The scrape becomes
 * promtool's input series (timestamps moved so that the scrape is at time 0); series of features
 * this run does not exercise (the periodic verify, a degraded tree, the replication lag) are added
 * under the names /metrics gives them. Skipped with a reason only when promtool is absent outside CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMetrics } from '../../src/daemon/metrics.js';
import { buildStatus } from '../../src/daemon/status.js';
import { failingPlugin, inputs } from '../daemon/status-fixture.js';
import { freePort } from '../helpers/rsyncd.js';
import { useLab } from '../helpers/lab.js';
import { eventually } from '../helpers/trees.js';
import { parsePrometheusText, type Sample } from '../daemon/prometheus-text.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const RULES = join(ROOT, 'contrib', 'prometheus', 'sersync2-alerts.yml');
const lab = useLab('sersync-alerts-');

function promtoolMissing(): string | false {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (r.error === undefined) return false;
  if (process.env.CI !== undefined) return false; // CI installs it (.ci/run): fail there, never skip
  return 'promtool is not installed here (Debian package prometheus)';
}

const labelText = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');

/** A sample as promtool input: constant over the test, timestamps relative to the scrape (`now`). */
function series(s: Sample, nowS: number, extra: Record<string, string>): { series: string; values: string } {
  const value = s.name.endsWith('_timestamp_seconds') ? Math.round(s.value - nowS) : s.value;
  return { series: `${s.name}{${labelText({ ...s.labels, ...extra })}}`, values: `${value}+0x120` };
}

test(
  'the alert rules fire on a real scrape of a failing remote, and stay quiet for a healthy one',
  {
    skip: promtoolMissing(),
  },
  async () => {
    const port = await freePort();
    const xml = (text: string): string =>
      text.replace(
        '<host hostip="localhost" port="8008"></host>',
        `<host hostip="127.0.0.1" port="${port}" metrics="true"></host>`,
      );
    await lab.withSersync({ spec: { modules: ['nosuchmodule'] }, xml }, async (run) => {
      writeFileSync(join(run.src, 'a.txt'), 'a');
      let text = '';
      await eventually(
        async () => {
          text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return /sersync_retry_queue_operations\{[^}]*nosuchmodule[^}]*\} [1-9]/.test(text);
        },
        20_000,
        'a failed batch in the retry queue',
      );
      const nowS = Date.now() / 1000;
      const instance = { instance: 'replica-host:8008', job: 'sersync2' };
      const samples = [...parsePrometheusText(text).values()].flatMap((f) => f.samples);
      const good = `127.0.0.1::${lab.daemon.module}`;
      const bad = '127.0.0.1::nosuchmodule';
      const lane = { root: run.src, remote: bad };
      // Not exercised by this run: the names and labels /metrics gives them.
      const synthetic = [
        {
          series: `sersync_replication_lag_seconds{${labelText({ remote: bad, ...instance })}}`,
          values: '0+60x120',
        },
        {
          series: `sersync_replication_lag_seconds{${labelText({ remote: good, ...instance })}}`,
          values: '0+0x120',
        },
        { series: `sersync_verify_drift_paths{${labelText({ ...lane, ...instance })}}`, values: '4+0x120' },
        {
          series: `sersync_verify_last_success_timestamp_seconds{${labelText(instance)}}`,
          values: '-3600+0x120',
        },
        {
          series: `sersync_tree_degraded{${labelText({ root: run.src, reason: 'watch-limit', ...instance })}}`,
          values: '1+0x120',
        },
        {
          series: `sersync_tree_unwatched_directories{${labelText({ root: run.src, ...instance })}}`,
          values: '3+0x120',
        },
        { series: `up{${labelText(instance)}}`, values: '1+0x120' },
        { series: `sersync_queue_write_failing{${labelText(instance)}}`, values: '0+0x3 1+0x116' },
        {
          series: `sersync_plugin_failing{${labelText({ plugin: 'refreshCDN', ...instance })}}`,
          values: '1+0x120',
        },
        {
          series: `sersync_plugin_overflows_total{${labelText({ plugin: 'refreshCDN', ...instance })}}`,
          values: '0+0x5 1+0x115',
        },
      ];
      const queued = samples.find(
        (s) => s.name === 'sersync_retry_queue_operations' && s.labels.remote === bad,
      );
      assert.ok(queued !== undefined);
      /** An alert as promtool reports it: the rule's labels and annotations with this run's values. */
      const alert = (
        name: string,
        labels: Record<string, string>,
        severity: string,
        annotations: Record<string, string>,
      ): unknown => ({
        exp_labels: { ...labels, ...instance, severity, alertname: name },
        exp_annotations: annotations,
      });
      const spec = {
        rule_files: [RULES],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              // the queue's gauge is the synthetic one below (this run's is 0: writable)
              ...samples
                .filter((s) => s.name !== 'sersync_queue_write_failing')
                .map((s) => series(s, nowS, instance)),
              ...synthetic,
            ],
            alert_rule_test: [
              {
                eval_time: '10m',
                alertname: 'SersyncRemoteFailing',
                exp_alerts: [
                  alert('SersyncRemoteFailing', lane, 'critical', {
                    summary: `sersync2 cannot reach ${bad} for ${run.src}`,
                    description: `${queued.value} operations wait for a retry; \`sersync2 status\` shows the last error.`,
                  }),
                ],
              },
              {
                eval_time: '15m',
                alertname: 'SersyncReplicationLagHigh',
                exp_alerts: [
                  alert('SersyncReplicationLagHigh', { remote: bad }, 'warning', {
                    summary: `${bad} is 15m 0s behind`,
                    description:
                      'Changes wait longer than usual: a slow or failing remote, more changes than it takes, or a file its writer keeps open and writes (`sersync2 status` names it).',
                  }),
                ],
              },
              {
                eval_time: '1m',
                alertname: 'SersyncVerifyDrift',
                exp_alerts: [
                  alert('SersyncVerifyDrift', lane, 'critical', {
                    summary: `the replica ${bad} differs from ${run.src} in 4 paths`,
                    description: '`sersync2 verify` lists them; `sersync2 verify --repair` sends them again.',
                  }),
                ],
              },
              { eval_time: '1m', alertname: 'SersyncVerifyNotRunning', exp_alerts: [] },
              {
                eval_time: '10m',
                alertname: 'SersyncTreeDegraded',
                exp_alerts: [
                  alert('SersyncTreeDegraded', { root: run.src, reason: 'watch-limit' }, 'warning', {
                    summary: `${run.src} is degraded: watch-limit`,
                    description: 'See docs/operations.md, Failure modes and alerts, for this reason.',
                  }),
                ],
              },
              {
                eval_time: '15m',
                alertname: 'SersyncUnwatchedDirectories',
                exp_alerts: [
                  alert('SersyncUnwatchedDirectories', { root: run.src }, 'warning', {
                    summary: `3 directories of ${run.src} have no watch`,
                    description: 'Raise fs.inotify.max_user_watches (docs/operations.md, inotify limits).',
                  }),
                ],
              },
              { eval_time: '7m', alertname: 'SersyncQueueNotWritable', exp_alerts: [] },
              {
                eval_time: '10m',
                alertname: 'SersyncQueueNotWritable',
                exp_alerts: [
                  alert('SersyncQueueNotWritable', {}, 'critical', {
                    summary: 'sersync2 on replica-host:8008 cannot write its retry queue',
                    description: 'Nothing is replicated meanwhile; `sersync2 status` shows the error.',
                  }),
                ],
              },
              {
                eval_time: '10m',
                alertname: 'SersyncPluginFailing',
                exp_alerts: [
                  alert('SersyncPluginFailing', { plugin: 'refreshCDN' }, 'warning', {
                    summary: 'the refreshCDN plugin on replica-host:8008 is failing',
                    description:
                      '`sersync2 status` shows its last error; what it failed to tell since then is lost.',
                  }),
                ],
              },
              {
                eval_time: '10m',
                alertname: 'SersyncPluginMissedEvents',
                exp_alerts: [
                  alert('SersyncPluginMissedEvents', { plugin: 'refreshCDN' }, 'warning', {
                    summary: 'the refreshCDN plugin on replica-host:8008 missed changes',
                    description:
                      'Raise fs.inotify.max_queued_events; purge or notify by hand what changed meanwhile.',
                  }),
                ],
              },
              { eval_time: '3m', alertname: 'SersyncPluginMissedEvents', exp_alerts: [] },
              // The healthy parts of the same scrape stay quiet.
              { eval_time: '60m', alertname: 'SersyncTreeNotWatched', exp_alerts: [] },
              { eval_time: '60m', alertname: 'SersyncDown', exp_alerts: [] },
              { eval_time: '60m', alertname: 'SersyncQueueGrowing', exp_alerts: [] },
              { eval_time: '60m', alertname: 'SersyncFullSyncFailing', exp_alerts: [] },
              { eval_time: '60m', alertname: 'SersyncRsyncProblem', exp_alerts: [] },
            ],
          },
          {
            // Restarted while a remote is down: no batch of the new run has failed yet (its rows wait
            // for their back-off), but the remote is taken for lost from the start.
            interval: '1m',
            input_series: [
              {
                series: `sersync_retry_queue_operations{${labelText({ ...lane, ...instance })}}`,
                values: '7+0x20',
              },
              ...['unreachable', 'runs-lost'].map((reason) => ({
                series: `sersync_remote_down{${labelText({ ...lane, reason, ...instance })}}`,
                values: reason === 'unreachable' ? '1+0x20' : '0+0x20',
              })),
              {
                series: `sersync_last_success_timestamp_seconds{${labelText({ ...lane, ...instance })}}`,
                values: '-60+0x20',
              },
            ],
            alert_rule_test: [
              { eval_time: '3m', alertname: 'SersyncRemoteFailing', exp_alerts: [] },
              {
                eval_time: '10m',
                alertname: 'SersyncRemoteFailing',
                exp_alerts: [
                  alert('SersyncRemoteFailing', lane, 'critical', {
                    summary: `sersync2 cannot reach ${bad} for ${run.src}`,
                    description: '7 operations wait for a retry; `sersync2 status` shows the last error.',
                  }),
                ],
              },
            ],
          },
        ],
      };
      const file = join(run.base, 'alerts-test.yml');
      writeFileSync(file, JSON.stringify(spec, null, 2)); // JSON is YAML
      const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    });
  },
);

/** Metric names a rule or panel expression uses (words starting sersync_). */
function metricNames(exprs: readonly string[]): Set<string> {
  return new Set(exprs.flatMap((e) => [...e.matchAll(/\bsersync_[a-z_]+/g)].map((m) => m[0])));
}

/** Every query of the Grafana dashboard's panels. */
function dashboardExprs(): string[] {
  const dashboard = JSON.parse(
    readFileSync(join(ROOT, 'contrib', 'grafana', 'sersync2-dashboard.json'), 'utf8'),
  ) as { panels: { targets: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
}

test('every metric the rules and the Grafana dashboard use is one /metrics serves', () => {
  const verify = { lastRunAt: 1, lastSuccessAt: 1, nextAt: 2, lanes: [] };
  const served = new Set(
    parsePrometheusText(renderMetrics(buildStatus(inputs({ verify, plugin: failingPlugin() })))).keys(),
  );
  const used = metricNames([readFileSync(RULES, 'utf8'), ...dashboardExprs()]);
  assert.ok(used.size > 10);
  assert.deepEqual(
    [...used].filter((n) => !served.has(n)),
    [],
  );
});

test('the dashboard shows every signal an alert rule fires on', () => {
  const rules = metricNames([readFileSync(RULES, 'utf8')]);
  const shown = metricNames(dashboardExprs());
  // Conditions of a rule, not signals: a remote's last outcome (its failures show as failed batches
  // and queued work), how long the instance has run, whether a crontab is set.
  const conditions = new Set([
    'sersync_last_failure_timestamp_seconds',
    'sersync_last_success_timestamp_seconds',
    'sersync_start_time_seconds',
    'sersync_next_full_sync_timestamp_seconds',
  ]);
  assert.deepEqual(
    [...rules].filter((n) => !shown.has(n) && !conditions.has(n)),
    [],
  );
});
