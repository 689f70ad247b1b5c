/**
 * The inotify watch limit (ENOSPC). Provoked for real in a private user namespace, whose own
 * `max_inotify_watches` can be lowered without touching the machine's (shared) limit; and the
 * limit's reading and message unit-tested.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { WatchLimitError } from '../../src/errors.js';
import { currentWatchLimit, instancesError, watchLimitError } from '../../src/watch/watch-limit.js';
import { CLI } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { BACKENDS } from './helpers.js';

const CHILD = fileURLToPath(new URL('./limit-child.js', import.meta.url));

/** Why a user namespace cannot be used here, or undefined when it can. */
function userNamespaceUnavailable(): string | undefined {
  const probe = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `unshare(1) cannot run: ${probe.error.message}`;
  return probe.status === 0 ? undefined : `no private user namespace here: ${probe.stderr.trim()}`;
}

const noNamespace = userNamespaceUnavailable();

interface ChildReport {
  name: string;
  message: string;
  code?: string;
  limit?: number;
  needed?: number;
}

function runChild(backend: string, root: string, limit: number, mode: 'start' | 'runtime'): ChildReport {
  const child = spawnSync(
    'unshare',
    ['--user', '--map-root-user', process.execPath, CHILD, backend, root, String(limit), mode],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as ChildReport;
}

for (const backend of BACKENDS) {
  describe(`watch limit (${backend})`, () => {
    test(
      'a tree that needs more watches than allowed: start() fails with WatchLimitError',
      { skip: noNamespace },
      async () => {
        const tmp = await tempDir();
        try {
          for (let i = 0; i < 8; i++) mkdirSync(`${tmp.path}/d${i}/e`, { recursive: true });
          const report = runChild(backend, tmp.path, 5, 'start');
          assert.equal(report.name, 'WatchLimitError', report.message);
          assert.equal(report.code, 'ERR_SERSYNC_WATCH_LIMIT');
          assert.equal(report.limit, 5);
          if (backend === 'inotify')
            assert.equal(report.needed, 17, 'one per directory: the root and 16 below');
          else assert.ok((report.needed ?? 0) > 5);
          assert.match(report.message, /max_user_watches/);
        } finally {
          await tmp.remove();
        }
      },
    );

    test(
      'a new tree that outgrows the limit after start: WatchLimitError through onError',
      { skip: noNamespace },
      async () => {
        const tmp = await tempDir();
        try {
          writeFileSync(`${tmp.path}/f`, 'x');
          const report = runChild(backend, tmp.path, 4, 'runtime');
          assert.equal(report.name, 'WatchLimitError', report.message);
          assert.equal(report.limit, 4);
          if (backend === 'inotify') assert.equal(report.needed, 7, 'the root and n1..n6');
        } finally {
          await tmp.remove();
        }
      },
    );
  });
}

describe('watch limit: reading and reporting', () => {
  test('the limit in force is the lowest of the global and the user-namespace limit', async () => {
    const tmp = await tempDir();
    try {
      writeFileSync(`${tmp.path}/global`, '192536\n');
      writeFileSync(`${tmp.path}/userns`, '5000\n');
      assert.equal(currentWatchLimit([`${tmp.path}/global`, `${tmp.path}/userns`]), 5000);
      assert.equal(currentWatchLimit([`${tmp.path}/global`, `${tmp.path}/missing`]), 192536);
      assert.equal(currentWatchLimit([`${tmp.path}/missing`]), 0);
    } finally {
      await tmp.remove();
    }
  });

  test('the error names the limit, the watches needed, and how to raise it', () => {
    const err = watchLimitError(250_000, '/srv/data', 192_536);
    assert.ok(err instanceof WatchLimitError);
    assert.equal(err.code, 'ERR_SERSYNC_WATCH_LIMIT');
    assert.deepEqual([err.limit, err.needed, err.root], [192_536, 250_000, '/srv/data']);
    assert.match(err.message, /\/srv\/data.*192536.*250000/s);
    assert.match(err.message, /sysctl -w fs\.inotify\.max_user_watches=500000/);
  });
});

test('inotify instances: the user at fs.inotify.max_user_instances is said as that limit, with its fix, not as "too many open files"', async (t) => {
  if (noNamespace !== undefined) return t.skip(noNamespace);
  const dir = await tempDir();
  try {
    const root = `${dir.path}/src`;
    mkdirSync(root);
    const config = `${dir.path}/confxml.xml`;
    writeFileSync(
      config,
      `<head version="2.5"><sersync><localpath watch="${root}"><remote path="${dir.path}/replica"/></localpath></sersync></head>`,
    );
    // the namespace's own limit, lowered to none: the kernel refuses inotify_init1 with EMFILE
    const run = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        'sh',
        '-c',
        'echo 0 > /proc/sys/user/max_inotify_instances && exec "$@"',
        'sh',
        process.execPath,
        CLI,
        '-o',
        config,
        '--state-dir',
        `${dir.path}/state`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stderr,
      /cannot watch .*: this user has as many inotify instances as fs\.inotify\.max_user_instances allows \(0\).*sysctl -w fs\.inotify\.max_user_instances=256/,
    );
    assert.doesNotMatch(run.stderr, /too many open files/);
  } finally {
    await dir.remove();
  }
});

test('inotify instances: a process out of descriptors itself is told to raise its own limit', () => {
  const err = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
  assert.match(
    instancesError('/srv/www', err, false).message,
    /^cannot watch \/srv\/www: .*\(EMFILE\): raise it \(LimitNOFILE=/,
  );
  assert.match(instancesError('/srv/www', err, true).message, /fs\.inotify\.max_user_instances/);
});
