/**
 * A plugin's health is part of `status` and /metrics (it was only logged): a plugin that fails
 * shows as failing while it fails and clears once it delivers again, and an inotify overflow,
 * whose lost changes a plugin is never told of, is counted. The replica converges all along.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DaemonStatus, PluginOnlyStatus } from '../../src/daemon/status.js';
import type { PluginReport } from '../../src/plugins/feed.js';
import { parsePrometheusText } from '../daemon/prometheus-text.js';
import { converged, useLab } from '../helpers/lab.js';
import { freePort } from '../helpers/rsyncd.js';
import { CLI, sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';

const lab = useLab('sersync-plugin-health-');

/**
 * A command that records each path it is given in `calls`, and fails (exit 3, a line on stderr)
 * while `broken` exists; its `<plugin name="command">` section, failures not ignored.
 */
function flakyCommand(base: string): { section: string; broken: string; calls: () => string[] } {
  mkdirSync(base, { recursive: true });
  const broken = join(base, 'broken');
  const out = join(base, 'calls');
  const script = join(base, 'flaky.sh');
  writeFileSync(
    script,
    `#!/bin/sh\nif [ -e '${broken}' ]; then echo "cannot handle $1" >&2; exit 3; fi\nprintf '%s\\n' "$1" >> '${out}'\n`,
  );
  chmodSync(script, 0o755);
  return {
    section: `<plugin name="command"><param prefix="${script}" suffix="" ignoreError="false"/><filter start="false"/></plugin>`,
    broken,
    calls: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1) : []),
  };
}

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** The plugin as `status --json` reports it, of the replicator or of `-m`. */
function pluginOf(config: string, state: string): PluginReport | null {
  const r = cli(['status', '--json', '-o', config, '--state-dir', state]);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as DaemonStatus | PluginOnlyStatus).plugin;
}

function statusText(config: string, state: string): string {
  const r = cli(['status', '-o', config, '--state-dir', state]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a failing command plugin shows in status and /metrics while it fails, and clears once it works', async () => {
  const port = await freePort();
  const flaky = flakyCommand(join(lab.work, 'flaky'));
  writeFileSync(flaky.broken, '');
  const xml = (text: string): string =>
    text
      .replace('<plugin start="false" name="command"/>', '<plugin start="true" name="command"/>')
      .replace(/<plugin name="command">[\s\S]*?<\/plugin>/, flaky.section)
      .replace(
        '<host hostip="localhost" port="8008"></host>',
        `<host hostip="127.0.0.1" port="${port}" metrics="true"></host>`,
      );
  await lab.withSersync({ xml }, async (run) => {
    const config = join(run.base, 'confxml.xml');
    const state = join(run.base, 'state');
    assert.ok(existsSync(config), 'the config is where the lab writes it');
    const metrics = async (): Promise<Map<string, number>> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const out = new Map<string, number>();
      for (const [name, f] of parsePrometheusText(text))
        for (const s of f.samples) if (s.labels['plugin'] === 'command') out.set(name, s.value);
      return out;
    };

    writeFileSync(join(run.src, 'a.txt'), 'a');
    await converged(run.src, run.replica); // the replica does not wait for the plugin
    await eventually(
      () => pluginOf(config, state)?.failing === true,
      10_000,
      'status showing the plugin failing',
    );
    const failing = pluginOf(config, state);
    assert.ok(failing !== null);
    assert.equal(failing.name, 'command');
    assert.equal(failing.delivered, 0);
    assert.ok(failing.failed >= 1);
    assert.equal(failing.lastError, 'command exited with code 3');
    assert.match(
      statusText(config, state),
      /^! the command plugin is FAILING: its last attempt failed .* ago: command exited with code 3$/m,
    );
    const during = await metrics();
    assert.equal(during.get('sersync_plugin_failing'), 1);
    assert.ok((during.get('sersync_plugin_failed_total') ?? 0) >= 1);

    // mended: the next event is delivered, and the warning goes; the counts stay
    rmSync(flaky.broken);
    writeFileSync(join(run.src, 'b.txt'), 'b');
    await eventually(() => flaky.calls().includes(join(run.src, 'b.txt')), 10_000, 'b.txt handed over');
    await eventually(
      () => pluginOf(config, state)?.failing === false,
      10_000,
      'status showing the plugin healthy',
    );
    const healed = pluginOf(config, state);
    assert.ok(healed !== null && healed.delivered >= 1 && healed.failed >= 1);
    assert.doesNotMatch(statusText(config, state), /FAILING/);
    const after = await metrics();
    assert.equal(after.get('sersync_plugin_failing'), 0);
    assert.ok((after.get('sersync_plugin_delivered_total') ?? 0) >= 1);
    await converged(run.src, run.replica);
  });
});

test('-m: a failing plugin and the events an overflow cost it are in status while they matter', async () => {
  const base = join(lab.work, 'only');
  const watch = join(base, 'W');
  const state = join(base, 'state');
  mkdirSync(watch, { recursive: true });
  const flaky = flakyCommand(base);
  // `.skip` files are filtered out: they fill the kernel's queue without running the command
  const xml = sersyncConfigXml({
    watch,
    localTargets: [join(base, 'R')],
    failLog: join(base, 'fail.sh'),
    filter: ['(.*)\\.skip'],
  }).replace(/<plugin name="command">[\s\S]*?<\/plugin>/, flaky.section);
  const config = writeConfig(base, xml);
  const proc = await startSersync(config, ['-m', 'command'], state);
  try {
    writeFileSync(flaky.broken, '');
    writeFileSync(join(watch, 'a.txt'), 'a');
    await eventually(
      () => pluginOf(config, state)?.failing === true,
      10_000,
      '-m status showing the plugin failing',
    );
    assert.match(statusText(config, state), /^! the command plugin is FAILING: .*code 3$/m);
    rmSync(flaky.broken);
    writeFileSync(join(watch, 'b.txt'), 'b');
    await eventually(() => flaky.calls().includes(join(watch, 'b.txt')), 10_000, 'b.txt handed over');
    await eventually(() => pluginOf(config, state)?.failing === false, 10_000, 'healthy');

    // the kernel drops events while sersync2 cannot read them
    const pid = proc.child.pid ?? 0;
    const queued = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
    process.kill(pid, 'SIGSTOP');
    try {
      // each new file is at least two events (IN_CREATE, IN_CLOSE_WRITE)
      for (let i = 0; i < Math.ceil(queued / 2) + 1000; i++) writeFileSync(join(watch, `o${i}.skip`), '');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(() => pluginOf(config, state)?.overflows === 1, 20_000, 'the overflow counted');
    assert.match(
      statusText(config, state),
      /^! the kernel dropped events 1 time \(last .* ago\): the command plugin was never told of those changes$/m,
    );
    // and events after it still reach the plugin
    writeFileSync(join(watch, 'c.txt'), 'c');
    await eventually(() => flaky.calls().includes(join(watch, 'c.txt')), 10_000, 'c.txt handed over');
  } finally {
    assert.equal(await proc.stop(), 0, proc.stderr());
  }
});
