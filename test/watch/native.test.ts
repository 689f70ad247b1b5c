/** The N-API binding itself (native/inotify.c), on real files. */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fromBytes } from '../../src/paths.js';
import { IN, parseInotifyEvents, type RawInotifyEvent } from '../../src/watch/inotify-events.js';
import { loadBindingFrom, loadInotifyBinding, type InotifyBinding } from '../../src/watch/native.js';
import { tempDir } from '../helpers/tmp.js';

const load = loadInotifyBinding();

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
