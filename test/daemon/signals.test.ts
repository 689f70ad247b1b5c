/** Real signals: stop on TERM and INT, reload on HUP, none lost while starting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DaemonSignals } from '../../src/daemon/signals.js';

/**
 * Sends SIGHUP to this process and resolves once it has been handled (a listener added after
 * DaemonSignals' runs after it). Signal handles do not keep the event loop alive; the deadline does.
 */
async function hupSelf(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('SIGHUP not delivered within 2 s')), 2000);
  });
  const arrived = once(process, 'SIGHUP');
  process.kill(process.pid, 'SIGHUP');
  try {
    await Promise.race([arrived, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

test('signals: a SIGHUP before reloading is possible is delivered once it is, later ones at once', async () => {
  const signals = new DaemonSignals();
  try {
    await hupSelf();
    let reloads = 0;
    signals.onReload(() => reloads++);
    assert.equal(reloads, 1, 'the early SIGHUP was kept');
    await hupSelf();
    assert.equal(reloads, 2);
  } finally {
    signals.dispose();
  }
});

// The test runner itself acts on SIGINT, so stop signals go to a child process.
const CHILD = fileURLToPath(new URL('./signals-child.js', import.meta.url));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`signals: ${signal} asks for a stop, and the process exits normally`, async () => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      out += c;
      if (out === 'ready\n') child.kill(signal);
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.equal(out, `ready\nstopped by ${signal}\n`);
  });
}

test('signals: fail ends the wait with the error; dispose removes the handlers', async () => {
  const before = process.listenerCount('SIGHUP');
  const signals = new DaemonSignals();
  signals.fail(new Error('cannot go on'));
  await assert.rejects(signals.stopped, /cannot go on/);
  signals.dispose();
  assert.equal(process.listenerCount('SIGHUP'), before);
});
