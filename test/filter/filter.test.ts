/**
 * src/filter/ as tables: which paths the exclude regexes and the dot-file rule keep out, which
 * names the temp-name table matches (it only delays them), what each watcher event becomes, and
 * the delay itself on a real directory: a file that vanishes never travels, one that stays does;
 * a file its writer keeps open is sent once it stays, less often each time it is sent open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wholeMatchFromBoost } from '../../src/config/boost-regex.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { InotifyToggles } from '../../src/config/types.js';
import { toChanges, type Change } from '../../src/filter/changes.js';
import { HeldFiles } from '../../src/filter/held-files.js';
import { compilePathFilter, type FilterSpec, type PathPredicate } from '../../src/filter/path-filter.js';
import { isTempFileName } from '../../src/filter/temp-files.js';
import { openSendWaitMs, UnclosedFiles } from '../../src/filter/unclosed-files.js';
import type { WatchEvent } from '../../src/watch/types.js';

/** A filter of sersync `<exclude>` expressions, read as the config reads them. */
const spec = (
  over: { excludes?: readonly string[]; ignoreDotFiles?: boolean; own?: readonly string[] } = {},
): FilterSpec => ({
  excludes: (over.excludes ?? []).map((e) => {
    const js = wholeMatchFromBoost(e);
    if (!('source' in js)) throw new Error(`${e}: ${js.error}`);
    return js;
  }),
  ignoreDotFiles: over.ignoreDotFiles ?? false,
  own: over.own ?? [],
});

test('path filter: what is excluded', () => {
  const rows: [string, FilterSpec, string, boolean, boolean][] = [
    // [what, spec, path, isDir, excluded]
    ['no rule', spec(), 'a/b.txt', false, false],
    ['the root is never excluded', spec({ excludes: ['.*'] }), '', true, false],
    ['a regex on the name at the root', spec({ excludes: ['(.*)\\.log'] }), 'x.log', false, true],
    [
      'a regex matched with the leading / below',
      spec({ excludes: ['/sub/tmp(.*)'] }),
      'sub/tmpfile',
      false,
      true,
    ],
    ['and without it', spec({ excludes: ['sub/tmp(.*)'] }), 'sub/tmpfile', false, true],
    ['whole-string match: a prefix is not enough', spec({ excludes: ['x'] }), 'xy', false, false],
    ['a directory form with a trailing /', spec({ excludes: ['(.*)/cache/'] }), 'sub/cache', true, true],
    [
      'a contents rule keeps the directory itself',
      spec({ excludes: ['(.*)/cache/(.*)'] }),
      'sub/cache',
      true,
      false,
    ],
    ['… and a new top-level one', spec({ excludes: ['(.*)/cache/(.*)'] }), 'cache', true, false],
    ['… but not what is inside', spec({ excludes: ['(.*)/cache/(.*)'] }), 'sub/cache/x', false, true],
    ['… at the top level too', spec({ excludes: ['(.*)/cache/(.*)'] }), 'cache/x', false, true],
    [
      'a POSIX class, as Boost reads it',
      spec({ excludes: ['(.*)\\.log\\.[[:digit:]]+'] }),
      'app.log.1',
      false,
      true,
    ],
    ['\\A and \\z anchors', spec({ excludes: ['\\A(.*)\\.tmp\\z'] }), 'd/a.tmp', false, true],
    ['\\Q…\\E quotes', spec({ excludes: ['(.*)\\Q.txt\\E'] }), 'a.txt', false, true],
    ['… literally', spec({ excludes: ['(.*)\\Q.txt\\E'] }), 'aXtxt', false, false],
    ['. matches a newline in a name, as in Boost', spec({ excludes: ['(.*)\\.gz'] }), 'a\nb.gz', false, true],
    ['a leading (?i)', spec({ excludes: ['(?i)(.*)\\.jpg'] }), 'PHOTO.JPG', false, true],
    ['dot files kept by default', spec(), '.env', false, false],
    ['dot files out with ignoreDotFiles', spec({ ignoreDotFiles: true }), 'd/.env', false, true],
    ['backup~ out with ignoreDotFiles', spec({ ignoreDotFiles: true }), 'd/a.txt~', false, true],
    ['a dot directory is not a dot file', spec({ ignoreDotFiles: true }), '.git', true, false],
    ['temp names are not excluded (only delayed)', spec(), '.env.sample', false, false],
    ['nor a swap file', spec(), 'd/.a.txt.swp', false, false],
    ["sersync2's own fail log in the tree", spec({ own: ['log/fail.sh'] }), 'log/fail.sh', false, true],
    [
      '… and the temp file it is replaced through',
      spec({ own: ['log/fail.sh'] }),
      'log/.fail.sh.0a1b2c3d4e5f.tmp',
      false,
      true,
    ],
    ['… not one of that name elsewhere', spec({ own: ['log/fail.sh'] }), 'fail.sh', false, false],
    [
      '… nor another temp-like name',
      spec({ own: ['log/fail.sh'] }),
      'log/.fail.sh.notrandomhex.tmp',
      false,
      false,
    ],
    ['… nor a directory of that name', spec({ own: ['log/fail.sh'] }), 'log/fail.sh', true, false],
  ];
  for (const [what, s, path, isDir, excluded] of rows)
    assert.equal(compilePathFilter(s)(path, isDir), excluded, what);
});

test('temp names: the table', () => {
  const rows: [string, boolean][] = [
    ['4913', true],
    ['a.txt~', true],
    ['.a.txt.swp', true],
    ['.a.txt.swo', true],
    ['#a.txt#', true],
    ['.#a.txt', true],
    ['.a.txt.Ab12Cd', true], // rsync's receiver temp
    ['.env.sample', true], // a real file with the same shape: delayed, then sent
    ['.htaccess.backup', true],
    ['a.txt', false],
    ['.env', false],
    ['.htaccess', false],
    ['49130', false],
    ['.a.txt.Ab12C', false],
  ];
  for (const [name, temp] of rows) assert.equal(isTempFileName(name), temp, name);
});

/** sersync's shipped toggles. */
const ON: InotifyToggles = DEFAULTS.inotify;

test('changes: each watcher event under the toggles', () => {
  const none: PathPredicate = () => false;
  const cacheOut = compilePathFilter(spec({ excludes: ['(.*)/cache/(.*)'] }));
  const rows: [string, WatchEvent, Partial<InotifyToggles>, Change[], typeof none?][] = [
    [
      'a new file waits for its content',
      { type: 'create', path: 'f', isDir: false },
      {},
      [{ kind: 'new', path: 'f' }],
    ],
    [
      'with createFile on it is sent',
      { type: 'create', path: 'f', isDir: false },
      { createFile: true },
      [{ kind: 'sync', path: 'f' }],
    ],
    [
      'a new directory is sent whole, even with createFolder off',
      { type: 'create', path: 'd', isDir: true },
      { createFolder: false },
      [{ kind: 'tree', path: 'd' }],
    ],
    ['close_write', { type: 'write', path: 'f' }, {}, [{ kind: 'sync', path: 'f' }]],
    [
      'modify is off in the shipped config: written, sent at its close (or once it stays)',
      { type: 'modify', path: 'f' },
      {},
      [{ kind: 'written', path: 'f' }],
    ],
    ['modify on: sent', { type: 'modify', path: 'f' }, { modify: true }, [{ kind: 'sync', path: 'f' }]],
    ['modify of an excluded file: nothing', { type: 'modify', path: 'sub/cache/x' }, {}, [], cacheOut],
    ['attrib is off in the shipped config', { type: 'attrib', path: 'f', isDir: false }, {}, []],
    [
      'attrib on: a sync, never a delete',
      { type: 'attrib', path: 'f', isDir: false },
      { attrib: true },
      [{ kind: 'sync', path: 'f' }],
    ],
    [
      'delete',
      { type: 'delete', path: 'f', isDir: false },
      {},
      [{ kind: 'delete', path: 'f', isDir: false }],
    ],
    ['delete off', { type: 'delete', path: 'f', isDir: false }, { delete: false }, []],
    [
      'a rename within the tree',
      { type: 'rename', from: 'a', to: 'b', isDir: true },
      {},
      [{ kind: 'rename', from: 'a', to: 'b', isDir: true }],
    ],
    [
      'a rename with deletes off: only the new name',
      { type: 'rename', from: 'a', to: 'b', isDir: false },
      { delete: false },
      [{ kind: 'sync', path: 'b' }],
    ],
    [
      'moved out',
      { type: 'move-out', path: 'd', isDir: true },
      {},
      [{ kind: 'delete', path: 'd', isDir: true }],
    ],
    ['moved in', { type: 'move-in', path: 'd', isDir: true }, {}, [{ kind: 'tree', path: 'd' }]],
    ['an overflow resyncs', { type: 'overflow' }, {}, [{ kind: 'resync' }]],
    [
      'a directory watched again after the watch limit: the tree resynced',
      { type: 'rewatched', path: 'big', why: 'watch-limit' },
      {},
      [{ kind: 'resync' }],
    ],
    [
      'a directory that could not be watched is now: only it is sent (the rest was watched)',
      { type: 'rewatched', path: 'a/deep', why: 'unwatchable' },
      {},
      [{ kind: 'tree', path: 'a/deep' }],
    ],
    [
      'an excluded directory watched again: nothing',
      { type: 'rewatched', path: 'sub/cache/x', why: 'unwatchable' },
      {},
      [],
      cacheOut,
    ],
    ['excluded: nothing', { type: 'write', path: 'sub/cache/x' }, {}, [], cacheOut],
    [
      'renamed out of an excluded place: sent',
      { type: 'rename', from: 'sub/cache/x', to: 'x', isDir: false },
      {},
      [{ kind: 'sync', path: 'x' }],
      cacheOut,
    ],
  ];
  for (const [what, ev, toggles, changes, excluded] of rows)
    assert.deepEqual(toChanges(ev, { ...ON, ...toggles }, excluded ?? none), changes, what);
});

test('held files: a step of the wall clock moves when each was first held, and the release says the moved time', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sersync-held-'));
  try {
    let released: number | null = null;
    let done: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (done = resolve));
    const held = new HeldFiles(
      root,
      (_path, _stays, since) => {
        released = since;
        done();
      },
      50,
    );
    writeFileSync(join(root, '.env.sample'), 'KEY=value');
    assert.equal(held.hold('.env.sample'), true);
    const first = held.oldest()?.since ?? 0;
    held.shiftTimes(-1_800_000);
    assert.equal(held.oldest()?.since, first - 1_800_000);
    await settled;
    assert.equal(released, first - 1_800_000);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('held files: one that vanishes is never sent; one that stays is, once unchanged; a forgotten one is not looked at again', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sersync-held-'));
  try {
    const settled: [string, boolean][] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const held = new HeldFiles(
      root,
      (path, stays) => {
        settled.push([path, stays]);
        if (settled.length === 3) done();
      },
      50,
    );
    writeFileSync(join(root, '.env.sample'), 'KEY=value');
    writeFileSync(join(root, '.a.txt.Ab12Cd'), 'rsync temp');
    writeFileSync(join(root, 'growing'), 'one');
    writeFileSync(join(root, 'closed'), 'closed');
    symlinkSync('.env.sample', join(root, '.link.Ab12Cd'));
    assert.equal(held.hold('.link.Ab12Cd'), false, 'a symlink is not held');
    assert.equal(held.hold('gone'), true, 'nothing to send: taken care of');
    for (const p of ['.env.sample', '.a.txt.Ab12Cd', 'growing', 'closed']) assert.equal(held.hold(p), true);
    assert.equal(held.size, 4);
    held.forget('closed');
    assert.equal(held.size, 3);
    unlinkSync(join(root, '.a.txt.Ab12Cd'));
    // written again within the wait: looked at again, released only once it stays unchanged
    const grown = new Promise<void>((resolve) =>
      setTimeout(() => {
        writeFileSync(join(root, 'growing'), 'one, two');
        resolve();
      }, 20),
    );
    await grown;
    await all;
    assert.deepEqual(settled.sort(), [
      ['.a.txt.Ab12Cd', false],
      ['.env.sample', true],
      ['growing', true],
    ]);
    assert.equal(held.size, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('unclosed files: the wait before a send while open doubles up to a minute, or a second per 10 MB of a bigger file', () => {
  const rows: [number, number, number, number][] = [
    // sent while open, first wait, size, wait
    [0, 5000, 100, 5000],
    [1, 5000, 100, 10_000],
    [3, 5000, 100, 40_000],
    [4, 5000, 100, 60_000],
    [30, 5000, 100, 60_000],
    [30, 5000, 1e9, 100_000],
    [30, 5000, 1e10, 1_000_000],
    [0, 5000, 1e10, 5000],
    [0, 1000, 1e10, 1000],
  ];
  for (const [sent, first, size, wait] of rows)
    assert.equal(openSendWaitMs(sent, first, size), wait, `${sent} sends, ${size} bytes`);
});

test('unclosed files: a file written in place is held until it stays, then sent; sent while open, it waits twice as long the next time, until its close', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sersync-unclosed-'));
  try {
    const settled: [string, boolean][] = [];
    let next: () => void = () => undefined;
    const unclosed = new UnclosedFiles(
      root,
      { closeWrite: true, looksTemporary: (p) => p.endsWith('.swp') },
      (path, stays) => {
        settled.push([path, stays]);
        next();
      },
      { created: 20, written: 40 },
    );
    const settles = (): Promise<void> => new Promise<void>((resolve) => (next = resolve));
    writeFileSync(join(root, 'app.db'), 'pages');
    writeFileSync(join(root, '.app.db.swp'), 'swap');
    execFileSync('mkfifo', [join(root, 'fifo')]);
    unclosed.written('.app.db.swp');
    unclosed.written('fifo');
    assert.equal(unclosed.size, 0, 'neither a temporary-looking name nor a FIFO is held');
    unclosed.written('app.db');
    unclosed.written('app.db');
    assert.equal(unclosed.size, 1, 'held once');
    await settles();
    assert.deepEqual(settled, [['app.db', true]]);
    assert.equal(
      unclosed.settleFor('app.db', 'written', 5n),
      80,
      'sent while open: the next hold waits twice as long',
    );
    unclosed.written('app.db');
    await settles();
    assert.equal(unclosed.settleFor('app.db', 'written', 5n), 160);
    unclosed.closed('app.db');
    assert.equal(unclosed.settleFor('app.db', 'written', 5n), 40, 'closed: the count starts again');
    assert.equal(
      unclosed.settleFor('app.db', 'created', 5n),
      20,
      'a created file has no copy to spoil: sooner',
    );
    unclosed.written('app.db');
    unclosed.closed('app.db');
    assert.equal(unclosed.size, 0, 'its close sends it: no longer held');

    const off = new UnclosedFiles(root, { closeWrite: false, looksTemporary: () => false }, () => undefined);
    off.written('app.db');
    assert.equal(off.size, 0, 'closeWrite off: nothing stands in for a close');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
