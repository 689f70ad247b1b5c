import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chownSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PathOp } from '../../src/coalesce/types.js';
import type { Config } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { openQueueForConfig } from '../../src/queue/open.js';
import { tempDir } from '../helpers/tmp.js';
import { testConfig } from './helpers/config.js';

const CLI = fileURLToPath(new URL('./helpers/cli.js', import.meta.url));
const RED = ' >/dev/null 2>&1 ';

/** sersync's own quoting (spec §3.8 q()): only `$` escaped. */
const q = (s: string): string => `"${s.replaceAll('$', '\\$')}"`;

/** The commands sersync would have left for these failures, as its fail log (spec §3.8, §3.10). */
function sersyncFailLog(
  watch: string,
  entries: readonly { op: PathOp; module: string; status: number }[],
): string {
  return entries
    .map(({ op, module, status }) => {
      const dest = `root@127.0.0.1::${module} --password-file=/etc/rsync.pas`;
      let command: string;
      if (op.kind === 'delete') {
        const parents = [...op.path.matchAll(/\//g)].map(
          (m) => ` --include=${q(op.path.slice(0, m.index + 1))}`,
        );
        const below = op.isDir ? `  --include=${q(`${op.path}/***`)}` : '';
        command = `cd ${watch} && rsync -artuz -R  --port=874 --delete ./  ${parents.join('')} --include=${q(op.path)}${below} --exclude=*  ${dest}${RED}`;
      } else {
        command = `cd ${watch} && rsync -artuz -R  --port=874 ${q(`./${op.path}`)} ${dest}${RED}`;
      }
      return `#errno ${status}\n${command}\n\n`;
    })
    .join('');
}

interface Setup {
  readonly dir: string;
  readonly config: Config;
  readonly stateDir: string;
  migrate(args: readonly string[]): { status: number | null; stdout: string; stderr: string };
}

async function withSetup(fn: (s: Setup) => void): Promise<void> {
  const d = await tempDir();
  try {
    const watch = join(d.path, 'www');
    mkdirSync(join(watch, 'assets'), { recursive: true });
    const config = testConfig(d.path, {
      watch,
      failLog: join(d.path, 'rsync_fail_log.sh'),
      remotes: [
        { ip: '127.0.0.1', name: 'tongbu1' },
        { ip: '127.0.0.1', name: 'backup' },
      ],
      auth: { users: 'root', passwordFile: '/etc/rsync.pas' },
      port: 874,
    });
    const stateDir = join(d.path, 'state');
    fn({
      dir: d.path,
      config,
      stateDir,
      migrate: (args) => {
        const r = spawnSync(
          process.execPath,
          [CLI, 'migrate', ...args, '-o', config.file, '--state-dir', stateDir],
          { encoding: 'utf8', timeout: 20_000 },
        );
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      },
    });
  } finally {
    await d.remove();
  }
}

/** 50 failures: plain, spaced and `$` names, nested paths, a directory, file and directory deletes, two remotes. */
function fiftyFailures(): { op: PathOp; module: string; status: number }[] {
  const entries: { op: PathOp; module: string; status: number }[] = [];
  for (let i = 0; i < 40; i++) {
    const path =
      [`file-${i}.txt`, `my docs/report ${i}.pdf`, `price$${i}.html`, `a/b/c/deep-${i}.css`][i % 4] ?? '';
    entries.push({
      op: { kind: 'sync', path },
      module: i % 5 === 0 ? 'backup' : 'tongbu1',
      status: i % 3 === 0 ? 2560 : 256,
    });
  }
  entries.push({ op: { kind: 'sync', path: 'assets' }, module: 'tongbu1', status: 256 });
  for (let i = 0; i < 6; i++) {
    entries.push({
      op: { kind: 'delete', path: `old/sub ${i}/gone$${i}.txt`, isDir: false },
      module: 'tongbu1',
      status: 256,
    });
  }
  entries.push({ op: { kind: 'delete', path: 'retired', isDir: true }, module: 'tongbu1', status: 256 });
  entries.push({
    op: { kind: 'delete', path: 'x/y/retired dir', isDir: true },
    module: 'backup',
    status: 5120,
  });
  entries.push({ op: { kind: 'delete', path: 'top.txt', isDir: false }, module: 'backup', status: -1 });
  return entries;
}

test('migrate imports a 50-command sersync fail log as due-now retries and keeps the original', async () => {
  await withSetup((s) => {
    const entries = fiftyFailures();
    assert.equal(entries.length, 50);
    const legacy = sersyncFailLog(s.config.localpaths[0]?.watch ?? '', entries);
    writeFileSync(s.config.failLog.path, legacy, { mode: 0o777 });

    const before = Date.now();
    const r = s.migrate(['--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      commands: number;
      imported: number;
      alreadyQueued: number;
      problems: unknown[];
      keptAs: string;
      differences: { id: string }[];
    };
    assert.equal(report.commands, 50);
    assert.equal(report.imported, 50);
    assert.deepEqual(report.problems, []);
    assert.ok(report.differences.some((d) => d.id === 'fail-log-mirror'));

    const { store } = openQueueForConfig(s.config, {
      stateDirFlag: s.stateDir,
      log: silentLogger,
      mirrorFailLog: false,
    });
    try {
      const rows = store.list();
      assert.equal(rows.length, 50);
      assert.ok(rows.every((row) => row.state === 'retry' && row.attempts === 2));
      assert.ok(
        rows.every(
          (row) => (row.nextAttemptAt ?? Infinity) <= Date.now() && (row.nextAttemptAt ?? 0) >= before,
        ),
      );
      const key = (remoteId: string, op: PathOp): string => `${remoteId} ${JSON.stringify(op)}`;
      const queued = new Set(rows.map((row) => key(row.remoteId, row.op)));
      for (const e of entries) {
        // sersync rsynced "./assets" recursively: it is a directory, so it comes back as a tree sync.
        const op: PathOp = e.op.path === 'assets' ? { kind: 'tree', path: 'assets' } : e.op;
        assert.ok(queued.has(key(`127.0.0.1::${e.module}`, op)), key(e.module, op));
      }
      const killed = rows.find((row) => row.op.path === 'top.txt');
      assert.equal(killed?.exitCode, -1);
      const price = rows.find((row) => row.op.path === 'price$2.html');
      assert.ok(price !== undefined);
      assert.equal(price.exitCode, 1);
      assert.match(price.lastError ?? '', /^imported from .*rsync_fail_log\.sh:\d+$/);
    } finally {
      store.close();
    }

    // The original is kept; the fail log now mirrors the queue (same 50 entries, sersync's format).
    assert.equal(readFileSync(report.keptAs, 'latin1'), legacy);
    const mirror = readFileSync(s.config.failLog.path, 'latin1');
    assert.equal(mirror.match(/^#errno /gm)?.length, 50);
    assert.ok(mirror.includes('"./price\\$2.html"'));

    // Running it again finds everything queued and its own fail log: nothing new, nothing set aside.
    const again = s.migrate(['--json']);
    assert.equal(again.status, 0, again.stderr);
    const second = JSON.parse(again.stdout) as {
      imported: number;
      alreadyQueued: number;
      keptAs: string | null;
    };
    assert.deepEqual([second.imported, second.alreadyQueued, second.keptAs], [0, 50, null]);
    assert.equal(readdirSync(s.dir).filter((f) => f.includes('.sersync-')).length, 1);
  });
});

test('migrate reports lines it could not import by number and exits 1', async () => {
  await withSetup((s) => {
    const watch = s.config.localpaths[0]?.watch ?? '';
    const legacy = [
      '#errno 256',
      `cd ${watch} && rsync -artuz -R "./ok.txt" 127.0.0.1::tongbu1${RED}`,
      '',
      '#errno 256',
      `cd ${watch} && rsync -artuz -R "./broken 127.0.0.1::tongbu1${RED}`,
      '',
      '#errno 256',
      `cd ${watch} && rsync -artuz -R "./x.txt" 127.0.0.1::unknown${RED}`,
      '',
    ].join('\n');
    const source = join(s.dir, 'old_fail_log.sh');
    writeFileSync(source, legacy);
    const r = s.migrate(['--fail-log', source]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /: 2 command\(s\) read;/);
    assert.match(r.stdout, /1 queued for retry now/);
    assert.ok(r.stdout.includes(`2 line(s) of ${source} NOT imported:`), r.stdout);
    assert.match(r.stdout, /line 5: a " is never closed on its line/);
    assert.ok(
      r.stdout.includes(
        `  line 8: its destination 127.0.0.1::unknown is not a remote of ${watch} in ${s.config.file}\n` +
          `    cd ${watch} && rsync -artuz -R "./x.txt" 127.0.0.1::unknown${RED}\n`,
      ),
      r.stdout,
    );
    const rerun = `sersync2 migrate -o ${s.config.file} --fail-log ${source}`;
    assert.ok(r.stdout.includes(`then import them with: ${rerun}\n`), r.stdout);
    const json = JSON.parse(s.migrate(['--fail-log', source, '--json']).stdout) as {
      rerun: string;
      problems: { line: number; text: string }[];
    };
    assert.equal(json.rerun, rerun);
    assert.deepEqual(
      json.problems.map((p) => p.text),
      [
        `cd ${watch} && rsync -artuz -R "./broken 127.0.0.1::tongbu1${RED}`,
        `cd ${watch} && rsync -artuz -R "./x.txt" 127.0.0.1::unknown${RED}`,
      ],
    );
    assert.equal(readFileSync(source, 'utf8'), legacy, 'a --fail-log file elsewhere is left as it is');
  });
});

test('migrate without a legacy fail log still explains what differs', async () => {
  await withSetup((s) => {
    const r = s.migrate([]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^No legacy fail log at .*rsync_fail_log\.sh: nothing to import\.$/m);
    assert.match(r.stdout, /What behaves differently under sersync-ts with .*confxml\.xml:/);
    assert.match(r.stdout, /\/proc\/sys\/fs\/inotify is never written\n {6}why: /);
    assert.doesNotMatch(r.stdout, /IN_ATTRIB/, 'only what applies to this config');
    assert.match(r.stdout, /`sersync2 check --remotes -o \S*confxml\.xml` asks each remote/);
  });
});

test('migrate reads only a regular file of root or this user: a planted FIFO, link, hard link, file of another user or huge file is refused at once, its contents never shown', async () => {
  await withSetup((s) => {
    const file = s.config.failLog.path;
    const secret = join(s.dir, 'secret');
    writeFileSync(secret, 'SECRET line\n', { mode: 0o600 });
    const plants: [string, () => void][] = [
      ['it is not a regular file', () => spawnSync('mkfifo', [file])],
      ['it is a symlink', () => symlinkSync(secret, file)],
      ['it has other hard links', () => linkSync(secret, file)],
      ['it is larger than 268435456 bytes', () => truncateSync((writeFileSync(file, ''), file), 2 ** 28 + 1)],
    ];
    if (process.getuid?.() === 0)
      plants.push([
        'it belongs to another user (uid 65534)',
        () => {
          writeFileSync(file, 'SECRET of nobody\n');
          chownSync(file, 65534, 65534);
        },
      ]);
    for (const [why, plant] of plants) {
      plant();
      const r = s.migrate([]);
      assert.equal(r.status, 1, `${why}: ${r.stderr}`);
      assert.ok(r.stderr.endsWith(`sersync2: refusing to read the fail log ${file}: ${why}\n`), r.stderr);
      assert.doesNotMatch(r.stdout, /SECRET/);
      rmSync(file);
    }
  });
});
