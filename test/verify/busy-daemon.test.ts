/**
 * `sersync2 verify` against a daemon whose module's `max connections` are taken when it starts
 * (a replicator's run holding the only slot): it compares once the slot is free, as the engine's
 * runs do, instead of failing with "max connections reached". Through the CLI, against a real daemon.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, holdModuleSlot, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { CLI, sersyncConfigXml, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, writeAlike } from '../helpers/trees.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  work = await tempDir('sersync-verify-busy-');
  daemon = await startRsyncDaemon({
    moduleLines: ['max connections = 1', `lock file = ${join(work.path, 'rsyncd.lock')}`],
  });
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('verify refused as busy by the daemon (max connections) compares once the slot is free', async () => {
  const watch = join(work.path, 'W');
  mkdirSync(watch);
  writeAlike([watch, daemon.dir], 'same.txt', 'on both');
  const file = writeConfig(
    work.path,
    sersyncConfigXml({ watch, daemons: [daemon], failLog: join(work.path, 'fail.sh') }),
  );
  const slot = await holdModuleSlot(daemon);
  try {
    const verify = spawn(
      process.execPath,
      [CLI, 'verify', '-o', file, '--state-dir', join(work.path, 'state')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    verify.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    verify.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = once(verify, 'exit');
    await eventually(
      () => /max connections \(1\) reached/.test(readFileSync(daemon.logFile, 'utf8')),
      30_000,
      "the daemon to refuse verify's run as busy",
    );
    slot.destroy();
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /max connections|could not compare/);
  } finally {
    slot.destroy();
  }
});
