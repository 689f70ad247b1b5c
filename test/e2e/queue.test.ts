/**
 * The durable retry queue end to end: a real replicator process, a real daemon that goes away or
 * refuses, and `sersync2 queue` as the operator runs it. Nothing written while the remote is
 * unusable may be lost, and the queue must empty once it is usable again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { CLI, sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, treeDiff } from '../helpers/trees.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  work = await tempDir('sersync-queue-e2e-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

interface Setup {
  readonly src: string;
  readonly config: string;
  readonly state: string;
}

let n = 0;
function setup(): Setup {
  const base = join(work.path, `run${++n}`);
  const src = join(base, 'W');
  mkdirSync(src, { recursive: true });
  rmSync(daemon.dir, { recursive: true, force: true });
  mkdirSync(daemon.dir);
  const config = writeConfig(
    base,
    sersyncConfigXml({ watch: src, daemons: [daemon], failLog: join(base, 'fail.sh') }),
  );
  return { src, config, state: join(base, 'state') };
}

/** A writer's script (for `node -e`, the tree as argv[1]): `burst(each)` writes 100 new directories of 100 files, calling `each(d)` after each. */
const BURST = `const fs = require('fs'), p = require('path'), r = process.argv[1];
  const burst = (each) => { for (let d = 0; d < 100; d++) { fs.mkdirSync(p.join(r, 'd' + d));
    for (let f = 0; f < 100; f++) fs.writeFileSync(p.join(r, 'd' + d, 'f' + f), 'x'.repeat(d + f)); each(d); } }`;

interface JsonRow {
  readonly remoteId: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly op: { readonly kind: string; readonly path: string };
}

function queueList(s: Setup): JsonRow[] {
  const r = spawnSync(
    process.execPath,
    [CLI, 'queue', 'list', '--json', '-o', s.config, '--state-dir', s.state],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as JsonRow[];
}

test('queue: files written while the daemon is down are queued, and sent once it is back', async () => {
  const s = setup();
  const proc = await startSersync(s.config, [], s.state);
  try {
    await daemon.stop();
    try {
      mkdirSync(join(s.src, 'burst'));
      for (let i = 0; i < 1000; i++) writeFileSync(join(s.src, 'burst', `f${i}`), `file ${i}`);
      await eventually(() => queueList(s).length > 0, 15_000, 'rows in the queue');
      const rows = queueList(s);
      assert.ok(rows.every((r) => r.remoteId === `127.0.0.1::${daemon.module}` && r.attempts >= 1));
      assert.match(rows[0]?.lastError ?? '', /Connection refused/);
    } finally {
      await daemon.restart();
    }
    await eventually(
      () => treeDiff(s.src, daemon.dir) === '',
      20_000,
      'convergence after the daemon came back',
    );
    await eventually(() => queueList(s).length === 0, 10_000, 'an empty queue');
  } finally {
    assert.equal(await proc.stop(), 0);
  }
});

test("queue: a wrong password leaves rows with rsync's auth error; fixed and retried, it converges", async () => {
  const s = setup();
  writeFileSync(daemon.passwordFile, 'wrong\n', { mode: 0o600 });
  const proc = await startSersync(s.config, [], s.state);
  try {
    writeFileSync(join(s.src, 'a.txt'), 'a');
    writeFileSync(join(s.src, 'b.txt'), 'b');
    await eventually(() => queueList(s).length === 2, 15_000, 'two queued rows');
    for (const row of queueList(s)) assert.match(row.lastError ?? '', /auth failed/);
    writeFileSync(daemon.passwordFile, 'secret\n', { mode: 0o600 });
    const r = spawnSync(
      process.execPath,
      [CLI, 'queue', 'retry', '--all', '-o', s.config, '--state-dir', s.state],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    await eventually(() => treeDiff(s.src, daemon.dir) === '', 15_000, 'convergence after queue retry');
    await eventually(() => queueList(s).length === 0, 10_000, 'an empty queue');
  } finally {
    writeFileSync(daemon.passwordFile, 'secret\n', { mode: 0o600 });
    assert.equal(await proc.stop(), 0);
  }
});

test('queue retry --now is refused while the daemon runs (its lanes send the rows); stopped, it sends them here', async () => {
  const s = setup();
  const cli = (args: readonly string[]): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [CLI, ...args, '-o', s.config, '--state-dir', s.state], {
      encoding: 'utf8',
    });
  writeFileSync(daemon.passwordFile, 'wrong\n', { mode: 0o600 });
  const proc = await startSersync(s.config, [], s.state);
  try {
    writeFileSync(join(s.src, 'a.txt'), 'a');
    await eventually(() => queueList(s).some((r) => r.attempts > 0), 15_000, 'a failed row');
    const attempts = queueList(s).map((r) => r.attempts);
    const refused = cli(['queue', 'retry', '--all', '--now']);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(
      refused.stderr,
      new RegExp(
        `queue retry --now: sersync2 \\(pid ${proc.child.pid ?? 0}\\) is running for ${s.src}.*"sersync2 queue retry --all" \\(without --now\\)`,
      ),
    );
    assert.equal(refused.stdout, '', 'it sent something');
    assert.ok(queueList(s).every((r, i) => r.attempts >= (attempts[i] ?? 0)));
  } finally {
    assert.equal(await proc.stop(), 0);
  }
  writeFileSync(daemon.passwordFile, 'secret\n', { mode: 0o600 });
  const sent = cli(['queue', 'retry', '--all', '--now']);
  assert.equal(sent.status, 0, sent.stderr);
  assert.match(sent.stdout, /^\d+ {2}ok {2}sent$/m);
  assert.equal(treeDiff(s.src, daemon.dir), '');
  assert.deepEqual(queueList(s), []);
});

test('queue: kill -9 in the middle of a 10,000-file burst loses nothing', async () => {
  const s = setup();
  const first = await startSersync(s.config, [], s.state);
  const writer = spawn(
    process.execPath,
    ['-e', `${BURST}; burst((d) => { if (d === 30) process.stdout.write('third\\n'); });`, s.src],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [chunk] = (await once(writer.stdout, 'data')) as [Buffer];
  assert.equal(chunk.toString().trim(), 'third');
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  await once(writer, 'exit');
  const second = await startSersync(s.config, [], s.state);
  try {
    await eventually(
      () => treeDiff(s.src, daemon.dir) === '',
      30_000,
      'convergence after kill -9 and restart',
    );
    assert.match(second.stderr(), /did not stop cleanly/);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test('queue: a stop right after a 10,000-file burst queues what it had not sent; the start sends it, with no full resync', async () => {
  const s = setup();
  const first = await startSersync(s.config, [], s.state);
  const writer = spawnSync(
    process.execPath,
    [
      '-e',
      `${BURST}; burst(() => undefined);
       fs.writeFileSync(p.join(r, '.env.sample'), 'held 2 s for its name: certainly not sent yet');`,
      s.src,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(writer.status, 0, writer.stderr);
  assert.equal(await first.stop(), 0, first.stderr());
  assert.match(first.stderr(), /changes not sent yet are queued/);
  assert.ok(queueList(s).length > 0, 'the rows wait in the queue while nothing runs');
  const second = await startSersync(s.config, [], s.state);
  try {
    await eventually(() => treeDiff(s.src, daemon.dir) === '', 30_000, 'convergence after the start');
    await eventually(() => queueList(s).length === 0, 10_000, 'the queue empties');
    assert.doesNotMatch(second.stderr(), /did not stop cleanly/, 'a clean stop: no full resync');
  } finally {
    assert.equal(await second.stop(), 0);
  }
});
