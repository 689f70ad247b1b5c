/**
 * `sersync2 -m PLUGIN` answers `status` like the replicator does (it was "no sersync2 is running"
 * while one ran): its trees, watched with the replicator's watch health, so a vanished root shows
 * while it lasts; and it runs beside the replicator of the same config, as sersync's did.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginOnlyStatus } from '../../src/daemon/status.js';
import { CLI, sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { startHttpCapture } from '../plugins/helpers.js';
import { eventually } from '../helpers/trees.js';

let work: { path: string; remove: () => Promise<void> };
before(async () => {
  work = await tempDir('sersync-plugin-status-');
});
after(async () => {
  await work.remove();
});

/** A config whose command plugin appends each path it is given to `calls`. */
function setUp(name: string): {
  watch: string;
  replica: string;
  state: string;
  config: string;
  calls: () => string[];
} {
  const base = join(work.path, name);
  const [watch, replica, state] = ['W', 'R', 'state'].map((d) => join(base, d)) as [string, string, string];
  mkdirSync(watch, { recursive: true });
  mkdirSync(replica);
  const out = join(base, 'calls');
  const script = join(base, 'record.sh');
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${out}\n`);
  chmodSync(script, 0o755);
  const xml = sersyncConfigXml({ watch, localTargets: [replica], failLog: join(base, 'fail.sh') }).replace(
    /<plugin name="command">[\s\S]*?<\/plugin>/,
    `<plugin name="command"><param prefix="${script}" suffix="" ignoreError="true"/><filter start="false"/></plugin>`,
  );
  const calls = (): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1) : []);
  return { watch, replica, state, config: writeConfig(base, xml), calls };
}

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

function statusOf(config: string, state: string): PluginOnlyStatus {
  const r = cli(['status', '--json', '-o', config, '--state-dir', state]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PluginOnlyStatus;
}

test('-m command: status shows the plugin-only daemon, and a vanished root while it is gone', async () => {
  const { watch, state, config, calls } = setUp('vanish');
  const proc = await startSersync(config, ['-m', 'command'], state);
  try {
    const up = statusOf(config, state);
    assert.equal(up.mode, 'plugin-only');
    assert.equal(up.plugin.name, 'command');
    assert.equal(up.pid, proc.child.pid);
    assert.deepEqual(
      up.trees.map((t) => [t.root, t.watching, t.degraded]),
      [[watch, true, []]],
    );
    const text = cli(['status', '-o', config, '--state-dir', state]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^mode: +-m command: each event to the command plugin, no rsync$/m);
    assert.match(text.stdout, new RegExp(`^${watch} +yes +1 `, 'm'));

    writeFileSync(join(watch, 'before.txt'), 'x');
    await eventually(() => calls().includes(join(watch, 'before.txt')), 10_000, 'before.txt handed over');

    // the root goes away: status says so while it lasts
    renameSync(watch, `${watch}.away`);
    await eventually(
      () => {
        const t = statusOf(config, state).trees[0];
        return t?.watching === false && t.degraded.includes('root-gone');
      },
      10_000,
      'status showing the root gone',
    );
    const gone = cli(['status', '-o', config, '--state-dir', state]);
    assert.match(gone.stdout, /the watched directory is missing/);

    // back: watched again, and its changes reach the plugin
    renameSync(`${watch}.away`, watch);
    await eventually(() => statusOf(config, state).trees[0]?.watching === true, 10_000, 'watched again');
    writeFileSync(join(watch, 'after.txt'), 'x');
    await eventually(() => calls().includes(join(watch, 'after.txt')), 10_000, 'after.txt handed over');
    assert.deepEqual(statusOf(config, state).trees[0]?.degraded, []);

    const resync = cli(['resync', '-o', config, '--state-dir', state]);
    assert.equal(resync.status, 1);
    assert.match(resync.stderr, /runs only the command plugin \(-m\): it has no rsync to resync/);
  } finally {
    assert.equal(await proc.stop(), 0, proc.stderr());
  }
  const none = cli(['status', '-o', config, '--state-dir', state]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no sersync2 is running .*nor a sersync2 -m PLUGIN/);
});

test('-m command runs beside the replicator of the same config; status shows the replicator', async () => {
  const { watch, replica, state, config, calls } = setUp('beside');
  const plugin = await startSersync(config, ['-m', 'command'], state);
  try {
    const replicator = await startSersync(config, [], state);
    try {
      const s = statusOf(config, state) as unknown as { mode?: string; pid: number };
      assert.equal(s.mode, undefined, 'the replicator answers first');
      assert.equal(s.pid, replicator.child.pid);
      writeFileSync(join(watch, 'both.txt'), 'x');
      await eventually(() => existsSync(join(replica, 'both.txt')), 10_000, 'replicated');
      await eventually(() => calls().includes(join(watch, 'both.txt')), 10_000, 'handed to the plugin');
      // a second -m of the same plugin and config is refused: it would run each command twice
      const again = spawnSync(process.execPath, [CLI, '-m', 'command', '-o', config, '--state-dir', state], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(again.status, 1);
      assert.match(
        again.stderr,
        new RegExp(`another sersync2 \\(pid ${plugin.child.pid}\\) is already running`),
      );
    } finally {
      assert.equal(await replicator.stop(), 0, replicator.stderr());
    }
    assert.equal(statusOf(config, state).pid, plugin.child.pid, 'then the -m one answers');
  } finally {
    assert.equal(await plugin.stop(), 0, plugin.stderr());
  }
});

test("a plugin's own watch, outside the sync trees, is in the replicator's status beside them", async () => {
  const { watch, state, config } = setUp('own');
  const own = join(work.path, 'own', 'P');
  mkdirSync(own);
  const server = await startHttpCapture();
  const section = `<plugin name="http"><localpath watch="${own}"><deshost url="${server.url}/hook"/></localpath></plugin>`;
  const xml = readFileSync(config, 'latin1')
    .replace('<plugin start="false" name="command"/>', '<plugin start="true" name="http"/>')
    .replace(/<plugin name="http">[\s\S]*?<\/plugin>/, '')
    .replace('</head>', `${section}\n</head>`);
  writeFileSync(config, xml, 'latin1');
  const proc = await startSersync(config, [], state);
  try {
    writeFileSync(join(own, 'p.txt'), 'x');
    await eventually(() => server.requests.length >= 1, 10_000, 'the plugin told');
    const s = statusOf(config, state) as unknown as {
      trees: { root: string; watching: boolean; events: number }[];
    };
    assert.deepEqual(
      s.trees.map((t) => [t.root, t.watching]),
      [
        [watch, true],
        [own, true],
      ],
    );
    assert.ok((s.trees[1]?.events ?? 0) > 0, 'its events are counted');
  } finally {
    assert.equal(await proc.stop(), 0, proc.stderr());
    await server.close();
  }
});
