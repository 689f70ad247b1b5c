/**
 * The soak: every fault case of test/faults at full strength (the daemon down 30 s, 20 kill -9
 * per churn, 1,000 config variants per round…), round after round, for `--minutes N`; then one
 * summary line per case. Exit 1 if any run failed or lost anything.
 *
 *   npm run soak -- --minutes 30 [--seed S] [--only name,name]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { midPathLink, replicaWhereOthersPoint, symlinkRaces } from '../faults/cases/boundary.js';
import { failLogDiskFull, logDiskFull, outputOnFullDisk } from '../faults/cases/log-disk.js';
import { descriptorsExhausted, rsyncMissing } from '../faults/cases/rsync-missing.js';
import { sshdUnavailable, startSshd, type Sshd } from '../helpers/sshd.js';
import { fuzzConfigs } from '../faults/cases/config-fuzz.js';
import { killedDuringChurn, rewriteWhileDown } from '../faults/cases/crash.js';
import {
  clockSteppedBackWhileDown,
  daemonDownDuringBurst,
  dirRenamesWhileDown,
  failLogInTreeWhileDown,
  fakeTimeLibrary,
} from '../faults/cases/daemon-down.js';
import { hostileNames } from '../faults/cases/names.js';
import { missingPasswordFile } from '../faults/cases/password-file.js';
import {
  daemonExcludes,
  refusedRemovals,
  refusingReplica,
  replicaDiskFull,
  replicaRefusesManyFiles,
  replicaRefusesSomeFiles,
} from '../faults/cases/refusing-replica.js';
import { lostIn, type CaseResult } from '../faults/cases/result.js';
import {
  commandPluginRunsNoShell,
  passwordFileWarnings,
  secretsStayHidden,
  stateDirOwnerOnly,
} from '../faults/cases/security.js';
import {
  fileBecomesDirectory,
  specialFiles,
  symlinkLoops,
  unclosedFiles,
  unreadableFile,
  vanishingFiles,
} from '../faults/cases/source.js';
import {
  queueDamaged,
  queueLockedAtStart,
  queueLockedWhileRunning,
  queueRemovedWhileRunning,
  stateDirRemovedWhileRunning,
  walLostAfterKill,
} from '../faults/cases/state-db.js';
import { replicaDiskNotMountedAtStart, replicaDiskUnmounted } from '../faults/cases/replica-disk.js';
import { stalledOverSsh, stalledRemote } from '../faults/cases/stall.js';
import { eventOverflow, rootDeletedAndRecreated } from '../faults/cases/watch.js';
import {
  deploySwitchesSymlink,
  failedStartAfterCrash,
  fuseUnavailable,
  gapAcrossRestart,
  mountedAfterStart,
  mountedAfterStartAcrossRestart,
  mountedInTree,
  mountUnavailable,
  pathPastPathMax,
  rootMountedOver,
  rootGoneAcrossStop,
  rootOnSharedFileSystem,
  rootRemounted,
  rootSwappedForSymlink,
  userNamespaceUnavailable,
  watchLimitRaisedAcrossStop,
  watchLimitWhileRunning,
} from '../faults/cases/watch-health.js';
import { prng, seedFrom } from '../helpers/prng.js';
import { createUnprivileged, type Unprivileged } from '../helpers/unprivileged.js';

interface Context {
  readonly work: string;
  readonly daemon: RsyncDaemon;
  /** A fresh seed for this run. */
  readonly seed: number;
  /** The local user the boundary cases attack as (they are left out when there is none). */
  readonly attacker: Unprivileged | null;
}

/** Cases that need `Context.attacker`. */
const ATTACKS = new Set(['symlink-races-500', 'replica-where-others-point']);

/** Each case at soak strength. */
/** Runs `run` against an sshd of its own, stopped after. */
async function withSshd(run: (sshd: Sshd) => Promise<CaseResult>): Promise<CaseResult> {
  const sshd = await startSshd();
  try {
    return await run(sshd);
  } finally {
    await sshd.stop();
  }
}

const CASES: Readonly<Record<string, (c: Context) => Promise<CaseResult> | CaseResult>> = {
  'daemon-down-30s': (c) =>
    daemonDownDuringBurst(c.work, c.daemon, {
      dirs: 20,
      filesPerDir: 100,
      downMs: 30_000,
      exactlyOnce: true,
    }),
  'dir-renames-down': (c) =>
    dirRenamesWhileDown(c.work, c.daemon, { rounds: 5, ops: 600, downMs: 30_000, seed: c.seed }),
  'fail-log-in-tree-down': (c) => failLogInTreeWhileDown(c.work, c.daemon),
  'stalled-remote': (c) => stalledRemote(c.work, c.daemon, { timeoutS: 2, stallMs: 10_000 }),
  'stalled-remote-backstop': (c) =>
    stalledRemote(c.work, c.daemon, { timeoutS: 2, stallMs: 10_000, backstop: true }),
  'read-only-replica': (c) => refusingReplica(c.work, 200),
  'refused-removals': (c) => refusedRemovals(c.work),
  'replica-refuses-some-files': (c) => replicaRefusesSomeFiles(c.work),
  'replica-refuses-many-files': (c) => replicaRefusesManyFiles(c.work),
  'daemon-excludes': (c) => daemonExcludes(c.work),
  'kill-9-churn-x20': (c) => killedDuringChurn(c.work, c.daemon, { kills: 20, ops: 400, seed: c.seed }),
  'rewrite-while-down': (c) => rewriteWhileDown(c.work, c.daemon),
  'inotify-overflow': (c) => eventOverflow(c.work, c.daemon),
  'root-deleted': (c) => rootDeletedAndRecreated(c.work, c.daemon, 5000),
  'unreadable-file': (c) => unreadableFile(c.work, c.daemon),
  'vanishing-files': (c) => vanishingFiles(c.work, c.daemon, { files: 200, seed: c.seed }),
  'file-dir-flips': (c) => fileBecomesDirectory(c.work, c.daemon, 20),
  'symlink-loops': (c) => symlinkLoops(c.work),
  'fifo-socket': (c) => specialFiles(c.work, c.daemon),
  'unclosed-files': (c) => unclosedFiles(c.work, c.daemon),
  'queue-locked-at-start': (c) => queueLockedAtStart(c.work, c.daemon),
  'queue-locked-running': (c) => queueLockedWhileRunning(c.work, c.daemon, 8000),
  'queue-damaged': (c) => queueDamaged(c.work, c.daemon),
  'wal-lost-after-kill': (c) => walLostAfterKill(c.work, c.daemon),
  'queue-removed': (c) => queueRemovedWhileRunning(c.work, c.daemon),
  'state-dir-removed': (c) => stateDirRemovedWhileRunning(c.work, c.daemon),
  'password-file-missing': (c) => missingPasswordFile(c.work, c.daemon),
  'config-fuzz-1000': (c) => fuzzConfigs(c.seed, 1000),
  'hostile-names': (c) => hostileNames(c.work, c.daemon),
  'password-file-mode': (c) => passwordFileWarnings(c.work, c.daemon),
  'secrets-hidden': (c) => secretsStayHidden(c.work),
  'state-dir-0700': (c) => stateDirOwnerOnly(c.work, c.daemon),
  'command-plugin-no-shell': (c) => commandPluginRunsNoShell(c.work, c.daemon),
  'root-swapped-for-symlink': (c) => rootSwappedForSymlink(c.work, c.daemon),
  'deploy-symlink-switch': (c) => deploySwitchesSymlink(c.work, c.daemon),
  'path-past-path-max': (c) => pathPastPathMax(c.work, c.daemon),
  'mid-path-link': (c) => midPathLink(c.work),
  'rsync-missing': (c) => rsyncMissing(c.work),
  'descriptors-exhausted': (c) => descriptorsExhausted(c.work, c.daemon),
  'output-on-full-disk': (c) => outputOnFullDisk(c.work, c.daemon),
  // Only where this host lets them run (root with mount(2), user namespaces).
  ...(mountUnavailable() === undefined && {
    'mounted-in-tree': (c: Context) => mountedInTree(c.work, c.daemon),
    'log-disk-full': (c: Context) => logDiskFull(c.work, c.daemon),
    'fail-log-disk-full': (c: Context) => failLogDiskFull(c.work, c.daemon),
    'replica-disk-full': (c: Context) => replicaDiskFull(c.work),
    'mounted-after-start': (c: Context) => mountedAfterStart(c.work, c.daemon),
    'root-remounted': (c: Context) => rootRemounted(c.work, c.daemon),
    'root-mounted-over': (c: Context) => rootMountedOver(c.work, c.daemon),
    'mount-across-restart': (c: Context) => mountedAfterStartAcrossRestart(c.work, c.daemon),
    'gap-across-restart': (c: Context) => gapAcrossRestart(c.work, c.daemon),
    'replica-disk-unmounted': (c: Context) => replicaDiskUnmounted(c.work, c.daemon),
    'replica-disk-not-mounted-at-start': (c: Context) => replicaDiskNotMountedAtStart(c.work, c.daemon),
  }),
  ...(fuseUnavailable() === undefined && {
    'root-on-shared-fs': (c: Context) => rootOnSharedFileSystem(c.work, c.daemon),
  }),
  ...(sshdUnavailable() === undefined && {
    'mid-path-link-ssh': (c: Context) => withSshd((sshd) => midPathLink(c.work, sshd)),
    'stalled-over-ssh': (c: Context) => withSshd((sshd) => stalledOverSsh(c.work, sshd)),
  }),
  ...(fakeTimeLibrary() !== undefined && {
    'clock-stepped-back': (c: Context) => clockSteppedBackWhileDown(c.work, c.daemon),
  }),
  ...(userNamespaceUnavailable() === undefined && {
    'watch-limit-running': (c: Context) => watchLimitWhileRunning(c.work, c.daemon),
    'watch-limit-across-stop': (c: Context) => watchLimitRaisedAcrossStop(c.work, c.daemon),
    'failed-start-after-crash': (c: Context) => failedStartAfterCrash(c.work, c.daemon),
  }),
  'root-gone-across-stop': (c) => rootGoneAcrossStop(c.work, c.daemon),
  'symlink-races-500': (c) => {
    if (c.attacker === null) throw new Error('no attacker user');
    return symlinkRaces(c.work, c.attacker, { tries: 500, seed: c.seed });
  },
  'replica-where-others-point': (c) => {
    if (c.attacker === null) throw new Error('no attacker user');
    return replicaWhereOthersPoint(c.work, c.attacker);
  },
};

/** A run that takes this long has hung: it is failed, and the soak ends (its processes may linger). */
const HUNG_MS = 15 * 60_000;

interface Tally {
  runs: number;
  faults: number;
  files: number;
  lost: number;
  failures: string[];
  ms: number;
}

function summary(name: string, t: Tally): string {
  const mean = t.runs === 0 ? 0 : t.ms / t.runs / 1000;
  return (
    `${name.padEnd(24)} runs ${String(t.runs).padStart(4)}  faults injected ${String(t.faults).padStart(6)}  ` +
    `files verified ${String(t.files).padStart(7)}  lost ${t.lost}  failed ${t.failures.length}  ` +
    `mean ${mean.toFixed(1)} s`
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      seed: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error(`--minutes wants a positive number, not ${values.minutes}`);
  const seed = seedFrom(values.seed);
  const wanted = values.only === undefined ? Object.keys(CASES) : values.only.split(',');
  for (const n of wanted)
    if (!(n in CASES)) throw new Error(`no case ${n} (cases: ${Object.keys(CASES).join(', ')})`);
  const made = createUnprivileged();
  if (made.user === null) process.stdout.write(`soak: skipping ${[...ATTACKS].join(', ')}: ${made.reason}\n`);
  const names = wanted.filter((n) => made.user !== null || !ATTACKS.has(n));
  const rnd = prng(seed);
  const work = mkdtempSync(join(tmpdir(), 'sersync-soak-'));
  const daemon = await startRsyncDaemon();
  const tallies = new Map<string, Tally>(
    names.map((n) => [n, { runs: 0, faults: 0, files: 0, lost: 0, failures: [], ms: 0 }]),
  );
  const started = Date.now();
  const end = started + minutes * 60_000;
  process.stdout.write(`soak: ${minutes} min, seed ${seed}, ${names.length} cases, work dir ${work}\n`);
  let hung = false;
  try {
    for (let round = 1; Date.now() < end && !hung; round++) {
      for (const name of names) {
        if (Date.now() >= end) break;
        const tally = tallies.get(name);
        const run = CASES[name];
        if (tally === undefined || run === undefined) continue;
        const runSeed = Math.floor(rnd() * 2 ** 31);
        const t0 = Date.now();
        let timer: NodeJS.Timeout | undefined;
        let failure: string | null = null;
        try {
          const result = await Promise.race([
            Promise.resolve(run({ work, daemon, seed: runSeed, attacker: made.user })),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                reject(new Error(`hung for ${HUNG_MS / 60_000} min`));
              }, HUNG_MS);
            }),
          ]);
          tally.faults += result.faults;
          tally.files += result.files;
          tally.lost += result.lost;
        } catch (err) {
          tally.lost += lostIn(err);
          failure = err instanceof Error ? err.message : String(err);
          tally.failures.push(`round ${round}, seed ${runSeed}: ${failure}`);
          hung = failure.startsWith('hung');
        } finally {
          clearTimeout(timer);
          tally.runs++;
          tally.ms += Date.now() - t0;
        }
        const elapsed = ((Date.now() - started) / 60_000).toFixed(1);
        const took = ((Date.now() - t0) / 1000).toFixed(1);
        const outcome = failure === null ? 'ok' : `FAILED: ${failure.split('\n')[0] ?? ''}`;
        process.stdout.write(`[${elapsed} min] round ${round} ${name}: ${outcome} (${took} s)\n`);
      }
    }
  } finally {
    await disposeRsyncDaemon(daemon);
    if (made.user !== null) made.remove();
  }
  process.stdout.write(
    `\nsoak summary (${((Date.now() - started) / 60_000).toFixed(1)} min, seed ${seed})\n`,
  );
  let failed = 0;
  for (const [name, t] of tallies) {
    process.stdout.write(`${summary(name, t)}\n`);
    for (const f of t.failures)
      process.stdout.write(`    FAILED ${f.split('\n').slice(0, 6).join('\n           ')}\n`);
    failed += t.failures.length + t.lost;
  }
  if (failed === 0) rmSync(work, { recursive: true, force: true });
  else {
    // every failure whole (the summary shows their first lines): the log lines, what stayed queued
    const text = [...tallies].flatMap(([name, t]) => t.failures.map((f) => `== ${name}, ${f}\n`));
    writeFileSync(join(work, 'failures.txt'), text.join('\n'));
    process.stdout.write(`work dir kept for inspection: ${work} (failures.txt)\n`);
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
