/** The N-API binding itself (native/inotify.c), on real files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fromBytes } from '../../src/paths.js';
import { IN, parseInotifyEvents, type RawInotifyEvent } from '../../src/watch/inotify-events.js';
import {
  ADDON_PATH,
  loadBindingFrom,
  loadInotifyBinding,
  type InotifyBinding,
  type InotifyHandle,
} from '../../src/watch/native.js';
import { tempDir } from '../helpers/tmp.js';

const load = loadInotifyBinding();

/** This process's inotify fds, each with the number of watches it holds. */
function inotifyFds(): Map<string, number> {
  const fds = new Map<string, number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue;
      const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      fds.set(fd, info.split('\n').filter((l) => l.startsWith('inotify wd:')).length);
    } catch {
      // closed meanwhile
    }
  }
  return fds;
}

/** Resolves once `holds()`, checking after each loop turn; rejects after `ms`. */
async function until(holds: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!holds()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await nextTurn();
  }
}

const vmSizeKiB = (): number =>
  Number(/VmSize:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

describe('native inotify binding', () => {
  test('loads on Linux (npm install builds it with node-gyp)', () => {
    assert.equal(process.platform, 'linux');
    assert.ok(load.ok, load.ok ? '' : load.reason);
  });

  test('an absent addon is reported with the reason, not thrown', () => {
    const missing = loadBindingFrom('/nonexistent/sersync_inotify.node');
    assert.ok(!missing.ok);
    assert.match(missing.reason, /did not load \(\/nonexistent\/sersync_inotify\.node\)/);
  });

  describe('calls', { skip: load.ok ? undefined : 'the binding did not load' }, () => {
    const binding = (load.ok ? load.binding : undefined) as InotifyBinding;
    let tmp: { path: string; remove: () => Promise<void> };
    before(async () => {
      tmp = await tempDir();
      mkdirSync(`${tmp.path}/dir`);
      writeFileSync(`${tmp.path}/file`, 'x');
      symlinkSync('dir', `${tmp.path}/link`);
    });
    after(() => tmp.remove());

    const errnoOf = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return { code: e.code, syscall: e.syscall };
      }
      return 'no error';
    };

    test('addWatch returns a wd; failures carry the errno code', () => {
      const handle = binding.open(() => undefined);
      try {
        const mask = IN.CREATE | IN.ONLYDIR | IN.DONT_FOLLOW;
        assert.ok(binding.addWatch(handle, Buffer.from(`${tmp.path}/dir`), mask) > 0);
        const fail = (path: string): unknown =>
          errnoOf(() => binding.addWatch(handle, Buffer.from(path), mask));
        assert.deepEqual(fail(`${tmp.path}/missing`), { code: 'ENOENT', syscall: 'inotify_add_watch' });
        assert.deepEqual(fail(`${tmp.path}/file`), { code: 'ENOTDIR', syscall: 'inotify_add_watch' });
        assert.deepEqual(
          fail(`${tmp.path}/link`),
          { code: 'ENOTDIR', syscall: 'inotify_add_watch' },
          'no symlink followed',
        );
        assert.deepEqual(
          errnoOf(() => {
            binding.rmWatch(handle, 99_999);
          }),
          { code: 'EINVAL', syscall: 'inotify_rm_watch' },
        );
      } finally {
        binding.close(handle);
      }
      assert.deepEqual(
        errnoOf(() => binding.addWatch(handle, Buffer.from(tmp.path), IN.CREATE)),
        {
          code: 'EBADF',
          syscall: 'inotify_add_watch',
        },
      );
      assert.throws(() => binding.addWatch(handle, 'not a buffer' as unknown as Buffer, 1), TypeError);
    });

    test('a call with too few arguments throws a TypeError instead of returning undefined', () => {
      const handle = binding.open(() => undefined);
      try {
        const calls: [string, () => unknown][] = [
          ['open()', () => (binding.open as () => unknown)()],
          [
            'addWatch(handle, path)',
            () => (binding.addWatch as (...a: unknown[]) => unknown)(handle, Buffer.from('/')),
          ],
          ['addWatch()', () => (binding.addWatch as () => unknown)()],
          ['rmWatch(handle)', () => (binding.rmWatch as (h: unknown) => unknown)(handle)],
          ['pause()', () => (binding.pause as () => unknown)()],
          ['resume()', () => (binding.resume as () => unknown)()],
          ['close()', () => (binding.close as () => unknown)()],
          ['close({})', () => (binding.close as (h: unknown) => unknown)({})],
        ];
        for (const [call, fn] of calls) assert.throws(fn, TypeError, call);
      } finally {
        binding.close(handle);
      }
    });

    test('a path with a NUL byte is refused, not cut at the NUL (which would watch its prefix)', () => {
      const handle = binding.open(() => undefined);
      try {
        const before = inotifyFds();
        assert.throws(
          () => binding.addWatch(handle, Buffer.from(`${tmp.path}/dir\0/elsewhere`), IN.CREATE),
          (err: NodeJS.ErrnoException) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_VALUE',
        );
        assert.deepEqual(inotifyFds(), before, 'no watch was added');
      } finally {
        binding.close(handle);
      }
    });

    test('pause() leaves the events to the kernel, which reports IN_Q_OVERFLOW past its limit; resume() delivers it', async () => {
      const limit = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
      const dir = `${tmp.path}/flood`;
      mkdirSync(dir);
      const got: RawInotifyEvent[] = [];
      const handle = binding.open((err, chunk) => {
        assert.equal(err, null);
        got.push(...parseInotifyEvents(chunk as Buffer));
      });
      try {
        binding.addWatch(handle, Buffer.from(dir), IN.CREATE);
        binding.pause(handle);
        for (let i = 0; i <= limit; i++) closeSync(openSync(`${dir}/${i}`, 'w'));
        await nextTurn(); // a poll phase: a polled fd would have been read in it
        await nextTurn();
        assert.equal(got.length, 0, 'nothing read while paused');
        binding.resume(handle);
        await until(() => got.some((e) => e.mask & IN.Q_OVERFLOW), 'IN_Q_OVERFLOW');
        assert.equal(got.length, limit + 1, 'the kernel kept its limit of events and the overflow');
        assert.equal(got.at(-1)?.mask, IN.Q_OVERFLOW);
      } finally {
        binding.close(handle);
      }
    });

    test('a handle JavaScript can no longer reach is closed by the garbage collector', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const before = inotifyFds().size;
      // The callback reaches the handle, as a watcher's does: a cycle that only a weak hold lets go.
      (() => {
        const holder: { handle?: InotifyHandle } = {};
        holder.handle = binding.open(() => holder.handle);
        binding.addWatch(holder.handle, Buffer.from(`${tmp.path}/dir`), IN.CREATE);
      })();
      assert.equal(inotifyFds().size, before + 1);
      await until(() => {
        gc();
        return inotifyFds().size === before;
      }, 'the finaliser to close the inotify fd');
    });

    test('close() releases the memory of a handle at once, without waiting for the garbage collector', () => {
      const handles: InotifyHandle[] = [];
      const mapped = vmSizeKiB();
      for (let i = 0; i < 10; i++) handles.push(binding.open(() => undefined));
      for (const h of handles) binding.close(h);
      // A 256 KiB read buffer per handle kept until GC would leave 2.5 MiB mapped here.
      assert.ok(vmSizeKiB() - mapped < 1024, `${vmSizeKiB() - mapped} KiB still mapped after close()`);
    });

    test('a failed set-up (no fd left) throws the errno and leaks nothing', () => {
      // In a child with few fds: open until inotify_init1 fails, close one, and open again.
      const script = `
        const b = require(${JSON.stringify(ADDON_PATH)});
        const hs = []; let error;
        try { for (let i = 0; i < 64; i++) hs.push(b.open(() => {})); } catch (e) { error = e; }
        b.close(hs.pop());
        const again = b.open(() => {});
        console.log(JSON.stringify({ code: error && error.code, syscall: error && error.syscall, opened: hs.length, again: typeof again }));
        for (const h of [...hs, again]) b.close(h);
      `;
      const child = spawnSync('prlimit', ['--nofile=40:40', process.execPath, '-e', script], {
        encoding: 'utf8',
      });
      assert.equal(child.status, 0, child.stderr);
      const result = JSON.parse(child.stdout) as {
        code: string;
        syscall: string;
        opened: number;
        again: string;
      };
      assert.equal(result.code, 'EMFILE');
      assert.equal(result.syscall, 'inotify_init1');
      assert.equal(result.again, 'object', 'an fd freed by close() can be used again');
    });

    test('events arrive as raw struct inotify_event bytes, names byte for byte', async () => {
      const name = Buffer.from([0x6e, 0xff, 0x0a, 0x2d]); // n, a stray byte, a newline, a dash
      const got: RawInotifyEvent[] = [];
      let wake: () => void = () => undefined;
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const handle = binding.open((err, chunk) => {
        assert.equal(err, null);
        got.push(...parseInotifyEvents(chunk as Buffer));
        if (got.some((e) => e.mask & IN.CLOSE_WRITE)) wake();
      });
      try {
        const wd = binding.addWatch(handle, Buffer.from(`${tmp.path}/dir`), IN.CREATE | IN.CLOSE_WRITE);
        writeFileSync(Buffer.concat([Buffer.from(`${tmp.path}/dir/`), name]), 'x');
        await arrived;
        assert.deepEqual(
          got.map((e) => ({ wd: e.wd, mask: e.mask, name: e.name })),
          [
            { wd, mask: IN.CREATE, name: fromBytes(name) },
            { wd, mask: IN.CLOSE_WRITE, name: fromBytes(name) },
          ],
        );
      } finally {
        binding.close(handle);
      }
    });
  });
});
