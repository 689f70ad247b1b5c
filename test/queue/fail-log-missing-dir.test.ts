/** A fail log whose directory is missing: one clean warning in check and at start, one line at run time. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import type { PathOp } from '../../src/coalesce/types.js';
import { openQueueForConfig } from '../../src/queue/open.js';
import { CLI } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { testConfig } from './helpers/config.js';

test('a missing fail-log directory: a positioned warning from check, no stack', async () => {
  const dir = await tempDir('sersync-faillog-');
  try {
    const file = join(dir.path, 'confxml.xml');
    const missing = join(dir.path, 'logs');
    writeFileSync(
      file,
      `<head><sersync><localpath watch="/w"><remote ip="10.0.0.1" name="m"/></localpath>\n` +
        `<failLog path="${missing}/rsync_fail_log.sh" timeToExecute="60"/></sersync></head>`,
    );
    const r = spawnSync(process.execPath, [CLI, 'check', '-o', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const warning =
      `${file}:2:10: warning: the fail log's directory ${missing} does not exist: the list of failed ` +
      'syncs is not written there (retries are not affected); create it or point failLog path elsewhere';
    assert.ok(r.stdout.split('\n').includes(warning), r.stdout);
    assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m);
  } finally {
    await dir.remove();
  }
});

test('a missing fail-log directory at run time: one warning line, without a stack, however often it changes', async () => {
  const dir = await tempDir('sersync-faillog-');
  try {
    const failLog = join(dir.path, 'gone', 'rsync_fail_log.sh');
    const config = testConfig(dir.path, { watch: '/W', failLog, stateDir: join(dir.path, 'state') });
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const { store } = openQueueForConfig(config, { stateDirFlag: null, log });
    try {
      const op: PathOp = { kind: 'sync', path: 'f.txt' };
      for (let i = 0; i < 3; i++)
        store.fail(store.begin('127.0.0.1::tongbu1', '/W', [op]), { exitCode: 1, message: '' });
      store.succeed(store.begin('127.0.0.1::tongbu1', '/W', [op]));
    } finally {
      store.close();
    }
    assert.equal(lines.length, 1, lines.join(''));
    const entry = JSON.parse(lines[0] ?? '{}') as { msg?: string; err?: unknown };
    assert.equal(entry.err, undefined);
    assert.equal(
      entry.msg,
      `the fail log is not written: the directory of ${failLog} does not exist (the retry queue is unaffected)`,
    );
  } finally {
    await dir.remove();
  }
});
