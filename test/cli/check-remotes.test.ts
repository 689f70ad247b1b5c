/**
 * `sersync2 check --remotes`: before sersync2 relies on a remote, whether it takes a run, asked of a
 * real daemon whose modules refuse in the ways backup servers do, through the CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { preflight, reachLines, type Reach } from '../../src/verify/preflight.js';
import { testConfig } from '../helpers/config.js';
import { CLI, sersyncConfigXml, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon({
    extraModules: [
      { name: 'readonly', lines: ['read only = yes'] },
      { name: 'nodelete', lines: ['refuse options = delete'] },
      { name: 'coarse', lines: ['refuse options = modify-window'] },
    ],
  });
  work = await tempDir('sersync-check-remotes-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

function checkRemotes(
  name: string,
  xml: (text: string) => string = (t) => t,
  extra: readonly string[] = [],
): ReturnType<typeof spawnSync> {
  const base = join(work.path, name);
  const watch = join(base, 'W');
  mkdirSync(watch, { recursive: true });
  writeFileSync(join(watch, 'a.txt'), 'not to be sent by a check');
  const spec = {
    watch,
    daemons: [daemon],
    modules: ['readonly', 'nodelete', 'coarse', 'nosuch'],
    failLog: join(base, 'fail.sh'),
  };
  const file = writeConfig(base, xml(sersyncConfigXml(spec)));
  return spawnSync(
    process.execPath,
    [CLI, 'check', '--remotes', ...extra, '-o', file, '--state-dir', join(base, 'state')],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

test('check --remotes says which remotes take a run and why the others do not, sends nothing, and exits 1 while one does not', () => {
  const r = checkRemotes('deletes');
  const out = String(r.stdout);
  assert.equal(r.status, 1, out + String(r.stderr));
  const lane = (module: string): string => {
    const line = out.split('\n').find((l) => l.includes(`-> 127.0.0.1::${module}:`));
    assert.ok(line !== undefined, `no line for ${module}:\n${out}`);
    return line.slice(line.indexOf(`::${module}: `) + module.length + 4);
  };
  assert.equal(lane(daemon.module), 'takes runs');
  assert.equal(lane('readonly'), 'REFUSED: ERROR: module is read only');
  assert.equal(
    lane('nodelete'),
    'REFUSED: rsync: The server is configured to refuse --delete (removals wait in the retry queue, full syncs go without --delete; <delete start="false"/> matches this daemon)',
  );
  assert.match(lane('coarse'), /^takes runs, comparing modification times to the second \(/);
  assert.match(lane('nosuch'), /^REFUSED: @ERROR: Unknown module 'nosuch'/);
  assert.match(String(r.stderr), /3 of 5 remote\(s\) take no run/);
  assert.deepEqual(readdirSync(daemon.dir), [], 'a check sent something');
});

test('check --remotes --json: the answers alone, one object per tree and remote, for scripts', () => {
  const r = checkRemotes('json', (t) => t, ['--json']);
  assert.equal(r.status, 1, String(r.stderr));
  const reaches = JSON.parse(String(r.stdout)) as Reach[];
  const byModule = new Map(reaches.map((x) => [x.remote.replace('127.0.0.1::', ''), x]));
  assert.deepEqual([...byModule.keys()], [daemon.module, 'readonly', 'nodelete', 'coarse', 'nosuch']);
  assert.deepEqual(byModule.get(daemon.module), {
    root: reaches[0]?.root,
    remote: `127.0.0.1::${daemon.module}`,
    refused: null,
    toTheSecond: false,
    notAsked: null,
  });
  assert.equal(byModule.get('readonly')?.refused, 'ERROR: module is read only');
  assert.equal(byModule.get('coarse')?.toTheSecond, true);
});

test('check --remotes asks a remote only what sersync2 would: with deletes off, a daemon refusing --delete takes runs', () => {
  const r = checkRemotes('no-deletes', (xml) =>
    xml.replace('<delete start="true"/>', '<delete start="false"/>'),
  );
  const out = String(r.stdout);
  assert.match(out, /-> 127\.0\.0\.1::nodelete: takes runs$/m);
  assert.match(String(r.stderr), /2 of 5 remote\(s\) take no run/);
});

test('check --remotes does not ask from a tree that is not there yet, and says so', () => {
  const base = join(work.path, 'missing');
  mkdirSync(base);
  const file = writeConfig(
    base,
    sersyncConfigXml({ watch: join(base, 'not-yet'), daemons: [daemon], failLog: join(base, 'fail.sh') }),
  );
  const r = spawnSync(
    process.execPath,
    [CLI, 'check', '--remotes', '-o', file, '--state-dir', join(base, 'state')],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /-> 127\.0\.0\.1::replica: not asked: \S*not-yet: it is not there$/m);
});

test('check --remotes: a remote that takes the connection and says nothing is given up on, said so, not as the signal that stopped rsync', async () => {
  const silent = createServer(() => undefined); // accepts, never greets
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const { port } = silent.address() as AddressInfo;
  const watch = join(work.path, 'silent');
  mkdirSync(watch);
  const base = testConfig([
    { watch, remotes: [{ id: '127.0.0.1::m', target: { kind: 'daemon', host: '127.0.0.1', module: 'm' } }] },
  ]);
  const config = { ...base, rsync: { ...base.rsync, port } };
  try {
    const [reach] = await preflight(config, 500);
    assert.equal(reach?.refused, 'no answer within 0.5 s');
    assert.equal(reachLines([reach])[0], `  ${watch} -> 127.0.0.1::m: REFUSED: no answer within 0.5 s`);
  } finally {
    silent.close();
  }
});
