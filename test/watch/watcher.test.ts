/**
 * One behavioural suite, run against both watcher backends on real temporary trees. What a
 * backend cannot do is declared once in GAPS (helpers.ts) and the test says so when it is skipped.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { describe, test } from 'node:test';
import { SersyncError } from '../../src/errors.js';
import type { RelPath } from '../../src/paths.js';
import { createWatcher, simulateOverflow, simulateReadError } from '../../src/watch/index.js';
import type { WatchEvent } from '../../src/watch/types.js';
import { BACKENDS, bytePath, Coverage, EventLog, needs, rel, withWatcher } from './helpers.js';

const HOSTILE = ['with space', `it's "quoted"`, 'back`tick`', 'new\nline', '-leading-dash', '$(echo x);|&'];

const touches = (path: RelPath) => (e: WatchEvent) =>
  (e.type === 'create' || e.type === 'write' || e.type === 'modify') && e.path === path;

for (const backend of BACKENDS) {
  describe(`watcher (${backend})`, () => {
    test('start() watches the root and every directory below it, not symlinked ones', () =>
      withWatcher(
        backend,
        ({ stats, watcher }) => {
          assert.equal(stats.backend, backend);
          assert.equal(stats.directories, 4);
          assert.equal(watcher.watchedDirectories(), 4);
          assert.ok(stats.readyMs >= 0 && stats.readyMs < 5000);
        },
        {
          setup: (root) => {
            mkdirSync(`${root}/a/b/c`, { recursive: true });
            mkdirSync(`${root}/../elsewhere/x`, { recursive: true });
            symlinkSync('../elsewhere', `${root}/a/link`);
            writeFileSync(`${root}/a/b/f`, 'x');
          },
        },
      ));

    test(
      'holds one inotify watch per directory, none per file',
      backend === 'chokidar'
        ? { skip: 'known gap: chokidar holds a watch per file (docs/benchmarks.md)' }
        : {},
      async () => {
        const before = inotifyWatchesHeld();
        await withWatcher(
          backend,
          () => {
            assert.equal(inotifyWatchesHeld() - before, 3);
          },
          {
            setup: (root) => {
              mkdirSync(`${root}/a/b`, { recursive: true });
              for (let i = 0; i < 50; i++) writeFileSync(`${root}/a/f${i}`, '');
            },
          },
        );
      },
    );

    test('a new file: create', () =>
      withWatcher(backend, async ({ root, log }) => {
        writeFileSync(`${root}/new.txt`, 'hello');
        await log.waitFor({ type: 'create', path: 'new.txt', isDir: false });
      }));

    test('an existing file rewritten: write (close_write)', () =>
      withWatcher(
        backend,
        async ({ root, log }) => {
          writeFileSync(`${root}/f.txt`, 'second');
          await log.waitFor({ type: 'write', path: 'f.txt' });
        },
        { setup: (root) => writeFileSync(`${root}/f.txt`, 'first') },
      ));

    test(
      'a file written but still open: modify, and write only once it is closed',
      needs(backend, 'modify'),
      () =>
        withWatcher(
          backend,
          async ({ root, log }) => {
            const fd = openSync(`${root}/f.txt`, 'a');
            writeSync(fd, 'more');
            await log.waitFor({ type: 'modify', path: 'f.txt' });
            await log.barrier(root);
            assert.ok(!log.events.some((e) => e.type === 'write' && e.path === 'f.txt'));
            closeSync(fd);
            await log.waitFor({ type: 'write', path: 'f.txt' });
          },
          { setup: (root) => writeFileSync(`${root}/f.txt`, 'x') },
        ),
    );

    test('chmod of a file and of a directory: attrib', needs(backend, 'attrib'), () =>
      withWatcher(
        backend,
        async ({ root, log }) => {
          chmodSync(`${root}/f.txt`, 0o600);
          chmodSync(`${root}/d`, 0o700);
          await log.waitFor({ type: 'attrib', path: 'f.txt', isDir: false });
          await log.waitFor({ type: 'attrib', path: 'd', isDir: true });
        },
        {
          setup: (root) => {
            writeFileSync(`${root}/f.txt`, 'x');
            mkdirSync(`${root}/d`);
          },
        },
      ),
    );

    test('chmod of a directory keeps it watched (sersync drops it)', () =>
      withWatcher(
        backend,
        async ({ root, log, watcher }) => {
          chmodSync(`${root}/d`, 0o700);
          await log.barrier(root);
          writeFileSync(`${root}/d/after-chmod.txt`, 'x');
          await log.until((evs) => evs.some(touches('d/after-chmod.txt')), 'd/after-chmod.txt');
          assert.equal(watcher.watchedDirectories(), 2);
        },
        { setup: (root) => mkdirSync(`${root}/d`) },
      ));

    test('a file deleted: delete', () =>
      withWatcher(
        backend,
        async ({ root, log }) => {
          rmSync(`${root}/f.txt`);
          await log.waitFor({ type: 'delete', path: 'f.txt', isDir: false });
        },
        { setup: (root) => writeFileSync(`${root}/f.txt`, 'x') },
      ));

    test('a new directory: create', () =>
      withWatcher(backend, async ({ root, log, watcher }) => {
        mkdirSync(`${root}/d`);
        await log.waitFor({ type: 'create', path: 'd', isDir: true });
        assert.equal(watcher.watchedDirectories(), 2);
      }));

    test(
      'a new directory: a file written in it once it is announced is reported',
      needs(backend, 'newDirRace'),
      () =>
        withWatcher(backend, async ({ root, log }) => {
          mkdirSync(`${root}/d`);
          await log.waitFor({ type: 'create', path: 'd', isDir: true });
          writeFileSync(`${root}/d/inside.txt`, 'x');
          await log.until((evs) => evs.some(touches('d/inside.txt')), 'd/inside.txt');
        }),
    );

    test('a directory tree deleted: delete, and its watches are gone', () =>
      withWatcher(
        backend,
        async ({ root, log, watcher }) => {
          rmSync(`${root}/a`, { recursive: true });
          await log.waitFor({ type: 'delete', path: 'a', isDir: true });
          await log.barrier(root);
          assert.equal(watcher.watchedDirectories(), 1);
          assert.deepEqual(log.errors, []);
        },
        {
          setup: (root) => {
            mkdirSync(`${root}/a/b/c`, { recursive: true });
            writeFileSync(`${root}/a/b/c/f`, 'x');
          },
        },
      ));

    test('a file renamed within the tree: rename', needs(backend, 'rename'), () =>
      withWatcher(
        backend,
        async ({ root, log }) => {
          renameSync(`${root}/old.txt`, `${root}/d/new.txt`);
          await log.waitFor({ type: 'rename', from: 'old.txt', to: 'd/new.txt', isDir: false });
        },
        {
          setup: (root) => {
            writeFileSync(`${root}/old.txt`, 'x');
            mkdirSync(`${root}/d`);
          },
        },
      ),
    );

    test('a directory renamed within the tree: rename, and it stays watched', needs(backend, 'rename'), () =>
      withWatcher(
        backend,
        async ({ root, log, watcher }) => {
          renameSync(`${root}/old`, `${root}/new`);
          await log.waitFor({ type: 'rename', from: 'old', to: 'new', isDir: true });
          assert.equal(watcher.watchedDirectories(), 3);
        },
        { setup: (root) => mkdirSync(`${root}/old/sub`, { recursive: true }) },
      ),
    );

    test('a directory renamed, then written inside: events use the new name', () =>
      withWatcher(
        backend,
        async ({ root, log }) => {
          renameSync(`${root}/old`, `${root}/new`);
          writeFileSync(`${root}/new/sub/after.txt`, 'x');
          await log.until((evs) => evs.some(touches('new/sub/after.txt')), 'new/sub/after.txt');
          assert.ok(!log.events.some((e) => 'path' in e && e.path === 'old/sub/after.txt'));
        },
        { setup: (root) => mkdirSync(`${root}/old/sub`, { recursive: true }) },
      ));

    test('mkdir -p a/b/c and files written in a/b/c at once: all covered', needs(backend, 'newDirRace'), () =>
      withWatcher(backend, async ({ root, log }) => {
        mkdirSync(`${root}/a/b/c`, { recursive: true });
        const files = Array.from({ length: 20 }, (_, i) => `a/b/c/f${i}`);
        for (const f of files) writeFileSync(`${root}/${f}`, 'x');
        const coverage = new Coverage(files);
        await log.until((evs) => coverage.uncovered(evs) === 0, 'every file covered');
        // The contract: when `a` is announced, a, a/b and a/b/c are already watched.
        const announced = log.events.findIndex((e) => e.type === 'create' && e.path === 'a');
        assert.equal(log.watchedAt[announced], 4);
      }),
    );

    test(
      'a directory made, then its parent renamed before the watcher looked: still watched',
      needs(backend, 'newDirRace'),
      () =>
        withWatcher(
          backend,
          async ({ root, log, watcher }) => {
            // One synchronous burst: both events reach the watcher in one read, after both happened.
            mkdirSync(`${root}/old/fresh`);
            renameSync(`${root}/old`, `${root}/new`);
            await log.until(() => watcher.watchedDirectories() === 3, 'new/fresh watched');
            writeFileSync(`${root}/new/fresh/later.txt`, 'x');
            await log.until((evs) => evs.some(touches('new/fresh/later.txt')), 'new/fresh/later.txt');
          },
          { setup: (root) => mkdirSync(`${root}/old`) },
        ),
    );

    test('mkdir -p a/b/c, later files in a/b/c: each reported', needs(backend, 'newDirRace'), () =>
      withWatcher(backend, async ({ root, log, watcher }) => {
        mkdirSync(`${root}/a/b/c`, { recursive: true });
        await log.until(() => watcher.watchedDirectories() === 4, 'a/b/c watched');
        writeFileSync(`${root}/a/b/c/later.txt`, 'x');
        await log.until((evs) => evs.some(touches('a/b/c/later.txt')), 'a/b/c/later.txt');
      }),
    );

    test(
      'a 3-level tree moved in: move-in, announced once all of it is watched',
      needs(backend, 'move'),
      () =>
        withWatcher(
          backend,
          async ({ root, log }) => {
            renameSync(`${root}/../outside/t`, `${root}/t`);
            await log.waitFor({ type: 'move-in', path: 't', isDir: true });
            const announced = log.events.findIndex((e) => e.type === 'move-in');
            assert.equal(log.watchedAt[announced], 4);
          },
          { setup: (root) => mkdirSync(`${root}/../outside/t/a/b`, { recursive: true }) },
        ),
    );

    test(
      'a 3-level tree moved in: files written in its deepest directory are reported',
      needs(backend, 'newDirRace'),
      () =>
        withWatcher(
          backend,
          async ({ root, log, watcher }) => {
            renameSync(`${root}/../outside/t`, `${root}/t`);
            await log.until(() => watcher.watchedDirectories() === 4, 't/a/b watched');
            writeFileSync(`${root}/t/a/b/deep.txt`, 'x');
            await log.until((evs) => evs.some(touches('t/a/b/deep.txt')), 't/a/b/deep.txt');
          },
          { setup: (root) => mkdirSync(`${root}/../outside/t/a/b`, { recursive: true }) },
        ),
    );

    test('a 3-level tree moved out: move-out', needs(backend, 'move'), () =>
      withWatcher(
        backend,
        async ({ root, log }) => {
          renameSync(`${root}/t`, `${root}/../t`);
          await log.waitFor({ type: 'move-out', path: 't', isDir: true });
        },
        { setup: (root) => mkdirSync(`${root}/t/a/b`, { recursive: true }) },
      ),
    );

    test('a 3-level tree moved out: its watches are dropped, its later changes unreported', () =>
      withWatcher(
        backend,
        async ({ root, log, watcher }) => {
          renameSync(`${root}/t`, `${root}/../t`);
          writeFileSync(`${root}/../t/a/b/after.txt`, 'x');
          await log.until(() => watcher.watchedDirectories() === 1, 'the moved tree unwatched');
          writeFileSync(`${root}/../t/a/b/later.txt`, 'x');
          await log.barrier(root);
          assert.deepEqual(
            log.events.filter((e) => 'path' in e && /after|later/.test(e.path)),
            [],
            'nothing from outside the tree',
          );
          assert.equal(watcher.watchedDirectories(), 1);
        },
        { setup: (root) => mkdirSync(`${root}/t/a/b`, { recursive: true }) },
      ));

    test('hostile names: spaces, quotes, backticks, newline, leading dash, shell syntax', () =>
      withWatcher(
        backend,
        async ({ root, log, watcher }) => {
          assert.equal(watcher.watchedDirectories(), 1 + HOSTILE.length);
          for (const name of HOSTILE) writeFileSync(`${root}/${name}`, 'x');
          for (const name of HOSTILE) writeFileSync(`${root}/${name}.d/${name}`, 'x');
          for (const name of HOSTILE) {
            await log.waitFor({ type: 'create', path: rel(name), isDir: false });
            await log.until((evs) => evs.some(touches(rel(`${name}.d/${name}`))), `${name}.d/${name}`);
          }
          mkdirSync(`${root}/${HOSTILE[0] ?? ''}.new`);
          await log.waitFor({ type: 'create', path: rel(`${HOSTILE[0] ?? ''}.new`), isDir: true });
        },
        { setup: (root) => HOSTILE.forEach((name) => mkdirSync(`${root}/${name}.d`)) },
      ));

    test('names that are not UTF-8 are reported byte for byte', needs(backend, 'bytes'), () =>
      withWatcher(backend, async ({ root, log, watcher }) => {
        const file = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74]).toString('latin1'); // f\xff\xfe.t
        const dir = Buffer.from([0x64, 0xe9, 0x80]).toString('latin1'); // latin-1 é + a stray byte
        writeFileSync(bytePath(root, file), 'x');
        mkdirSync(bytePath(root, dir));
        await log.waitFor({ type: 'create', path: file, isDir: false });
        await log.waitFor({ type: 'create', path: dir, isDir: true });
        assert.equal(watcher.watchedDirectories(), 2);
        writeFileSync(bytePath(root, `${dir}/${file}`), 'x');
        await log.until((evs) => evs.some(touches(`${dir}/${file}`)), 'the file in the non-UTF-8 directory');
      }),
    );

    test('the root deleted: root-gone, never a delete of the root', () =>
      withWatcher(
        backend,
        async ({ root, log, watcher }) => {
          rmSync(root, { recursive: true });
          await log.waitFor({ type: 'root-gone' });
          assert.ok(!log.events.some((e) => 'path' in e && e.path === ''));
          assert.equal(watcher.watchedDirectories(), 0);
        },
        { setup: (root) => mkdirSync(`${root}/a`) },
      ));

    test('the root moved away: root-gone', needs(backend, 'rootMove'), () =>
      withWatcher(backend, async ({ root, log }) => {
        renameSync(root, `${root}.moved`);
        try {
          await log.waitFor({ type: 'root-gone' });
          assert.ok(!log.events.some((e) => 'path' in e && e.path === ''));
        } finally {
          rmSync(`${root}.moved`, { recursive: true });
        }
      }),
    );

    test('an injected overflow is reported, and watching goes on', () =>
      withWatcher(backend, async ({ root, log, watcher }) => {
        simulateOverflow(watcher);
        await log.waitFor({ type: 'overflow' });
        writeFileSync(`${root}/after.txt`, 'x');
        await log.waitFor({ type: 'create', path: 'after.txt' });
      }));

    test(
      'a real kernel queue overflow: overflow, after the tree is watched afresh',
      needs(backend, 'overflow'),
      () =>
        withWatcher(
          backend,
          async ({ root, log, watcher }) => {
            // The event loop is blocked while this runs, so nothing is read and the queue overflows.
            // Alternating names keep the kernel from merging the events.
            const maxQueued = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
            for (let i = 0; i <= maxQueued; i++) chmodSync(`${root}/f${i % 2}`, i % 2 ? 0o644 : 0o600);
            mkdirSync(`${root}/made-while-overflowing`); // its create event is lost
            await log.waitFor({ type: 'overflow' });
            assert.equal(watcher.watchedDirectories(), 2);
            writeFileSync(`${root}/made-while-overflowing/f`, 'x');
            await log.until(
              (evs) => evs.some(touches('made-while-overflowing/f')),
              'made-while-overflowing/f',
            );
          },
          { setup: (root) => ['f0', 'f1'].forEach((f) => writeFileSync(`${root}/${f}`, '')) },
        ),
    );

    test('skipDir: a skipped directory is not watched, nor anything below it', () =>
      withWatcher(
        backend,
        async ({ root, log, watcher }) => {
          assert.equal(watcher.watchedDirectories(), 2);
          writeFileSync(`${root}/skip/f`, 'x');
          writeFileSync(`${root}/skip/inner/f`, 'x');
          mkdirSync(`${root}/keep/skip`);
          writeFileSync(`${root}/keep/f`, 'x');
          await log.until((evs) => evs.some(touches('keep/f')), 'keep/f');
          writeFileSync(`${root}/keep/skip/g`, 'x');
          await log.barrier(root);
          assert.deepEqual(
            log.events.filter((e) => 'path' in e && /^(keep\/)?skip\//.test(e.path)),
            [],
          );
          assert.equal(watcher.watchedDirectories(), 2);
        },
        {
          setup: (root) => {
            mkdirSync(`${root}/skip/inner`, { recursive: true });
            mkdirSync(`${root}/keep`);
          },
          skipDir: (p) => p.split('/').at(-1) === 'skip',
        },
      ));

    test('a directory moved out while being written (sersync aborts): no crash, no stale paths', () =>
      withWatcher(backend, async ({ root, log, watcher }) => {
        const outside = `${root}/../outside`;
        mkdirSync(outside);
        for (let i = 0; i < 30; i++) {
          mkdirSync(`${root}/a${i}`);
          writeFileSync(`${root}/a${i}/f`, 'x');
          renameSync(`${root}/a${i}`, `${outside}/a${i}`);
          writeFileSync(`${outside}/a${i}/f2`, 'y');
        }
        await log.until(() => watcher.watchedDirectories() === 1, 'every moved directory unwatched');
        await log.barrier(root);
        assert.deepEqual(log.errors, []);
        assert.deepEqual(
          log.events.filter((e) => 'path' in e && e.path.endsWith('/f2')),
          [],
        );
      }));

    test('xfs mode finds the same directories (lstat per entry)', () =>
      withWatcher(
        backend,
        ({ stats }) => {
          assert.equal(stats.directories, 3);
        },
        {
          xfs: true,
          setup: (root) => {
            mkdirSync(`${root}/a/b`, { recursive: true });
            writeFileSync(`${root}/a/f`, 'x');
            symlinkSync('a', `${root}/link-to-a`);
          },
        },
      ));

    test('nothing is reported once close() has resolved', () =>
      withWatcher(backend, async ({ root, log, watcher }) => {
        await watcher.close();
        const seen = log.events.length;
        writeFileSync(`${root}/after-close.txt`, 'x');
        // A second watcher on the same tree proves the change happened and was reported to it.
        const other = new EventLog(() => 0);
        const second = createWatcher(backend, {
          root,
          xfs: false,
          skipDir: () => false,
          onEvents: other.onEvents,
          onError: other.onError,
        });
        await second.start();
        try {
          writeFileSync(`${root}/after-close-2.txt`, 'x');
          await other.waitFor({ type: 'create', path: 'after-close-2.txt' });
        } finally {
          await second.close();
        }
        assert.equal(log.events.length, seen);
      }));

    test('start() on a missing root fails with a SersyncError naming it', async () => {
      const watcher = createWatcher(backend, {
        root: '/nonexistent/sersync-test-root',
        xfs: false,
        skipDir: () => false,
        onEvents: () => undefined,
        onError: () => undefined,
      });
      await assert.rejects(watcher.start(), (err: unknown) => {
        assert.ok(err instanceof SersyncError);
        assert.match(err.message, /\/nonexistent\/sersync-test-root/);
        return true;
      });
    });
  });
}

test('watcher (inotify): a drain before the close hands on the events still queued in the kernel, and a move waiting for its partner', async () => {
  await withWatcher('inotify', async ({ root, log, watcher }) => {
    // Written and renamed in one turn of the event loop: nothing of it has been read yet.
    for (let i = 0; i < 200; i++) writeFileSync(`${root}/f${i}`, `${i}`);
    renameSync(`${root}/f0`, `${root}/../moved-out`);
    assert.equal(log.events.length, 0, 'nothing read yet');
    assert.equal(await watcher.drain?.(), true);
    const written = new Set(
      log.events.filter((e) => e.type === 'write').map((e) => (e as { path: string }).path),
    );
    assert.equal(written.size, 200, 'every close_write handed on');
    assert.ok(
      log.events.some((e) => e.type === 'move-out' && e.path === 'f0'),
      'the unpaired move settled as a move out',
    );
  });
});

test('watcher (inotify): a drain reads what was queued before it, and does not wait for a tree that keeps changing', async () => {
  await withWatcher('inotify', async ({ root, log, watcher }) => {
    writeFileSync(`${root}/before`, 'queued before the drain');
    // A writer that never pauses for long: a drain waiting for silence would wait for its end.
    let written = 0;
    const writer = setInterval(() => writeFileSync(`${root}/busy-${written++ % 10}`, `${written}`), 1);
    try {
      assert.equal(await watcher.drain?.(), true);
      assert.ok(
        log.events.some((e) => e.type === 'write' && e.path === 'before'),
        'the write queued before the drain handed on',
      );
    } finally {
      clearInterval(writer);
    }
  });
});

test('watcher (inotify): a drain after a failed read says that changes may be lost', async () => {
  await withWatcher('inotify', async ({ watcher }) => {
    simulateReadError(watcher, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    assert.equal(await watcher.drain?.(), false);
  });
});

test('watcher (chokidar): a drain hands on what chokidar reports within its quiet spell', async () => {
  await withWatcher('chokidar', async ({ root, log, watcher }) => {
    writeFileSync(`${root}/just-before`, 'written as the stop begins');
    assert.equal(await watcher.drain?.(), true);
    assert.ok(log.events.some(touches('just-before')), 'the write handed on');
  });
});

test('watcher (inotify): settled resolves once what the kernel had queued is handed on, a move waiting for its partner with it', async () => {
  await withWatcher('inotify', async ({ root, log, watcher }) => {
    // Made in one turn of the event loop: nothing of it has been read yet.
    for (let i = 0; i < 200; i++) writeFileSync(`${root}/f${i}`, `${i}`);
    mkdirSync(`${root}/d`);
    renameSync(`${root}/f0`, `${root}/../moved-out`);
    assert.equal(log.events.length, 0, 'nothing read yet');
    await watcher.settled();
    const written = new Set(log.events.flatMap((e) => (e.type === 'write' ? [e.path] : [])));
    assert.equal(written.size, 200, 'every close_write handed on');
    assert.ok(
      log.events.some((e) => e.type === 'create' && e.path === 'd'),
      'the directory handed on',
    );
    assert.ok(
      log.events.some((e) => e.type === 'move-out' && e.path === 'f0'),
      'the move waiting for its partner handed on as a move out',
    );
    const before = log.events.length;
    await watcher.settled();
    assert.equal(log.events.length, before, 'nothing queued: settled at once');
  });
});

test('watcher (inotify): settled does not wait for a tree that keeps changing, nor for a watcher whose read failed', async () => {
  await withWatcher('inotify', async ({ root, log, watcher }) => {
    writeFileSync(`${root}/before`, 'queued before');
    let written = 0;
    const writer = setInterval(() => writeFileSync(`${root}/busy-${written++ % 10}`, `${written}`), 1);
    try {
      await watcher.settled();
      assert.ok(
        log.events.some((e) => e.type === 'write' && e.path === 'before'),
        'what came before handed on',
      );
      writeFileSync(`${root}/unread`, 'queued when the read fails');
      const settling = watcher.settled();
      simulateReadError(watcher, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
      await settling;
    } finally {
      clearInterval(writer);
    }
  });
});

test('watcher (chokidar): settled hands on what chokidar reports within its quiet spell', async () => {
  await withWatcher('chokidar', async ({ root, log, watcher }) => {
    writeFileSync(`${root}/just-before`, 'written just before');
    await watcher.settled();
    assert.ok(log.events.some(touches('just-before')), 'the write handed on');
  });
});

/** The inotify watches this process holds: the `inotify wd:` lines of its inotify fds' fdinfo. */
function inotifyWatchesHeld(): number {
  let held = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue;
      held += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // the fd was closed meanwhile
    }
  }
  return held;
}
