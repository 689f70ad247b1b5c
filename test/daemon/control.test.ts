/** The control socket over real Unix sockets: ownership, one instance per config, stale sockets, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { askDaemon, ControlServer, NotRunningError } from '../../src/daemon/control.js';
import { SersyncError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('sersync-control-');
  try {
    await fn(dir.path);
  } finally {
    await dir.remove();
  }
}

test('control: the socket is owner-only, answers hello at once and the rest once handled', () =>
  withDir(async (dir) => {
    const file = join(dir, 'control.sock');
    const control = await ControlServer.claim(file, '/etc/confxml.xml');
    try {
      assert.ok(lstatSync(file).isSocket());
      assert.equal(lstatSync(file).mode & 0o777, 0o600);
      assert.deepEqual(await askDaemon(file, { op: 'hello' }), {
        pid: process.pid,
        version: (await import('../../src/version.js')).packageVersion(),
      });
      await assert.rejects(askDaemon(file, { op: 'status' }), /still starting/);
      const seen: unknown[] = [];
      control.handle((request) => {
        seen.push(request);
        if (request.op === 'resync' && request.root === '/nope')
          throw new SersyncError('X', '/nope is not a tree');
        return { answered: request.op };
      });
      assert.deepEqual(await askDaemon(file, { op: 'status' }), { answered: 'status' });
      assert.deepEqual(await askDaemon(file, { op: 'resync', root: '/srv/a b' }), { answered: 'resync' });
      await assert.rejects(askDaemon(file, { op: 'resync', root: '/nope' }), /\/nope is not a tree/);
      assert.deepEqual(seen, [
        { op: 'status' },
        { op: 'resync', root: '/srv/a b' },
        { op: 'resync', root: '/nope' },
      ]);
    } finally {
      await control.close();
    }
  }));

test('control: a second instance for the same config is refused, naming the pid of the first', () =>
  withDir(async (dir) => {
    const file = join(dir, 'control.sock');
    const first = await ControlServer.claim(file, '/etc/confxml.xml');
    try {
      await assert.rejects(ControlServer.claim(file, '/etc/confxml.xml'), (err: Error) => {
        assert.match(err.message, new RegExp(`another sersync2 \\(pid ${process.pid}\\) is already running`));
        assert.match(err.message, /\/etc\/confxml\.xml/);
        return true;
      });
      assert.deepEqual(((await askDaemon(file, { op: 'hello' })) as { pid: number }).pid, process.pid);
    } finally {
      await first.close();
    }
  }));

test('control: a socket left by a process killed with SIGKILL is replaced', () =>
  withDir(async (dir) => {
    const file = join(dir, 'control.sock');
    const child = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`,
    ]);
    child.stdout.setEncoding('utf8');
    await once(child.stdout, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok(existsSync(file), 'the dead process left its socket behind');
    await assert.rejects(askDaemon(file, { op: 'hello' }), NotRunningError);
    const control = await ControlServer.claim(file, '/etc/confxml.xml');
    try {
      assert.equal(((await askDaemon(file, { op: 'hello' })) as { pid: number }).pid, process.pid);
    } finally {
      await control.close();
    }
  }));

test('control: a file that is not a socket is never removed', () =>
  withDir(async (dir) => {
    const file = join(dir, 'control.sock');
    writeFileSync(file, 'precious');
    await assert.rejects(ControlServer.claim(file, '/etc/confxml.xml'), /in the way of the control socket/);
    assert.ok(lstatSync(file).isFile());
  }));

test('control: nothing listening is a NotRunningError', () =>
  withDir(async (dir) => {
    await assert.rejects(askDaemon(join(dir, 'none.sock'), { op: 'status' }), (err: Error) => {
      assert.ok(err instanceof NotRunningError);
      assert.match(err.message, /no sersync2 is running/);
      return true;
    });
  }));

test('control: garbage and unknown requests get an error reply, and the server keeps serving', () =>
  withDir(async (dir) => {
    const file = join(dir, 'control.sock');
    const control = await ControlServer.claim(file, '/etc/confxml.xml');
    control.handle(() => 'fine');
    try {
      const raw = async (line: string): Promise<unknown> => {
        const socket = connect(file);
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => (data += c));
        socket.end(line);
        await once(socket, 'close');
        return JSON.parse(data);
      };
      const garbage = (await raw('not json\n')) as { ok: boolean; error: string };
      assert.equal(garbage.ok, false);
      assert.match(garbage.error, /^bad request: /);
      const unknown = (await raw('{"op":"delete-everything"}\n')) as { ok: boolean; error: string };
      assert.equal(unknown.ok, false);
      assert.match(unknown.error, /unknown request/);
      const long = (await raw('x'.repeat(70_000))) as { ok: boolean; error: string };
      assert.deepEqual(long, { ok: false, error: 'request too long' });
      assert.equal(await askDaemon(file, { op: 'status' }), 'fine');
    } finally {
      await control.close();
    }
  }));

test('control: a socket path longer than a Unix socket allows is a clear error, not a truncated name', async () => {
  const file = `/tmp/${'d'.repeat(100)}/control.sock`;
  await assert.rejects(
    ControlServer.claim(file, '/etc/confxml.xml'),
    /more than a Unix socket allows \(107\)/,
  );
  await assert.rejects(askDaemon(file, { op: 'status' }), /choose a shorter state directory/);
  assert.equal(existsSync(`/tmp/${'d'.repeat(100)}`), false);
});
