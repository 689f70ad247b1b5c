import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config, Remote, RsyncSettings } from '../../src/config/types.js';
import { describeConfinement, runReads, unconfinedRemotes } from '../../src/sync/confine.js';

const daemon: Remote = { id: '10.0.0.1::m1', target: { kind: 'daemon', host: '10.0.0.1', module: 'm1' } };
const ssh: Remote = { id: '10.0.0.1:/srv/m1', target: { kind: 'ssh', host: '10.0.0.1', path: '/srv/m1' } };
const local: Remote = { id: '/srv/replica', target: { kind: 'local', path: '/srv/replica' } };

const settings = (commonParams: string[], auth = true): RsyncSettings => ({
  commonParamsRaw: commonParams.join(' '),
  commonParams,
  auth: { enabled: auth, users: 'root', passwordFile: '/etc/rsync.pas' },
  port: null,
  timeoutS: null,
  stallTimeoutS: 600,
  ssh: false,
});

test('confine: what a run may read besides the tree, by remote kind; ssh and a transport of its own are not confined', () => {
  assert.deepEqual(runReads(daemon, settings(['-artuz'])), ['/etc/rsync.pas'], 'its password file');
  assert.deepEqual(runReads(daemon, settings(['-artuz'], false)), []);
  assert.deepEqual(
    runReads(local, settings(['-artuz'])),
    ['/srv/replica'],
    "the receiver reads the replica's files",
  );
  assert.equal(runReads(ssh, settings(['-artuz'])), null, 'ssh reads its keys');
  for (const params of [
    ['-artuz', '-e', 'ssh -p 2222'],
    ['-avze', 'ssh'],
    ['-a', '--rsh=ssh'],
    ['-a', '--rsh', 'ssh'],
  ])
    assert.equal(runReads(daemon, settings(params)), null, params.join(' '));
  assert.deepEqual(
    runReads(
      daemon,
      settings(['-artuz', '--exclude-from=/etc/rsync.excludes', '--filter=merge /etc/rsync.rules']),
    ),
    ['/etc/rsync.pas', '/etc/rsync.excludes', '/etc/rsync.rules'],
    'files commonParams names',
  );
  assert.deepEqual(runReads(daemon, settings(['-artuz', '--exclude=*.tmp'])), ['/etc/rsync.pas']);
  // `e` as the value of an option that takes one is no remote shell
  assert.deepEqual(runReads(daemon, settings(['-aTe'])), ['/etc/rsync.pas']);
  assert.deepEqual(runReads(daemon, settings(['-artuzK'])), ['/etc/rsync.pas'], "-K is the receiver's");
});

test('confine: the unconfined remotes of a config, and how check says it', () => {
  const config = {
    rsync: settings(['-artuz']),
    localpaths: [
      { watch: '/a', remotes: [daemon, ssh] },
      { watch: '/b', remotes: [ssh, local] },
    ],
  } as unknown as Config;
  assert.deepEqual(unconfinedRemotes(config), [{ id: ssh.id, why: 'ssh reads its keys' }]);
  assert.equal(
    describeConfinement({ abi: 7 }, []),
    "yes: rsync reads only the tree and the system's files (Landlock ABI 7)",
  );
  assert.match(
    describeConfinement({ abi: 7 }, unconfinedRemotes(config)),
    /, except runs to 10\.0\.0\.1:\/srv\/m1 \(ssh reads its keys\)$/,
  );
  assert.equal(
    describeConfinement({ unavailable: 'this kernel has no Landlock' }, []),
    'no: this kernel has no Landlock',
  );
});
