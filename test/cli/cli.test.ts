/** The real `sersync2` executable, spawned: help, version, usage errors, and `check` on the shipped confxml.xml. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CLI as MAIN, installWithoutConfineHelper } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHIPPED = join(ROOT, 'confxml.xml');
const USAGE = 'usage: sersync2 [-d] [-r] [-n NUM] [-o FILE] [-m PLUGIN]';

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function sersync2(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; cli?: string } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.cli ?? MAIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, SERSYNC_DEBUG: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

test('--help and -h print the legacy usage and the commands, exit 0', async () => {
  for (const flag of ['--help', '-h']) {
    const r = await sersync2([flag]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: sersync2 \[-d\] \[-r\] \[-n NUM\] \[-o FILE\] \[-m PLUGIN\]/);
    assert.match(r.stdout, /^ {2}check /m);
    assert.match(r.stdout, /--state-dir <dir>/);
  }
});

test('--version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await sersync2(['--version']);
  assert.deepEqual(r, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
});

const USAGE_ERRORS: readonly (readonly [readonly string[], string])[] = [
  [['-x'], "sersync2: unknown option '-x'"],
  [['-dx'], "sersync2: unknown option '-x'"],
  [['-o'], "sersync2: option '-o, --config <file>' argument missing"],
  [
    ['-n', 'ten'],
    "sersync2: option '-n, --threads <num>' argument 'ten' is invalid. it must be a whole number of threads.",
  ],
  [
    ['-m', 'ftp'],
    "sersync2: option '-m, --plugin <name>' argument 'ftp' is invalid. Allowed choices are command, socket, refreshCDN, http.",
  ],
  [['chek'], 'sersync2: unknown command "chek" (the commands are: '],
  [
    ['check', '-d'],
    'sersync2: -d, -r, -n, -m, --log-file and --pid-file start the replicator; they do not apply to "check"',
  ],
  [['-o', ''], 'sersync2: config file name empty (-o "")'],
];

for (const [args, message] of USAGE_ERRORS) {
  test(`usage error: sersync2 ${args.join(' ')}`, async () => {
    const r = await sersync2(args);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const [first, second] = r.stderr.split('\n');
    assert.ok(first?.startsWith(message), r.stderr);
    assert.equal(second, USAGE);
  });
}

test('combined flags reach -o: `-dro FILE` reads FILE (here: a missing one), one message, no stack', async () => {
  const dir = await tempDir();
  try {
    const missing = join(dir.path, 'nope.xml');
    const r = await sersync2(['-dro', missing]);
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr: `sersync2: ${missing}: cannot read the config file: ENOENT: no such file or directory\n`,
    });
    const debug = await sersync2(['-dro', missing], { env: { SERSYNC_DEBUG: '1' } });
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /^ConfigError: .*\n {4}at /m);
  } finally {
    await dir.remove();
  }
});

test('a broken config: `sersync2 check` prints its place and what was expected, exit 1', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'confxml.xml');
    await writeFile(file, '<head>\n<sersync>\n  <localpath watch="/w"/>\n</sersync>\n</head>\n');
    const r = await sersync2(['check', '-o', file]);
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr: `sersync2: ${file}:3:3: <localpath watch="/w"> has no <remote>: nowhere to replicate to\n`,
    });
  } finally {
    await dir.remove();
  }
});

test('`sersync2 check` on the shipped confxml.xml describes it and exits 0', async () => {
  const r = await sersync2(['check']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  for (const expected of [
    `config file     ${SHIPPED}`,
    'state dir       the default location',
    `tree 1          ${join(ROOT, 'demo/src')}`,
    `  remote        ${join(ROOT, 'demo/replica')}  (local directory)`,
    'rsync options   -artuz   → "-artuz"',
    'note: commonParams -u (--update) applies to full syncs only: an event sync sends what the watcher saw change, even where the replica has a newer copy (sersync kept the stale copy)',
    `fail log        ${join(ROOT, 'demo/rsync_fail_log.sh')}: a list of the failed syncs, rewritten from the retry queue, never run`,
    '  retries       by the queue, 5 s after a failure, doubling up to every 60 min (timeToExecute)',
    'crontab         off',
    'plugin          off',
    `${SHIPPED}: usable`,
  ]) {
    assert.ok(lines.includes(expected), `missing line: ${expected}\n${r.stdout}`);
  }
});

test('`sersync2 check` uses ./confxml.xml of the current directory and shows --state-dir', async () => {
  const dir = await tempDir();
  try {
    await copyFile(SHIPPED, join(dir.path, 'confxml.xml'));
    const r = await sersync2(['check', '--state-dir', 'state'], { cwd: dir.path });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes(`config file     ${join(dir.path, 'confxml.xml')}`), r.stdout);
    assert.ok(lines.includes(`state dir       ${join(dir.path, 'state')}  (--state-dir)`), r.stdout);
    assert.ok(lines.includes(`note: ${join(dir.path, 'demo/src')} does not exist yet`), r.stdout);
  } finally {
    await dir.remove();
  }
});

test('`sersync2 check --json` prints the resolved Config of the shipped confxml.xml', async () => {
  const r = await sersync2(['check', '--json', '-o', SHIPPED]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as {
    file: string;
    localpaths: { watch: string; remotes: { id: string; target: { kind: string } }[] }[];
    filter: { enabled: boolean; excludes: { expression: string; regex: string }[] };
    plugin: { enabled: boolean; refreshCDN: { password: string } };
    warnings: unknown[];
  };
  assert.equal(json.file, SHIPPED);
  assert.deepEqual(json.localpaths, [
    {
      watch: join(ROOT, 'demo/src'),
      remotes: [
        { id: join(ROOT, 'demo/replica'), target: { kind: 'local', path: join(ROOT, 'demo/replica') } },
      ],
    },
  ]);
  assert.equal(json.filter.enabled, false);
  assert.deepEqual(json.filter.excludes[0], { expression: '(.*)\\.svn', regex: '^(?:(.*)\\.svn)$' });
  assert.equal(json.plugin.enabled, false);
  assert.equal(json.plugin.refreshCDN.password, '(hidden)');
  assert.deepEqual(json.warnings, []);
});

test('check lists warnings with file:line:column, and the file is still usable', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'c.xml');
    await writeFile(
      file,
      '<head>\n<debug start="yes"/>\n<sersync><localpath watch="w"><remote path="r"/></localpath></sersync>\n</head>\n',
    );
    const r = await sersync2(['check', '-o', file]);
    assert.equal(r.code, 0);
    assert.ok(
      r.stdout.includes(
        `${file}:2:8: warning: start="yes" means false: only the exact string "true" enables\n`,
      ),
      r.stdout,
    );
    assert.ok(r.stdout.endsWith(`${file}: usable, with 1 warning(s)\n`), r.stdout);
  } finally {
    await dir.remove();
  }
});

test('`sersync2 check` names the rsync it will run and whether its reads are confined (over ssh too), and warns when it is older than 3.5 and not confined, or missing', async () => {
  const work = await tempDir();
  try {
    const fake = join(work.path, 'rsync');
    await writeFile(fake, '#!/bin/sh\necho "rsync  version 3.1.3  protocol version 31"\n', { mode: 0o755 });
    const path = { PATH: `${work.path}:${process.env.PATH ?? ''}` };
    // The shipped config's remote is a local directory: its runs are confined to the tree.
    const old = await sersync2(['check'], { env: path });
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stdout, /^ {2}rsync {9}3\.1\.3$/m);
    assert.match(
      old.stdout,
      /^ {2}confined {6}yes: rsync reads only the tree and the system's files, and writes only a local replica \(Landlock ABI \d+\)$/m,
    );
    assert.doesNotMatch(old.stdout, /WARNING: .*rsync/, 'every run confined: nothing to warn of');
    // Over ssh too: ssh runs outside the confinement.
    const sshConfig = join(work.path, 'ssh.xml');
    await writeFile(
      sshConfig,
      (await readFile(SHIPPED, 'utf8'))
        .replace('<remote path="./demo/replica"/>', '<remote ip="192.0.2.1" name="/srv/replica"/>')
        .replace('<ssh start="false"/>', '<ssh start="true"/>'),
    );
    const overSsh = await sersync2(['check', '-o', sshConfig], { env: path });
    assert.equal(overSsh.code, 0, overSsh.stderr);
    assert.match(overSsh.stdout, /^ {2}confined {6}yes: rsync reads only the tree and the system's files/m);
    assert.doesNotMatch(overSsh.stdout, /WARNING: .*rsync/);
    // An install whose helper was not built confines nothing.
    const bare = await sersync2(['check', '-o', sshConfig], {
      env: path,
      cli: installWithoutConfineHelper(join(work.path, 'no-helper')),
    });
    assert.equal(bare.code, 0, bare.stderr);
    assert.match(
      bare.stdout,
      /^ {2}confined {6}no: its helper .*\/sersync-confine is not built \(npm install builds it\)$/m,
    );
    assert.match(
      bare.stdout,
      /^WARNING: rsync 3\.1\.3 follows a symlink planted .*, and its reads cannot be confined to the tree: its helper .* is not built .*; .* install rsync 3\.5 or later$/m,
    );
    const none = await sersync2(['check'], { env: { PATH: join(work.path, 'empty') } });
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /^ {2}rsync {9}not found$/m);
    assert.match(
      none.stdout,
      /^WARNING: cannot run rsync \(.*ENOENT.*\): every sync will fail until it is installed$/m,
    );
    // Not this machine's rsync: which one a machine has is not the test's to assume.
    await writeFile(fake, '#!/bin/sh\necho "rsync  version 3.5.0  protocol version 32"\n', { mode: 0o755 });
    const recent = await sersync2(['check'], { env: { PATH: `${work.path}:${process.env.PATH ?? ''}` } });
    assert.match(recent.stdout, /^ {2}rsync {9}3\.5\.0$/m);
    assert.doesNotMatch(recent.stdout, /WARNING: .*rsync/, 'rsync 3.5 draws no warning');
  } finally {
    await work.remove();
  }
});

test('`sersync2 status` with a config it cannot read says it cannot tell, not that nothing runs', async () => {
  const work = await tempDir();
  try {
    const config = join(work.path, 'confxml.xml');
    await writeFile(config, '<head><sersync><localpath watch="/w">');
    const r = await sersync2(['status', '-o', config], {
      env: { XDG_STATE_HOME: join(work.path, 'state') },
    });
    assert.equal(r.code, 4, `status unknown (LSB), not "not running": ${r.stderr}`);
    assert.match(r.stderr, /asking the running daemon all the same/);
    assert.match(
      r.stderr,
      /cannot tell whether a sersync2 runs for .*: the config cannot be read, so its <state dir> is unknown/,
    );
    assert.doesNotMatch(r.stderr, /no sersync2 is running/);
  } finally {
    await work.remove();
  }
});

test('`sersync2 check` looks at where root writes: a state directory another user could redirect fails it, a fail log others may replace is a warning', async () => {
  const work = await tempDir();
  try {
    const open = join(work.path, 'open');
    await mkdir(open, { mode: 0o777 });
    await chmod(open, 0o777); // not sticky: anyone may rename what is in it
    const file = join(work.path, 'c.xml');
    await writeFile(
      file,
      `<head><sersync><localpath watch="${work.path}/tree"><remote ip="127.0.0.1" name="m"/></localpath>` +
        `<failLog path="${open}/fail.sh" timeToExecute="60"/></sersync></head>`,
    );
    const unsafe = await sersync2(['check', '-o', file, '--state-dir', join(open, 'state')]);
    assert.equal(unsafe.code, 1, unsafe.stderr);
    assert.match(
      unsafe.stderr,
      new RegExp(
        `sersync2 would not start: refusing to write the state directory ${open}/state: others can write ${open} \\(mode 0777\\)`,
      ),
    );
    assert.doesNotMatch(unsafe.stdout, /: usable/);
    assert.match(
      unsafe.stdout,
      new RegExp(
        `^WARNING: the fail log is in ${open}, which other users can write \\(mode 0777\\).*others can replace or remove it`,
        'm',
      ),
    );
    const safe = await sersync2(['check', '-o', file, '--state-dir', join(work.path, 'state')]);
    assert.equal(safe.code, 0, safe.stderr);
    assert.match(safe.stdout, /: usable/);
    await chmod(open, 0o700);
    const none = await sersync2(['check', '-o', file, '--state-dir', join(work.path, 'state')]);
    assert.doesNotMatch(none.stdout, /WARNING: the fail log/);
  } finally {
    await work.remove();
  }
});
