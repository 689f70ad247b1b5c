import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CommandPluginSettings, ExcludeRule } from '../../src/config/types.js';
import { displayPath, fromUtf8 } from '../../src/paths.js';
import { createPlugin } from '../../src/plugins/index.js';
import { tempDir } from '../helpers/tmp.js';
import { captureLogger, ERROR, INFO, waitFor } from './helpers.js';

const node = process.execPath;

function include(expression: string): ExcludeRule {
  return { expression, regex: new RegExp(`^(?:${expression})$`) };
}

function settings(over: Partial<CommandPluginSettings>): CommandPluginSettings {
  return { prefix: [], suffix: [], ignoreError: false, includes: [], timeoutS: 10, concurrency: 4, ...over };
}

function pluginSettings(command: CommandPluginSettings) {
  return { enabled: true, name: 'command' as const, command, socket: null, refreshCDN: null, http: null };
}

/** A node script that appends the argv it received (as JSON) to `<dir>/argv.jsonl`. */
async function argvRecorder(dir: string): Promise<{ prefix: string[]; calls: () => Promise<string[][]> }> {
  const script = join(dir, 'record-argv.mjs');
  await writeFile(
    script,
    `import { appendFileSync } from 'node:fs';\n` +
      `appendFileSync(new URL('./argv.jsonl', import.meta.url), JSON.stringify(process.argv.slice(2)) + '\\n');\n`,
  );
  const out = join(dir, 'argv.jsonl');
  return {
    prefix: [node, script],
    calls: async () =>
      existsSync(out)
        ? (await readFile(out, 'utf8'))
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as string[])
        : [],
  };
}

test('G27: prefix words + absolute path + suffix words, only for paths the include filter matches', async () => {
  const tmp = await tempDir();
  try {
    const rec = await argvRecorder(tmp.path);
    const { log } = captureLogger();
    const plugin = createPlugin(
      'command',
      pluginSettings(
        settings({ prefix: [...rec.prefix, 'PLUGIN'], suffix: ['SUF'], includes: [include('(.*)\\.php')] }),
      ),
      log,
    );
    await plugin.handle({ root: '/W', path: 'p.php', isDir: false, op: 'sync' });
    await plugin.handle({ root: '/W', path: 'q.txt', isDir: false, op: 'sync' });
    await plugin.handle({ root: '/W', path: 'p.php', isDir: false, op: 'delete' });
    await plugin.close();
    assert.deepEqual(await rec.calls(), [
      ['PLUGIN', '/W/p.php', 'SUF'],
      ['PLUGIN', '/W/p.php', 'SUF'],
    ]);
  } finally {
    await tmp.remove();
  }
});

test('hostile names reach the program as one literal argument and are never run by a shell', async () => {
  const tmp = await tempDir();
  try {
    const rec = await argvRecorder(tmp.path);
    const { log } = captureLogger();
    const plugin = createPlugin('command', pluginSettings(settings({ prefix: rec.prefix })), log);
    const names = [
      'x; touch PWNED',
      '`touch INJECTED`',
      '$(touch DOLLAR)',
      '-rf',
      'a\nb',
      `q"u'o te`,
      'sub dir/é',
    ];
    // A non-UTF-8 name cannot travel in argv byte-exact: it arrives in its display form.
    const paths = [...names.map(fromUtf8), 'bad\xff'];
    await Promise.all(paths.map((path) => plugin.handle({ root: tmp.path, path, isDir: false, op: 'sync' })));
    await plugin.close();
    const expected = paths.map((p) => [`${tmp.path}/${displayPath(p)}`]);
    assert.deepEqual((await rec.calls()).sort(), expected.sort());
    for (const dir of [tmp.path, process.cwd()]) {
      for (const f of ['PWNED', 'INJECTED', 'DOLLAR'])
        assert.equal(existsSync(join(dir, f)), false, `${dir}/${f}`);
    }
  } finally {
    await tmp.remove();
  }
});

test('a failing command is logged as an error, or at info with ignoreError; handle never rejects', async () => {
  const failing = [node, '-e', 'console.error("it broke"); process.exit(3)'];
  const strict = captureLogger();
  const a = createPlugin('command', pluginSettings(settings({ prefix: failing })), strict.log);
  await a.handle({ root: '/W', path: 'f', isDir: false, op: 'sync' });
  // counted for status: failing until an event is delivered
  assert.deepEqual(
    (({ delivered, failed, failing, lastError }) => ({ delivered, failed, failing, lastError }))(a.stats()),
    { delivered: 0, failed: 1, failing: true, lastError: 'command exited with code 3' },
  );
  await a.close();
  const errors = strict.entries().filter((e) => e.level === ERROR);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]?.code, 3);
  assert.match(String(errors[0].output), /it broke/);
  assert.deepEqual(errors[0].argv, [...failing, '/W/f']);

  const lenient = captureLogger();
  const b = createPlugin(
    'command',
    pluginSettings(settings({ prefix: failing, ignoreError: true })),
    lenient.log,
  );
  await b.handle({ root: '/W', path: 'f', isDir: false, op: 'sync' });
  await b.close();
  // counted, but an expected failure never makes the plugin failing
  assert.equal(b.stats().failed, 1);
  assert.equal(b.stats().failing, false);
  assert.equal(lenient.entries().filter((e) => e.level >= ERROR).length, 0);
  assert.equal(lenient.entries().filter((e) => e.level === INFO && e.code === 3).length, 1);
});

test('a command that fails, then works: failing while it fails, delivered once it works', async () => {
  const tmp = await tempDir('sersync-command-stats-');
  try {
    const flag = join(tmp.path, 'broken');
    await writeFile(flag, '');
    // fails while the flag file exists
    const prefix = [
      node,
      '-e',
      `process.exit(require('node:fs').existsSync(${JSON.stringify(flag)}) ? 4 : 0)`,
    ];
    const { log } = captureLogger();
    const plugin = createPlugin('command', pluginSettings(settings({ prefix })), log);
    await plugin.handle({ root: '/W', path: 'a', isDir: false, op: 'sync' });
    const failing = plugin.stats();
    assert.equal(failing.failing, true);
    assert.ok(failing.lastFailureAt !== null && failing.lastSuccessAt === null);
    await unlink(flag);
    await plugin.handle({ root: '/W', path: 'b', isDir: false, op: 'sync' });
    const healed = plugin.stats();
    assert.deepEqual([healed.delivered, healed.failed, healed.failing], [1, 1, false]);
    assert.equal(healed.lastError, 'command exited with code 4', 'the last error stays for the record');
    await plugin.close();
  } finally {
    await tmp.remove();
  }
});

test('a program that cannot be started is logged, not thrown', async () => {
  const { log, entries } = captureLogger();
  const plugin = createPlugin('command', pluginSettings(settings({ prefix: ['/nonexistent/program'] })), log);
  await plugin.handle({ root: '/W', path: 'f', isDir: false, op: 'sync' });
  await plugin.close();
  assert.match(
    String(entries().find((e) => e.level === ERROR)?.err),
    /cannot run \/nonexistent\/program: .*ENOENT/,
  );
});

/** True while `pid` is a live process (a zombie waiting to be reaped counts as dead). */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

test('the timeout kills the command and what it started', async () => {
  const tmp = await tempDir();
  try {
    const { log, entries } = captureLogger();
    // The event path is "$1": the shell only runs this fixed script, it never parses the path.
    const prefix = ['/bin/sh', '-c', 'sleep 30 & echo "$$ $!" > "$1"; wait', 'sh'];
    const plugin = createPlugin('command', pluginSettings(settings({ prefix, timeoutS: 0.3 })), log);
    const started = Date.now();
    await plugin.handle({ root: tmp.path, path: 'pids', isDir: false, op: 'sync' });
    assert.ok(Date.now() - started < 1500, 'handle returned soon after the timeout');
    const pids = (await readFile(join(tmp.path, 'pids'), 'utf8')).trim().split(' ').map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) await waitFor(async () => !(await alive(pid)), `pid ${pid} to be gone`, 1000);
    const err = entries().find((e) => e.level === ERROR);
    assert.match(String(err?.err), /timed out after 0\.3 s/);
    await plugin.close();
  } finally {
    await tmp.remove();
  }
});

test('no more than `concurrency` commands run at once', async () => {
  const tmp = await tempDir();
  try {
    const log = join(tmp.path, 'runs.log');
    // Each run appends "+" when it starts and "-" when it ends, 300 ms later.
    const script = `const f=require('fs');f.appendFileSync(${JSON.stringify(log)},'+');setTimeout(()=>f.appendFileSync(${JSON.stringify(log)},'-'),300)`;
    const { log: logger } = captureLogger();
    const plugin = createPlugin(
      'command',
      pluginSettings(settings({ prefix: [node, '-e', script], concurrency: 2 })),
      logger,
    );
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((path) => plugin.handle({ root: '/W', path, isDir: false, op: 'sync' })),
    );
    await plugin.close();
    const marks = await readFile(log, 'utf8');
    let running = 0;
    let most = 0;
    for (const m of marks) {
      running += m === '+' ? 1 : -1;
      most = Math.max(most, running);
    }
    assert.equal(marks.length, 8);
    assert.equal(most, 2);
  } finally {
    await tmp.remove();
  }
});

test('close waits for a running command up to the timeout, then kills it; later events are dropped', async () => {
  const tmp = await tempDir();
  try {
    const { log, entries } = captureLogger();
    const prefix = [
      node,
      '-e',
      'require("fs").writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)',
    ];
    const plugin = createPlugin('command', pluginSettings(settings({ prefix, timeoutS: 0.5 })), log);
    const running = plugin.handle({ root: tmp.path, path: 'pid', isDir: false, op: 'sync' });
    const pidFile = join(tmp.path, 'pid');
    await waitFor(() => existsSync(pidFile), 'the command to start');
    await plugin.close();
    await running;
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(async () => !(await alive(pid)), 'the command to be gone', 1000);
    const before = plugin.stats();
    await plugin.handle({ root: tmp.path, path: 'late', isDir: false, op: 'sync' });
    assert.ok(entries().some((e) => e.msg === 'plugin is closing: event dropped'));
    const after = plugin.stats();
    assert.equal(after.failed, before.failed + 1, 'the dropped event is counted as failed');
    assert.equal(after.lastError, 'plugin is closing: event dropped');
    assert.equal(after.failing, before.failing, 'a drop says nothing of whether the command works');
    assert.equal(existsSync(join(tmp.path, 'late')), false);
  } finally {
    await tmp.remove();
  }
});
