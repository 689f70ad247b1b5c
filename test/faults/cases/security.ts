/**
 * Security through the real CLI: secrets never leave the files that hold them, the state
 * directory is the owner's alone, and the command plugin never runs a shell.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { disposeRsyncDaemon, freePort, startRsyncDaemon, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { installWithoutConfineHelper } from '../../helpers/sersync.js';
import { eventually } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

const unique = (what: string): string => `${what}-${Math.random().toString(36).slice(2)}`;

/** A CDN endpoint on loopback that records every request and answers as ChinaCache did. */
async function fakeCdn(): Promise<{ port: number; requests: () => string; close: () => Promise<void> }> {
  let requests = '';
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => {
      requests += d.toString('latin1');
      s.end('HTTP/1.0 200 OK\r\n\r\nwhatsup: succeed\r\n');
    });
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    port: addr.port,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Every byte of every file below `dir` (the state directory: SQLite files, logs). */
function filesBelow(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(join(e.parentPath, e.name))),
  );
}

/**
 * The rsync password and the CDN password, in use (syncs and purges succeed, then the password
 * goes wrong and syncs fail), never appear in the log (debug on), in `check` or `check --json`,
 * in `status`, in `queue list/show`, in the fail log, or in any file of the state directory.
 */
export async function secretsStayHidden(work: string): Promise<CaseResult> {
  const secret = unique('rsync-secret');
  const wrong = unique('wrong-secret');
  const cdnPass = unique('cdn-pass');
  const daemon = await startRsyncDaemon({ serverPassword: secret });
  const cdn = await fakeCdn();
  const rig = Rig.create(work, {
    daemon,
    spec: { debug: true, sersyncPlugin: '<plugin start="true" name="refreshCDN"/>' },
  });
  const passwordFile = join(rig.base, 'rsync.pass');
  writeFileSync(passwordFile, `${secret}\n`, { mode: 0o600 });
  const xml = readFileSync(rig.config, 'latin1')
    .replace(daemon.passwordFile, passwordFile)
    .replace('<localpath watch="/data0/htdocs/cms.xoyo.com/site/">', `<localpath watch="${rig.src}">`)
    .replace(
      /<cdninfo [^>]*\/>/,
      `<cdninfo domainname="127.0.0.1" port="${cdn.port}" username="cdnuser" passwd="${cdnPass}"/>`,
    );
  writeFileSync(rig.config, xml, 'latin1');
  const seen: string[] = [];
  const look = (args: readonly string[]): void => {
    const r = rig.cli(args);
    seen.push(`${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  };
  try {
    const proc = await rig.start();
    writeFileSync(join(rig.src, 'page.html'), 'purge me');
    await rig.converged(15_000, 'with the right password');
    await eventually(() => cdn.requests().includes(`pswd=${cdnPass}`), 10_000, 'the CDN purge');
    writeFileSync(passwordFile, `${wrong}\n`);
    writeFileSync(join(rig.src, 'refused.html'), 'auth fails now');
    await eventually(
      () => rig.queued().some((r) => (r.lastError ?? '').includes('auth failed')),
      15_000,
      'auth failure',
    );
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0); // a second failure reaches the fail log
    await eventually(
      () => existsSync(rig.failLog) && readFileSync(rig.failLog, 'latin1').includes('refused.html'),
      15_000,
      'the fail log',
    );
    for (const args of [['check'], ['check', '--json'], ['status', '--json'], ['queue', 'list', '--json']])
      look(args);
    const [row] = rig.queue();
    look(['queue', 'show', String(row?.id)]);
    const everything = [
      ...seen,
      proc.stdout(),
      proc.stderr(),
      readFileSync(rig.failLog, 'latin1'),
      filesBelow(rig.state).toString('latin1'),
    ].join('\n');
    assert.match(proc.stderr(), /"level":20/, 'debug logging was on');
    for (const s of [secret, wrong, cdnPass]) assert.equal(everything.includes(s), false, `${s} leaked`);
    writeFileSync(passwordFile, `${secret}\n`);
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    await rig.converged(15_000, 'with the password right again');
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await cdn.close();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A password file others can read: `check` (and its JSON) and the start of the replicator warn,
 * naming the fix; at mode 600 nothing is said.
 */
export async function passwordFileWarnings(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const pass = daemon.passwordFile;
  const fix = `chmod 600 ${pass}`;
  try {
    chmodSync(pass, 0o644);
    const check = rig.cli(['check']);
    assert.equal(check.status, 0, check.stderr);
    assert.ok(
      check.stdout.includes(`warning: passwordfile ${pass} can be read by others (mode 0644)`) &&
        check.stdout.includes(`fix: ${fix}`),
      check.stdout,
    );
    assert.match(rig.cli(['check', '--json']).stdout, /can be read by others/);
    const proc = await rig.start();
    assert.ok(proc.stderr().includes(fix), `no warning at start:\n${proc.stderr()}`);
    await rig.stop();
    chmodSync(pass, 0o640);
    assert.match(rig.cli(['check']).stdout, /can be read by its group/);
    chmodSync(pass, 0o600);
    assert.doesNotMatch(rig.cli(['check']).stdout, /passwordfile/);
    return { faults: 2, files: 0, lost: 0 };
  } finally {
    chmodSync(pass, 0o600);
    await rig.stop();
  }
}

/** The state directory is the owner's alone (0700), and so is every file in it (0600). */
export async function stateDirOwnerOnly(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const oldMask = process.umask(0o022); // the usual umask: the program must not rely on a strict one
  try {
    await rig.start();
    writeFileSync(join(rig.src, 'f'), 'f');
    await rig.converged(10_000, 'a file');
    assert.equal(statSync(rig.state).mode & 0o777, 0o700, 'the state directory');
    const entries = readdirSync(rig.state);
    assert.ok(
      entries.some((e) => e.endsWith('.sqlite')),
      entries.join(' '),
    );
    for (const e of entries) {
      const mode = statSync(join(rig.state, e)).mode & 0o777;
      assert.equal(mode & 0o077, 0, `${e} has mode ${mode.toString(8)}`);
    }
    return { faults: 0, files: rig.files(), lost: 0 };
  } finally {
    process.umask(oldMask);
    await rig.stop();
  }
}

/**
 * The command plugin through the real CLI: names that a shell would run are handed to the
 * program as one argument each, exactly (a recorder script logs what it got), and run nothing.
 */
export async function commandPluginRunsNoShell(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, {
    daemon,
    metricsPort: await freePort(),
    spec: { sersyncPlugin: '<plugin start="true" name="command"/>' },
  });
  const recorder = join(rig.base, 'record.sh');
  const record = join(rig.base, 'record.log');
  writeFileSync(recorder, `printf '%s\\0' "$@" >> '${record}'\n`);
  const xml = readFileSync(rig.config, 'latin1').replace(
    '<param prefix="/bin/sh" suffix="" ignoreError="true"/>',
    `<param prefix="/bin/sh ${recorder}" suffix="--end" ignoreError="false"/>`,
  );
  writeFileSync(rig.config, xml, 'latin1');
  const names = [
    'x; touch PWNED',
    '$(touch PWNED2)',
    '`touch PWNED3`',
    'a && touch PWNED4',
    'q\'uote"d',
    'new\nline',
  ];
  try {
    await rig.start();
    for (const n of names) writeFileSync(join(rig.src, n), n);
    await rig.converged(15_000, 'hostile names with the command plugin');
    const expected = names.map((n) => `${join(rig.src, n)}\0--end\0`).sort();
    await eventually(
      () => existsSync(record) && readFileSync(record, 'utf8').split(/(?<=--end\0)/).length >= names.length,
      10_000,
      'the plugin ran for every file',
    );
    const got = readFileSync(record, 'utf8')
      .split(/(?<=--end\0)/)
      .filter((s) => s !== '')
      .sort();
    assert.deepEqual(got, expected, 'each path reached the program as one exact argument');
    for (const where of [rig.src, rig.base, rig.replica, process.cwd()])
      for (const p of ['PWNED', 'PWNED2', 'PWNED3', 'PWNED4'])
        assert.equal(existsSync(join(where, p)), false, `${where}/${p}`);
    return { faults: names.length, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * The command plugin runs as root on the path of each change, by the root's name. Its events wait
 * their turn behind a slow command; the root is swapped for a link to a directory only root reads
 * meanwhile: the waiting event is withheld (logged, counted by status and /metrics), never handed
 * with a path that now leads there.
 */
export async function commandPluginAfterRootSwap(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, {
    daemon,
    metricsPort: await freePort(),
    spec: { sersyncPlugin: '<plugin start="true" name="command"/>' },
  });
  const outbox = join(rig.base, 'outbox');
  const started = join(rig.base, 'slow-started');
  const secret = join(rig.base, 'secret');
  const script = join(rig.base, 'copy.sh');
  mkdirSync(outbox);
  mkdirSync(secret, { mode: 0o700 });
  writeFileSync(join(secret, 'key'), 'root only');
  // Each command copies its file to the outbox; the first one then takes a while.
  writeFileSync(
    script,
    `cp -- "$1" '${outbox}/' 2>/dev/null\ncase "$1" in *slow) : > '${started}'; sleep 4;; esac\nexit 0\n`,
  );
  const xml = readFileSync(rig.config, 'latin1').replace(
    '<param prefix="/bin/sh" suffix="" ignoreError="true"/>',
    `<param prefix="/bin/sh ${script}" suffix="" ignoreError="true"/>`,
  );
  writeFileSync(rig.config, xml, 'latin1');
  try {
    await rig.start();
    writeFileSync(join(rig.src, 'slow'), 'first');
    await eventually(() => existsSync(started), 10_000, 'the slow command to start');
    writeFileSync(join(rig.src, 'key'), "the tree's own");
    await eventually(() => existsSync(join(rig.replica, 'key')), 10_000, 'key synced, its event waiting');
    renameSync(rig.src, `${rig.src}.old`);
    symlinkSync(secret, rig.src);
    await eventually(
      () => rig.logLines(/not handed to the plugin/).length === 1,
      15_000,
      'the waiting event withheld',
    );
    assert.equal(existsSync(join(outbox, 'slow')), true, 'the slow command ran');
    assert.equal(existsSync(join(outbox, 'key')), false, "the plugin copied the link's target");
    // Said by status and /metrics, not only by the log: the plugin never heard of that change.
    assert.equal(rig.status().plugin?.withheld, 1);
    assert.match(rig.cli(['status']).stdout, /^! 1 event withheld from the command plugin \(last .* ago\)/m);
    assert.equal(await rig.metric('sersync_plugin_withheld_total', { plugin: 'command' }), 1);
    rmSync(rig.src);
    renameSync(`${rig.src}.old`, rig.src);
    return { faults: 1, files: 2, lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * An rsync older than 3.5 (it follows a symlink planted mid-path), looked at 10 s after the start.
 * Runs to a daemon are confined to the tree, and so are runs through a remote shell (`--rsh`; here a
 * stand-in for ssh that reaches a daemon, reading its config outside the tree: it runs outside the
 * confinement): status says so, `sersync_rsync_reads_confined` is 1 and nothing is wrong. An install
 * whose helper was not built confines nothing: status shows the problem, `sersync_rsync_problem` is
 * 1, and the log says it. Replication goes on in all three.
 */
export async function oldRsyncShown(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const bin = join(work, `old-rsync-${process.pid}`);
  mkdirSync(bin, { recursive: true });
  const real = spawnSync('sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).stdout.trim();
  // Says it is 3.1.3; does the work of the real one.
  writeFileSync(
    join(bin, 'rsync'),
    `#!/bin/sh\nif [ "$1" = --version ]; then echo "rsync  version 3.1.3  protocol version 31"; exit 0; fi\nexec ${real} "$@"\n`,
    { mode: 0o755 },
  );
  // `rsh [-l user] host rsync --server --daemon .`: runs that daemon here, with a test daemon's config.
  const shellDaemon = await startRsyncDaemon();
  const shell = join(bin, 'remote-shell');
  writeFileSync(
    shell,
    `#!/bin/sh\nwhile [ "$1" != rsync ]; do shift; done\nshift\nexec rsync --config=${join(shellDaemon.dir, '..', 'rsyncd.conf')} "$@"\n`,
    { mode: 0o755 },
  );
  const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  const confinedRig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const shellRig = Rig.create(work, {
    daemon: shellDaemon,
    metricsPort: await freePort(),
    spec: { params: `-artuz --rsh=${shell}` },
  });
  const bareDaemon = await startRsyncDaemon();
  const bareRig = Rig.create(work, { daemon: bareDaemon, metricsPort: await freePort() });
  const cli = installWithoutConfineHelper(mkdtempSync(join(work, 'no-helper-')));
  try {
    await Promise.all([
      confinedRig.start([], { env }),
      shellRig.start([], { env }),
      bareRig.start([], { env, cli }),
    ]);
    for (const rig of [confinedRig, shellRig, bareRig]) writeFileSync(join(rig.src, 'a.txt'), 'a');
    for (const [rig, how] of [
      [confinedRig, 'to a daemon'],
      [shellRig, 'through a remote shell'],
    ] as const) {
      await rig.converged(10_000, `with the old rsync, confined, ${how}`);
      await eventually(() => rig.status().rsync !== null, 20_000, 'the look at rsync');
      const confined = rig.status();
      assert.ok(confined.rsync !== null);
      assert.equal(confined.rsync.version, '3.1.3');
      assert.equal(confined.rsync.confined, true, confined.rsync.confinement);
      assert.equal(confined.rsyncProblem, null);
      assert.equal(await rig.metric('sersync_rsync_reads_confined', {}), 1);
      assert.equal(await rig.metric('sersync_rsync_problem', {}), 0);
      assert.match(rig.cli(['status']).stdout, /^rsync: .* started; 3\.1\.3, reads confined to the tree$/m);
      assert.doesNotMatch(rig.running.stderr(), /follows a symlink planted/);
    }

    await bareRig.converged(10_000, 'with the old rsync and no helper');
    await eventually(() => bareRig.status().rsyncProblem !== null, 20_000, 'status showing the old rsync');
    assert.match(
      bareRig.status().rsyncProblem ?? '',
      /^rsync 3\.1\.3 follows a symlink planted .*, and its reads cannot be confined to the tree: its helper .*\/sersync-confine is not built .*; .* install rsync 3\.5 or later$/,
    );
    assert.equal(bareRig.status().rsync?.confined, false);
    assert.equal(await bareRig.metric('sersync_rsync_problem', {}), 1);
    assert.equal(await bareRig.metric('sersync_rsync_reads_confined', {}), 0);
    const text = bareRig.cli(['status']).stdout;
    assert.match(text, /^rsync: .* started; 3\.1\.3, reads not confined: its helper .* is not built/m);
    assert.match(text, /^! rsync 3\.1\.3 follows a symlink planted/m);
    assert.match(bareRig.running.stderr(), /rsync 3\.1\.3 follows a symlink planted/);
    return { faults: 1, files: confinedRig.files() + shellRig.files() + bareRig.files(), lost: 0 };
  } finally {
    await Promise.all([confinedRig.stop(), shellRig.stop(), bareRig.stop()]);
    await Promise.all([disposeRsyncDaemon(shellDaemon), disposeRsyncDaemon(bareDaemon)]);
  }
}
