import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PathOp } from '../../src/coalesce/types.js';
import { buildStatus } from '../../src/daemon/status.js';
import { statusText } from '../../src/daemon/status-text.js';
import type { VerifyStatus } from '../../src/verify/periodic.js';
import { inputs, T } from '../daemon/status-fixture.js';
import { withoutUpdate } from '../../src/verify/args.js';
import { parseItemized, parseItemLine, withTypeChanges, type Difference } from '../../src/verify/itemize.js';
import { isPending } from '../../src/verify/pending.js';
import { repairChanges } from '../../src/verify/repair.js';
import { exitCode, summarize, summaryText } from '../../src/verify/report.js';

test('itemized lines become differences by kind', () => {
  const table: [string, Partial<Difference> | null][] = [
    ['>f+++++++++ new.txt', { path: 'new.txt', kind: 'missing', isDir: false }],
    ['cd+++++++++ newdir/', { path: 'newdir', kind: 'missing', isDir: true }],
    ['*deleting   gone.txt', { path: 'gone.txt', kind: 'extra', isDir: false }],
    ['*deleting   olddir/', { path: 'olddir', kind: 'extra', isDir: true }],
    ['<f.st...... a', { path: 'a', kind: 'content', attributes: ['content', 'mtime'] }],
    ['>fcs....... b', { path: 'b', kind: 'content', attributes: ['content'] }],
    ['.f...p..... d/c', { path: 'd/c', kind: 'mode', attributes: ['mode'] }],
    ['.f....og... o', { path: 'o', kind: 'owner', attributes: ['owner'] }],
    ['.f..tp..... m', { path: 'm', kind: 'mode', attributes: ['mode', 'mtime'] }],
    ['<f..t...... t', { path: 't', kind: 'mtime', attributes: ['mtime'] }],
    ['.L..t...... link', { path: 'link', kind: 'mtime' }],
    ['cLc.t...... link2', { path: 'link2', kind: 'content', attributes: ['content', 'mtime'] }],
    ['.d..t...... ./', { path: '', kind: 'mtime', isDir: true }],
    ['.f......u.. atime-only', null],
    ['.d          ./', null],
    ['>f+++++++++ caf\\#303\\#251 \\#012nl', { path: 'caf\u00c3\u00a9 \nnl', kind: 'missing' }],
    ['   1,234  50%  1.00MB/s  0:00:01 (xfr#1, to-chk=1/2)', null],
    ['sent 123 bytes  received 45 bytes', null],
  ];
  for (const [line, want] of table) {
    const got = parseItemLine(line);
    if (want === null) assert.equal(got, null, line);
    else assert.deepEqual({ ...got, ...want }, got, line);
  }
});

test('a whole output: lines end at \\r or \\n, a path counts once', () => {
  const out =
    '*deleting   x\n\r  12  50%  1kB/s  0:00:00 (xfr#0, to-chk=1/2)\r>f+++++++++ y\n>f+++++++++ y\n';
  assert.deepEqual(
    parseItemized(out).map((d) => [d.path, d.kind]),
    [
      ['x', 'extra'],
      ['y', 'missing'],
    ],
  );
});

test('a missing file over a replica directory is a type change', () => {
  const diffs = parseItemized('*deleting   t/y\n>f+++++++++ t\n>f+++++++++ u\n');
  assert.deepEqual(
    withTypeChanges(diffs).map((d) => [d.path, d.kind]),
    [
      ['t/y', 'extra'],
      ['t', 'type'],
      ['u', 'missing'],
    ],
  );
});

test('-u is taken out of the options so newer replica files are seen', () => {
  const table: [string[], string[]][] = [
    [
      ['-artuz', '--delete'],
      ['-artz', '--delete'],
    ],
    [['-u', '-a'], ['-a']],
    [
      ['--update', '-e', 'ssh -p 2u'],
      ['-e', 'ssh -p 2u'],
    ],
    [
      ['--suffix=u', '-avz'],
      ['--suffix=u', '-avz'],
    ],
  ];
  for (const [args, want] of table) assert.deepEqual(withoutUpdate(args), want, args.join(' '));
});

test('a path is pending when an outstanding op carries it', () => {
  const ops: PathOp[] = [
    { kind: 'sync', path: 'a' },
    { kind: 'tree', path: 'd' },
    { kind: 'delete', path: 'gone', isDir: true },
    { kind: 'move', path: 'new', from: 'old' },
  ];
  const table: [string, boolean][] = [
    ['a', true],
    ['a/b', false],
    ['d/x/y', true],
    ['gone/z', true],
    ['new/f', true],
    ['old/f', true],
    ['other', false],
    ['dd', false],
  ];
  for (const [path, want] of table) assert.equal(isPending(path, ops), want, path);
  assert.equal(isPending('anything', [{ kind: 'full', path: '' }]), true);
});

test('--repair turns each difference into the change its event would have been', () => {
  const d = (path: string, kind: Difference['kind'], isDir = false): Difference => ({
    path,
    kind,
    isDir,
    attributes: [kind],
  });
  assert.deepEqual(
    repairChanges([
      d('m', 'missing'),
      d('md', 'missing', true),
      d('x', 'extra'),
      d('xd', 'extra', true),
      d('t', 'type'),
      d('c', 'content'),
      d('p', 'mode'),
      d('dir', 'mtime', true),
    ]),
    [
      { kind: 'sync', path: 'm' },
      { kind: 'tree', path: 'md' },
      { kind: 'delete', path: 'x', isDir: false },
      { kind: 'delete', path: 'xd', isDir: true },
      { kind: 'delete', path: 't', isDir: true },
      { kind: 'sync', path: 't' },
      { kind: 'sync', path: 'c' },
      { kind: 'sync', path: 'p' },
      { kind: 'sync', path: 'dir' },
    ],
  );
});

test('exit codes: 0 equal, 1 drift, 2 not compared; kept extras, pending and what the daemon refuses are not drift', () => {
  const base = {
    root: '/w',
    remote: 'r',
    drift: [],
    pending: [],
    keptExtra: [],
    daemonRefused: [],
    toTheSecond: false,
    extrasNotListed: false,
    error: null,
  };
  const diff: Difference = { path: 'p', kind: 'content', isDir: false, attributes: ['content'] };
  const equal = summarize({ ...base, pending: [diff], keptExtra: [{ ...diff, kind: 'extra' }] });
  const drift = summarize({ ...base, drift: [diff] });
  const failed = summarize({ ...base, error: 'cannot compare' });
  assert.equal(exitCode([equal]), 0);
  assert.equal(exitCode([equal, drift]), 1);
  assert.equal(exitCode([drift, failed]), 2);
  assert.deepEqual(drift.first, { content: ['p'] });
  assert.equal(drift.drift.content, 1);
  const refused = summarize({ ...base, daemonRefused: ['lost+found', 'up/a.tmp'] });
  assert.equal(exitCode([refused]), 0);
  assert.deepEqual(summaryText([refused]).split('\n'), [
    '/w -> r: equal',
    "  refused: 2 the daemon's module excludes (rsyncd.conf exclude or filter): not on the replica by its policy, not compared",
    '    lost+found',
    '    up/a.tmp',
    '',
  ]);
  const toTheSecond = summarize({ ...base, toTheSecond: true });
  assert.equal(exitCode([toTheSecond]), 0, 'a limit of the remote, not drift');
  assert.deepEqual(summaryText([toTheSecond]).split('\n'), [
    '/w -> r: equal',
    '  note: modification times compared to the second (the remote refuses the nanosecond window: rsync older than 3.1.3, or refuse options): a file rewritten at the same size within the second of its copy is not found; --checksum finds it',
    '',
  ]);
  const unlisted = summarize({ ...base, extrasNotListed: true });
  assert.equal(exitCode([unlisted]), 0, "the daemon's policy, not drift");
  assert.deepEqual(summaryText([unlisted]).split('\n'), [
    '/w -> r: equal',
    '  note: what only the replica has is not listed (its daemon refuses --delete: rsyncd.conf refuse options); missing and differing files are',
    '',
  ]);
});

test('status shows the periodic verify: not run yet, equal, or how many paths differ', () => {
  const diff: Difference = { path: 'p', kind: 'content', isDir: false, attributes: ['content'] };
  const lane = {
    root: '/w',
    remote: 'r',
    pending: [],
    keptExtra: [],
    daemonRefused: [],
    toTheSecond: false,
    extrasNotListed: false,
    error: null,
  };
  const text = (verify: VerifyStatus | null): string => statusText(buildStatus(inputs({ verify })));
  const ran = { lastRunAt: T - 60_000, lastSuccessAt: T - 60_000, nextAt: T + 60_000 };
  assert.doesNotMatch(text(null), /verify:/);
  assert.match(
    text({ lastRunAt: null, lastSuccessAt: null, nextAt: T, lanes: [] }),
    /^verify: +not run yet$/m,
  );
  assert.match(
    text({ ...ran, lanes: [summarize({ ...lane, drift: [] })] }),
    /^verify: +last .* ago: replicas equal$/m,
  );
  assert.match(
    text({ ...ran, lanes: [summarize({ ...lane, drift: [diff, { ...diff, path: 'q' }] })] }),
    /^verify: +last .* ago: 2 paths DIFFER \(sersync2 verify lists them\)$/m,
  );
  assert.match(
    text({ ...ran, lanes: [summarize({ ...lane, drift: [], toTheSecond: true })] }),
    /^verify: +last .* ago: replicas equal, 1 compared to the second \(the remote refuses the nanosecond window\)$/m,
  );
  assert.match(
    text({ ...ran, lanes: [summarize({ ...lane, drift: [], extrasNotListed: true })] }),
    /^verify: +last .* ago: replicas equal, 1 not listing what only the replica has \(its daemon refuses --delete\)$/m,
  );
});
