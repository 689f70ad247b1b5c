/**
 * The bench's own machinery end to end, so it cannot rot between bench runs: every replicator
 * installed here is started on a small tree, replicates one change, and is stopped without
 * leaving a process behind. Peers that are not installed are reported as skipped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awaitConvergence } from './converge.js';
import { forEachContender, withReplicator, type WorkloadContext } from './harness.js';
import { bareRsync, openLab, type Lab } from './lab.js';
import { processTree } from './proc.js';
import { addSample } from './results.js';
import { QUICK } from './sizes.js';
import {
  inotifyLoop,
  lsyncd,
  onPath,
  serviceEnvironment,
  sersyncTs,
  withReadOnlySysctls,
} from './subjects.js';

/** The names of the variables a process was started with (`/proc/PID/environ`), sorted. */
function variablesOf(pid: number): string[] {
  const entries = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  return entries
    .filter((v) => v !== '')
    .map((v) => v.slice(0, v.indexOf('=')))
    .sort();
}

let lab: Lab;
before(async () => {
  lab = await openLab();
});
after(async () => {
  await lab.close();
});

test('every installed replicator replicates a change and stops cleanly; missing ones are skipped', async () => {
  const before = new Set(processTree(process.pid));
  const variables = new Map<string, string[]>();
  const ctx: WorkloadContext = {
    lab,
    sizes: QUICK,
    subjects: [sersyncTs, lsyncd(0), inotifyLoop],
    progress: () => undefined,
  };
  const results = await forEachContender(
    ctx,
    { dir: 'smoke', seed: null, dirs: 1, floor: 'bare rsync' },
    async (trial) => {
      await withReplicator(lab, trial, async (running) => {
        if (running !== null) variables.set(trial.result.name, variablesOf(running.pid));
        writeFileSync(join(trial.src, 'one.txt'), 'one');
        if (trial.subject === null) await bareRsync(lab, trial.src, [], ['one.txt']);
        const at = await awaitConvergence(lab, trial.src, 20_000);
        assert.ok(at !== null, `${trial.result.name} converged`);
        addSample(trial.result, 'converged', 1);
      });
    },
  );
  assert.deepEqual(
    results.map((r) => r.name),
    ['floor: bare rsync', 'sersync-ts', 'lsyncd delay=0', 'inotifywait loop'],
  );
  for (const r of results) {
    if (r.skipped !== null) continue;
    assert.deepEqual(r.failures, [], r.name);
    assert.deepEqual(r.samples.converged, [1], r.name);
    // started as a service starts it, not with the shell's variables (NODE_EXTRA_CA_CERTS costs Node ~40 ms)
    if (!r.floor) assert.deepEqual(variables.get(r.name), Object.keys(serviceEnvironment()).sort(), r.name);
  }
  assert.equal(results[1]?.skipped, null, 'sersync-ts always runs');
  const left = processTree(process.pid).filter((p) => !before.has(p));
  assert.deepEqual(left, [], 'no process left behind');
});

test('the original sersync2 runs with /proc/sys/fs/inotify read-only: its sysctl writes stay off the machine', (t) => {
  if (onPath('unshare') === null) return t.skip('unshare (util-linux) is not installed');
  const sysctl = '/proc/sys/fs/inotify/max_queued_events';
  // It writes the value already there, so the machine is unchanged even if the wrapper failed.
  const value = readFileSync(sysctl, 'utf8').trim();
  const [cmd, args] = withReadOnlySysctls('sh', ['-c', 'echo "$1" > "$2"', 'writer', value, sysctl]);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Read-only file system/);
});
