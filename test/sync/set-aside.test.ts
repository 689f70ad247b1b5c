import { test } from 'node:test';
import assert from 'node:assert/strict';
import { remoteKind } from '../../src/config/remote-kinds.js';
import type { Remote } from '../../src/config/types.js';
import { filterSpecOf } from '../../src/filter/path-filter.js';
import { fromUtf8 } from '../../src/paths.js';
import { replicaRefusal } from '../../src/sync/exit-codes.js';
import { planRuns } from '../../src/sync/plan.js';
import {
  fileToSetAside,
  MAX_SET_ASIDE,
  SET_ASIDE_MIN_BYTES,
  withoutSetAside,
} from '../../src/sync/set-aside.js';
import { notRun, type RsyncTask } from '../../src/sync/task.js';
import { testConfig } from '../helpers/config.js';

const daemon: Remote = {
  id: '127.0.0.1::backup',
  target: { kind: 'daemon', host: '127.0.0.1', module: 'backup' },
};
const NO_SPACE = 'No space left on device (28)';

/** rsync's stderr when its receiver could not write `name` (as a daemon's receiver names it). */
function refusedBy(name: string, why = NO_SPACE, tag = '[receiver] '): string {
  return [
    `rsync: ${tag}write failed on "${name}" (in backup): ${why}`,
    'rsync error: error in file IO (code 11) at receiver.c(381) [receiver=3.2.7]',
    'rsync: [sender] write error: Broken pipe (32)',
  ].join('\n');
}

test('replicaRefusal: the receiver could not write a file for want of room or for its size (exit 11 only)', () => {
  assert.deepEqual(replicaRefusal(11, refusedBy('big.bin')), {
    name: 'big.bin',
    line: `rsync: [receiver] write failed on "big.bin" (in backup): ${NO_SPACE}`,
    tooLarge: false,
  });
  // rsync before 3.2.4 has no role tag; a local or ssh receiver names the file absolute
  assert.equal(replicaRefusal(11, refusedBy('d/x.iso', 'Disk quota exceeded (122)', ''))?.name, 'd/x.iso');
  assert.equal(
    replicaRefusal(11, `rsync: [receiver] write failed on "/mnt/usb/x.iso": File too large (27)`)?.tooLarge,
    true,
  );
  // a name with a byte rsync deems unprintable, and one that is not UTF-8, come back as bytes
  assert.equal(replicaRefusal(11, refusedBy('a\\#012b'))?.name, 'a\nb');
  assert.equal(replicaRefusal(11, refusedBy('caf\\#351'))?.name, 'caf\xe9');
  assert.equal(replicaRefusal(11, refusedBy('été'))?.name, fromUtf8('été'));
  // the disk failing, a non-fatal error, and another exit are not a refusal of one file
  assert.equal(replicaRefusal(11, refusedBy('big.bin', 'Input/output error (5)')), null);
  assert.equal(replicaRefusal(23, refusedBy('big.bin')), null);
  assert.equal(
    replicaRefusal(11, 'rsync: [receiver] mkstemp "x" failed: No space left on device (28)'),
    null,
  );
});

test("treePath: each kind of remote maps its receiver's name of a file back to the tree", () => {
  const kind = (target: Remote['target']) => remoteKind({ id: 'x', target });
  assert.equal(kind(daemon.target).treePath('d/big.bin'), 'd/big.bin');
  assert.equal(kind(daemon.target).treePath('/d/big.bin'), 'd/big.bin', 'a module with use chroot = yes');
  const sub = kind({ kind: 'daemon', host: 'h', module: 'backup/www' });
  assert.equal(sub.treePath('www/d/big.bin'), 'd/big.bin');
  assert.equal(sub.treePath('/www/d/big.bin'), 'd/big.bin');
  assert.equal(sub.treePath('other/big.bin'), null);
  const local = kind({ kind: 'local', path: '/srv/replica/' });
  assert.equal(local.treePath('/srv/replica/d/big.bin'), 'd/big.bin');
  assert.equal(local.treePath('/srv/replica2/big.bin'), null);
  assert.equal(local.treePath('/srv/replica/'), null);
  // rsync names the top itself `.`: the tree's root
  assert.equal(local.treePath('/srv/replica/.'), '');
  assert.equal(kind(daemon.target).treePath('.'), '');
  assert.equal(sub.treePath('www/.'), '');
  assert.equal(kind({ kind: 'local', path: '/' }).treePath('/d/big.bin'), 'd/big.bin');
  const ssh = kind({ kind: 'ssh', host: 'h', path: '/data/www' });
  assert.equal(ssh.treePath('/data/www/big.bin'), 'big.bin');
  // relative to the login's home, which is not known here
  assert.equal(
    kind({ kind: 'ssh', host: 'h', path: 'www' }).treePath('/home/sync/www/a/big.bin'),
    'a/big.bin',
  );
  assert.equal(kind({ kind: 'ssh', host: 'h', path: '.' }).treePath('/home/sync/big.bin'), null);
});

function context() {
  const config = testConfig([{ watch: '/srv/www', remotes: [daemon] }]);
  return { config, root: '/srv/www', remote: daemon, filter: filterSpecOf(config, '/srv/www') };
}

function sendOf(ops: Parameters<typeof planRuns>[0]): RsyncTask {
  const send = planRuns(ops, context()).find((t) => t.kind === 'send');
  assert.ok(send !== undefined);
  return send;
}

const failed = (stderr: string) => ({ ...notRun(11, stderr, 5), ran: true });
const big = () => SET_ASIDE_MIN_BYTES;

test('fileToSetAside: a large file refused is set aside when the run carries others', () => {
  const task = sendOf([
    { kind: 'sync', path: 'big.bin' },
    { kind: 'sync', path: 'small.txt' },
  ]);
  assert.deepEqual(fileToSetAside(task, failed(refusedBy('big.bin')), daemon, new Set(), big), {
    path: 'big.bin',
    failure: {
      exitCode: 11,
      message: `rsync: [receiver] write failed on "big.bin" (in backup): ${NO_SPACE}`,
    },
  });
  // a file inside a new directory the run walks, and a full sync
  const tree = sendOf([{ kind: 'tree', path: 'up' }]);
  assert.equal(
    fileToSetAside(tree, failed(refusedBy('up/big.bin')), daemon, new Set(), big)?.path,
    'up/big.bin',
  );
  const [full] = planRuns([{ kind: 'full', path: '' }], context());
  assert.ok(full !== undefined);
  assert.equal(
    fileToSetAside(full, failed(refusedBy('a/big.bin')), daemon, new Set(), big)?.path,
    'a/big.bin',
  );
});

test('fileToSetAside: nothing is set aside when the disk is full, the file is alone, or the batch has set aside enough', () => {
  const task = sendOf([
    { kind: 'sync', path: 'big.bin' },
    { kind: 'sync', path: 'small.txt' },
  ]);
  const run = failed(refusedBy('big.bin'));
  // a small file refused: the disk is full, and every file would be refused in turn
  assert.equal(
    fileToSetAside(task, run, daemon, new Set(), () => SET_ASIDE_MIN_BYTES - 1),
    null,
  );
  // …unless the file system cannot hold a file that large, whatever its room
  const tooLarge = failed(refusedBy('big.bin', 'File too large (27)'));
  assert.equal(fileToSetAside(task, tooLarge, daemon, new Set(), () => 10)?.path, 'big.bin');
  // gone from the tree since
  assert.equal(
    fileToSetAside(task, run, daemon, new Set(), () => null),
    null,
  );
  // the run carries nothing else (its retry, alone), or only files already set aside
  assert.equal(
    fileToSetAside(sendOf([{ kind: 'sync', path: 'big.bin' }]), run, daemon, new Set(), big),
    null,
  );
  assert.equal(fileToSetAside(task, run, daemon, new Set(['small.txt']), big), null);
  // refused again after being set aside (the rules did not take), or a name the run did not carry
  assert.equal(fileToSetAside(task, run, daemon, new Set(['big.bin']), big), null);
  assert.equal(fileToSetAside(task, failed(refusedBy('other.bin')), daemon, new Set(), big), null);
  const many = new Set(Array.from({ length: MAX_SET_ASIDE }, (_, i) => `b${i}`));
  assert.equal(fileToSetAside(task, run, daemon, many, big), null);
  // another failure
  assert.equal(fileToSetAside(task, { ...run, exitCode: 10 }, daemon, new Set(), big), null);
});

test('withoutSetAside: the run leaves the files out and keeps their copies on the replica, options before its source', () => {
  const task = sendOf([
    { kind: 'sync', path: 'big.bin' },
    { kind: 'sync', path: 'a[1].bin' },
    { kind: 'sync', path: 'small.txt' },
  ]);
  const out = withoutSetAside(task, ['big.bin', 'a[1].bin']);
  assert.ok(out !== null);
  assert.deepEqual(out.args.slice(-6), [
    '--exclude=/big.bin',
    '--filter=P /big.bin',
    '--exclude=/a\\[1].bin',
    '--filter=P /a\\[1].bin',
    './',
    task.args.at(-1),
  ]);
  assert.deepEqual(out.args.slice(0, -6), task.args.slice(0, -2));
  // a name that is not UTF-8 cannot be passed in argv byte-exact
  assert.equal(withoutSetAside(task, ['caf\xe9.bin']), null);
});
