/**
 * `sersync2 verify` end to end: the real CLI against a real daemon and a real running sersync2.
 * A replica edited behind sersync's back is reported exactly, `--repair` sends exactly those
 * paths through the running lanes, and a tree under churn shows no false drift.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { LaneSummary } from '../../src/verify/report.js';
import { converged, useLab } from '../helpers/lab.js';
import { CLI } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';
import { useUnprivileged } from '../helpers/unprivileged.js';

const lab = useLab('sersync-verify-');
const attacker = useUnprivileged();

interface Verified {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sersync2 verify` (or another subcommand) on the run's config and state directory. */
async function sersync2(base: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Verified> {
  const child = spawn(
    process.execPath,
    [CLI, ...args, '-o', join(base, 'confxml.xml'), '--state-dir', join(base, 'state')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

async function verifyJson(
  base: string,
  extra: readonly string[] = [],
): Promise<{ code: number | null; lanes: LaneSummary[] }> {
  const r = await sersync2(base, ['verify', '--json', ...extra]);
  assert.ok(r.code === 0 || r.code === 1, `verify exited ${String(r.code)}: ${r.stderr}`);
  return { code: r.code, lanes: JSON.parse(r.stdout) as LaneSummary[] };
}

const HOUR_AGO = new Date(Date.now() - 3_600_000);

function populate(src: string): void {
  mkdirSync(join(src, 'sub'), { recursive: true });
  for (const name of ['changed.txt', 'deleted.txt', 'mode.txt', 'same.txt', 'sub/deep.txt'])
    writeFileSync(join(src, name), `content of ${name}\n`);
}

test("verify's dry runs start as the engine's runs do: rsync's reads confined to the tree", async () => {
  await lab.withSersync({ args: ['-r'] }, async (run) => {
    populate(run.src);
    await converged(run.src, run.replica);
    const outside = join(run.base, 'outside.txt');
    writeFileSync(outside, 'outside the tree\n');
    // An rsync that tries to read a file outside the tree and says whether it could, as its error
    // (its writes are confined too: it could not leave a mark in a file outside).
    const bin = join(run.base, 'probe-bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'rsync'),
      `#!/bin/sh\nif [ "$1" = --version ]; then exec rsync-real "$@"; fi\nif cat ${outside} >/dev/null 2>&1; then echo "rsync: probe read ${outside}" >&2; else echo "rsync: probe refused ${outside}" >&2; fi\nexit 12\n`,
      { mode: 0o755 },
    );
    const real = spawnSync('sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(real, join(bin, 'rsync-real'));
    const r = await sersync2(run.base, ['verify'], { PATH: `${bin}:${process.env.PATH ?? ''}` });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /probe refused/);
    assert.doesNotMatch(r.stdout + r.stderr, /probe read/);
  });
});

test('a replica edited behind sersync2 is reported exactly, and --repair sends exactly those paths', async () => {
  await lab.withSersync({ args: ['-r'] }, async (run) => {
    populate(run.src);
    await converged(run.src, run.replica);
    assert.equal((await verifyJson(run.base)).code, 0, 'a converged replica verifies equal');

    // Behind sersync's back: one file's content changed (older, as an old copy would be), one
    // deleted, one only on the replica, one with other permissions.
    writeFileSync(join(run.replica, 'changed.txt'), 'edited on the replica\n');
    utimesSync(join(run.replica, 'changed.txt'), HOUR_AGO, HOUR_AGO);
    rmSync(join(run.replica, 'deleted.txt'));
    writeFileSync(join(run.replica, 'sub', 'added.txt'), 'not in the tree\n');
    chmodSync(join(run.replica, 'mode.txt'), 0o600);

    const { code, lanes } = await verifyJson(run.base);
    assert.equal(code, 1);
    const [lane] = lanes;
    assert.ok(lane !== undefined && lanes.length === 1);
    assert.deepEqual(lane.first, {
      content: ['changed.txt'],
      missing: ['deleted.txt'],
      extra: ['sub/added.txt'],
      mode: ['mode.txt'],
    });
    assert.equal(lane.driftPaths, 4);
    assert.equal(lane.pending, 0);

    const text = await sersync2(run.base, ['verify']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /4 path\(s\) differ/);
    assert.match(text.stdout, /content: 1 \(content differs\)\n {4}changed\.txt/);

    const before = (await run.received()).length;
    const repaired = await sersync2(run.base, ['verify', '--repair']);
    assert.equal(repaired.code, 1, repaired.stderr);
    assert.match(repaired.stdout, /repair queued: .* 4 change\(s\)/);
    await converged(run.src, run.replica);
    // Only the differing files travelled (the daemon's transfer log), not a full sync.
    await eventually(async () => (await run.received()).length - before >= 3, 10_000, 'the repair');
    const sent = (await run.received()).slice(before).sort();
    assert.deepEqual(sent, ['changed.txt', 'deleted.txt', 'mode.txt']);
    assert.equal((await verifyJson(run.base)).code, 0, 'equal after the repair');
  });
});

test('a tree under heavy churn shows pending paths, never drift', async () => {
  await lab.withSersync({ args: ['-r'] }, async (run) => {
    populate(run.src);
    await converged(run.src, run.replica);
    const churn = { on: true };
    let round = 0;
    const writer = (async () => {
      while (churn.on) {
        const n = round++ % 40;
        const dir = join(run.src, `c${n % 4}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `f${n}.tmp`), `round ${round}\n`.repeat(50));
        renameSync(join(dir, `f${n}.tmp`), join(dir, `f${n}`));
        writeFileSync(join(dir, `g${n}`), `g ${round}\n`);
        if (n % 3 === 0) rmSync(join(dir, `g${n}`));
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      for (let i = 0; i < 3; i++) {
        const { code, lanes } = await verifyJson(run.base);
        assert.equal(code, 0, `false drift under churn: ${JSON.stringify(lanes)}`);
      }
    } finally {
      churn.on = false;
      await writer;
    }
    assert.ok(round > 100, `the churn ran (${round} rounds)`);
    await converged(run.src, run.replica);
    assert.equal((await verifyJson(run.base)).code, 0);
  });
});

test('verify exits 2 when it cannot compare: a remote that refuses, flags that name nothing', async () => {
  await lab.withSersync({ spec: { modules: ['nosuchmodule'] } }, async (run) => {
    const refused = await sersync2(run.base, ['verify']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stdout, /-> 127\.0\.0\.1::replica: equal/);
    assert.match(refused.stdout, /-> 127\.0\.0\.1::nosuchmodule: could not compare: .*Unknown module/);
    const unknown = await sersync2(run.base, ['verify', '--remote', 'nowhere::x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no tree and remote match/);
  });
});

test("verify refuses a root now reached through another user's link, and names nothing behind it", async (t) => {
  const user = attacker.user();
  if (user === null) return t.skip(attacker.reason());
  // The tree's parent is the user's; the config and state directory stay root's.
  const watch = (base: string): string => {
    const w = join(base, 'theirs', 'W');
    mkdirSync(w, { recursive: true });
    return w;
  };
  await lab.withSersync({ watch }, async (run) => {
    populate(run.src);
    await converged(run.src, run.replica);
    const secret = join(run.base, 'secret');
    mkdirSync(secret, { mode: 0o700 });
    writeFileSync(join(secret, 'root-only-name'), 'root only');
    user.reach(run.src);
    chownSync(dirname(run.src), user.uid, user.gid);
    for (const argv of [
      ['mv', run.src, `${run.src}.old`],
      ['ln', '-s', secret, run.src],
    ])
      assert.equal(user.run(argv).status, 0, argv.join(' '));
    try {
      const r = await sersync2(run.base, ['verify']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(
          `could not compare: .*: it leads through ${run.src}, a symlink owned by uid ${user.uid} to a directory of uid 0`,
        ),
      );
      assert.doesNotMatch(r.stdout + r.stderr, /root-only-name/);
    } finally {
      rmSync(run.src);
      renameSync(`${run.src}.old`, run.src);
      chownSync(dirname(run.src), 0, 0);
    }
  });
});
