/**
 * The workloads servers see, each on the real CLI against a real rsync daemon with sersync's
 * shipped `commonParams` (`-artuz`): after each, the replica equals the source in names, types,
 * bytes, symlink targets, modes, owners and file modification times. Where it cannot, the
 * difference is deliberate and listed in docs/migration-from-sersync.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { useLab } from '../helpers/lab.js';
import { CLI, startSersync, type SersyncConfigSpec } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';

// Symlinks kept as they are (a daemon without chroot munges them by default: its own setting, not ours).
const lab = useLab('sersync-workloads-', { moduleLines: ['munge symlinks = no'] });

/** One line per entry: what the replica must reproduce (not a directory's mtime: listed in the migration guide). */
function describe(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: Buffer, rel: string): void => {
    for (const name of readdirSync(dir, { encoding: 'buffer' })) {
      const abs = Buffer.concat([dir, Buffer.from('/'), name]);
      const path = rel === '' ? name.toString('latin1') : `${rel}/${name.toString('latin1')}`;
      const st = lstatSync(abs, { bigint: true });
      const mode = (st.mode & 0o7777n).toString(8);
      const who = `${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out.push(`${path} dir ${mode} ${who}`);
        walk(abs, path);
      } else if (st.isSymbolicLink()) {
        out.push(`${path} -> ${readlinkSync(abs, { encoding: 'buffer' }).toString('latin1')} ${who}`);
      } else {
        const type = st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : 'other';
        const body = st.isFile()
          ? spawnSync('sha1sum', [abs.toString('latin1')])
              .stdout.toString()
              .slice(0, 40)
          : '';
        // rsync does not set a FIFO's or socket's time on a daemon (listed)
        const mtime = st.isFile() ? st.mtimeNs : '';
        out.push(`${path} ${type} ${mode} ${who} ${st.size} ${mtime} ${body}`);
      }
    }
  };
  walk(Buffer.from(root), '');
  return out.sort();
}

async function sameTree(src: string, replica: string, what: string): Promise<void> {
  try {
    await eventually(() => describe(src).join('\n') === describe(replica).join('\n'), 20_000, what);
  } catch (err) {
    assert.deepEqual(describe(replica), describe(src), `${what}: ${(err as Error).message}`);
  }
}

/** The first lane of `sersync2 status --json` for the run in `base`. */
function laneStatus(base: string): { delayedByName: number; awaitingClose: number; pending: number } {
  const r = spawnSync(
    process.execPath,
    [CLI, 'status', '--json', '-o', join(base, 'confxml.xml'), '--state-dir', join(base, 'state')],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const [lane] = (JSON.parse(r.stdout) as { lanes: ReturnType<typeof laneStatus>[] }).lanes;
  assert.ok(lane !== undefined, r.stdout);
  return lane;
}

const sh = (cwd: string, cmd: string, ...args: string[]): void => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
};

/** renameat2(AT_FDCWD, $ARGV[0], AT_FDCWD, $ARGV[1], RENAME_EXCHANGE) on x86_64 and arm64. */
const EXCHANGE = `my ($a, $b) = @ARGV; my $nr = \`uname -m\` =~ /aarch64/ ? 276 : 316; syscall($nr, -100, $a, -100, $b, 2) == 0 or die "renameat2: $!";`;

/** This checkout's node_modules: packages to install offline. */
const REPO_MODULES = join(import.meta.dirname, '..', '..', '..', 'node_modules');

/** An mtime in the past, whole seconds: the "older file" of a restore. */
const OLD = new Date('2020-01-02T03:04:05Z');

interface Workload {
  readonly name: string;
  /** The tree before sersync2 starts (the replica gets a copy, as after a first full sync). */
  readonly before?: (src: string, outside: string) => void;
  /** What happens while it runs. */
  readonly act: (src: string, outside: string) => void | Promise<void>;
  /** Changes to the shipped config. */
  readonly spec?: Partial<SersyncConfigSpec>;
}

const WORKLOADS: readonly Workload[] = [
  {
    name: 'symlinks: to a file, to a directory, dangling, a file replaced by a symlink',
    before: (src) => writeFileSync(join(src, 'plain'), 'plain'),
    act: (src) => {
      mkdirSync(join(src, 'dir'));
      writeFileSync(join(src, 'dir', 'f'), 'f');
      symlinkSync('dir/f', join(src, 'to-file'));
      symlinkSync('dir', join(src, 'to-dir'));
      symlinkSync('nowhere/at/all', join(src, 'dangling'));
      rmSync(join(src, 'plain'));
      symlinkSync('dir/f', join(src, 'plain'));
    },
  },
  {
    name: 'hard links: each name is replicated with its content',
    act: (src) => {
      writeFileSync(join(src, 'a'), 'shared');
      linkSync(join(src, 'a'), join(src, 'b'));
    },
  },
  {
    name: 'chmod, chown and touch only (with <attrib> on: the shipped config has it off, as sersync)',
    spec: { inotify: { attrib: true } },
    before: (src) => {
      writeFileSync(join(src, 'm'), 'mode');
      writeFileSync(join(src, 'o'), 'owner');
      writeFileSync(join(src, 't'), 'time');
      mkdirSync(join(src, 'd'));
    },
    act: (src) => {
      chmodSync(join(src, 'm'), 0o600);
      chownSync(join(src, 'o'), 1234, 5678);
      utimesSync(join(src, 't'), OLD, new Date('2021-05-06T07:08:09.123Z'));
      chmodSync(join(src, 'd'), 0o700);
    },
  },
  {
    name: 'truncate, and a log appended to for two seconds',
    before: (src) => writeFileSync(join(src, 'big'), 'x'.repeat(10_000)),
    act: async (src) => {
      truncateSync(join(src, 'big'), 10);
      const end = Date.now() + 2000;
      while (Date.now() < end) {
        appendFileSync(join(src, 'app.log'), `${new Date().toISOString()} line\n`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  },
  {
    // logrotate's two modes, as its syscalls go: `create` with `delaycompress` renames the chain
    // and makes a new log; `copytruncate` copies the log and truncates it under its writer.
    name: 'logrotate: create (a rename chain, gzip of the oldest, a new log) and copytruncate',
    before: (src) => {
      mkdirSync(join(src, 'log'));
      writeFileSync(join(src, 'log', 'app.log'), 'today\n'.repeat(500));
      writeFileSync(join(src, 'log', 'app.log.1'), 'yesterday\n'.repeat(500));
      writeFileSync(join(src, 'log', 'web.log'), 'web today\n'.repeat(500));
    },
    act: (src) => {
      const log = join(src, 'log');
      renameSync(join(log, 'app.log.1'), join(log, 'app.log.2'));
      sh(log, 'gzip', '-9', 'app.log.2');
      renameSync(join(log, 'app.log'), join(log, 'app.log.1'));
      writeFileSync(join(log, 'app.log'), '');
      chmodSync(join(log, 'app.log'), 0o640);
      appendFileSync(join(log, 'app.log'), 'after the rotation\n');
      sh(log, 'cp', 'web.log', 'web.log.1');
      truncateSync(join(log, 'web.log'), 0);
      appendFileSync(join(log, 'web.log'), 'web after the rotation\n');
    },
  },
  {
    name: 'cp -r of a tree, and tar x of an archive',
    act: (src, outside) => {
      mkdirSync(join(outside, 'tpl', 'sub'), { recursive: true });
      for (let i = 0; i < 30; i++) writeFileSync(join(outside, 'tpl', 'sub', `f${i}`), `f${i}`);
      sh(src, 'cp', '-r', join(outside, 'tpl'), 'copied');
      sh(outside, 'tar', 'cf', 'a.tar', 'tpl');
      sh(src, 'tar', 'xf', join(outside, 'a.tar'));
    },
  },
  {
    name: 'a template deploy: cp -r, a same-size edit, and the directory renamed at once',
    act: (src, outside) => {
      mkdirSync(join(outside, 'template'));
      writeFileSync(join(outside, 'template', 'app.conf'), 'listen XXXX\n');
      sh(src, 'cp', '-r', join(outside, 'template'), 'build');
      sh(src, 'sed', '-i', 's/XXXX/8080/', 'build/app.conf');
      renameSync(join(src, 'build'), join(src, 'site-8080'));
    },
  },
  {
    name: 'a template deploy over a replicated build directory (the rename sent against the old copy)',
    before: (src) => {
      mkdirSync(join(src, 'build'));
      writeFileSync(join(src, 'build', 'app.conf'), 'listen XXXX\n');
    },
    act: (src) => {
      sh(src, 'sed', '-i', 's/XXXX/8080/', 'build/app.conf');
      renameSync(join(src, 'build'), join(src, 'site-8080'));
    },
  },
  {
    name: 'git clone and git checkout',
    act: (src, outside) => {
      const repo = join(outside, 'repo');
      mkdirSync(repo);
      const git = (cwd: string, ...args: string[]): void =>
        sh(cwd, 'git', '-c', 'user.email=t@t', '-c', 'user.name=t', ...args);
      git(repo, 'init', '-q', '-b', 'main');
      writeFileSync(join(repo, 'a.txt'), 'one\n');
      git(repo, 'add', '.');
      git(repo, 'commit', '-qm', 'one');
      git(repo, 'checkout', '-qb', 'other');
      writeFileSync(join(repo, 'a.txt'), 'two\n');
      writeFileSync(join(repo, 'b.txt'), 'b\n');
      git(repo, 'add', '.');
      git(repo, 'commit', '-qm', 'two');
      git(src, 'clone', '-q', repo, 'clone');
      git(join(src, 'clone'), 'checkout', '-q', 'main');
    },
  },
  {
    name: 'rsync writing into the tree',
    act: (src, outside) => {
      mkdirSync(join(outside, 'r', 'deep'), { recursive: true });
      for (let i = 0; i < 20; i++) writeFileSync(join(outside, 'r', 'deep', `f${i}`), `rsynced ${i}`);
      sh(src, 'rsync', '-a', `${join(outside, 'r')}/`, 'into/');
    },
  },
  {
    name: 'rsync --delay-updates and --partial-dir writing into the tree (their .~tmp~ directories come and go)',
    before: (src) => {
      mkdirSync(join(src, 'into'));
      writeFileSync(join(src, 'into', 'old'), 'old, to be replaced');
    },
    act: (src, outside) => {
      mkdirSync(join(outside, 'r', 'deep'), { recursive: true });
      for (let i = 0; i < 20; i++) writeFileSync(join(outside, 'r', 'deep', `f${i}`), `delayed ${i}`);
      writeFileSync(join(outside, 'r', 'old'), 'new content');
      sh(src, 'rsync', '-a', '--delay-updates', `${join(outside, 'r')}/`, 'into/');
      sh(src, 'rsync', '-a', '--partial-dir=.rsync-partial', `${join(outside, 'r')}/`, 'partial/');
    },
  },
  {
    name: "vim's save dance (backup by rename, then a new file)",
    before: (src) => writeFileSync(join(src, 'edit.txt'), 'hello world\n'),
    act: (src) =>
      sh(
        src,
        'vim',
        '-E',
        '-s',
        '-u',
        'NONE',
        '-N',
        '-c',
        'set backup writebackup backupcopy=no',
        '-c',
        '%s/world/there/',
        '-c',
        'wq',
        'edit.txt',
      ),
  },
  {
    name: 'a directory moved out, changed and moved back',
    before: (src) => {
      mkdirSync(join(src, 'roam'));
      writeFileSync(join(src, 'roam', 'f'), 'before');
    },
    act: (src, outside) => {
      renameSync(join(src, 'roam'), join(outside, 'roam'));
      writeFileSync(join(outside, 'roam', 'f'), 'after!');
      writeFileSync(join(outside, 'roam', 'new'), 'new');
      renameSync(join(outside, 'roam'), join(src, 'roam'));
    },
  },
  {
    name: 'renamed twice quickly, deleted and recreated with the same name',
    before: (src) => {
      mkdirSync(join(src, 'one'));
      writeFileSync(join(src, 'one', 'f'), 'f');
      writeFileSync(join(src, 'again'), 'first life');
    },
    act: (src) => {
      renameSync(join(src, 'one'), join(src, 'two'));
      renameSync(join(src, 'two'), join(src, 'three'));
      rmSync(join(src, 'again'));
      writeFileSync(join(src, 'again'), 'second life');
    },
  },
  {
    name: 'two names swapped through a third (files and directories)',
    before: (src) => {
      writeFileSync(join(src, 'x'), 'x content');
      writeFileSync(join(src, 'y'), 'y content');
      mkdirSync(join(src, 'dx'));
      writeFileSync(join(src, 'dx', 'f'), 'in dx');
      mkdirSync(join(src, 'dy'));
      writeFileSync(join(src, 'dy', 'f'), 'in dy');
    },
    act: (src) => {
      for (const [a, b] of [
        ['x', 'y'],
        ['dx', 'dy'],
      ] as const) {
        renameSync(join(src, a), join(src, 'tmp'));
        renameSync(join(src, b), join(src, a));
        renameSync(join(src, 'tmp'), join(src, b));
      }
    },
  },
  {
    name: 'a FIFO and a socket',
    act: async (src) => {
      sh(src, 'mkfifo', 'pipe');
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(join(src, 'sock'), resolve));
      server.unref(); // the socket file stays when the test's server is gone
    },
  },
  {
    name: '40 levels of mkdir -p, and 255-byte names',
    act: (src) => {
      const deep = join(src, ...Array.from({ length: 40 }, (_, i) => `l${i}`));
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(deep, 'bottom'), 'deep');
      const long = 'n'.repeat(255);
      writeFileSync(join(src, long), 'long name');
      mkdirSync(join(src, `d${long.slice(1)}`));
      writeFileSync(join(src, `d${long.slice(1)}`, long), 'long in long');
    },
  },
  {
    name: '-u: an older file restored over a newer one (cp -p from a backup, mv of an old file)',
    before: (src, outside) => {
      writeFileSync(join(src, 'restored'), 'new content');
      writeFileSync(join(src, 'moved'), 'new content');
      writeFileSync(join(outside, 'backup'), 'old content');
      utimesSync(join(outside, 'backup'), OLD, OLD);
      writeFileSync(join(outside, 'old'), 'old!');
      utimesSync(join(outside, 'old'), OLD, OLD);
    },
    act: (src, outside) => {
      sh(src, 'cp', '-p', join(outside, 'backup'), 'restored');
      renameSync(join(outside, 'old'), join(src, 'moved'));
    },
  },
  {
    name: '-u: tar x of an older archive, and two files swapped through a third',
    before: (src, outside) => {
      mkdirSync(join(outside, 'arch'));
      writeFileSync(join(outside, 'arch', 'f'), 'archived');
      utimesSync(join(outside, 'arch', 'f'), OLD, OLD);
      sh(outside, 'tar', 'cf', 'old.tar', 'arch');
      mkdirSync(join(src, 'arch'));
      writeFileSync(join(src, 'arch', 'f'), 'current!');
      writeFileSync(join(src, 'older'), 'older one');
      utimesSync(join(src, 'older'), OLD, OLD);
      writeFileSync(join(src, 'newer'), 'newer one');
    },
    act: (src, outside) => {
      sh(src, 'tar', 'xf', join(outside, 'old.tar'));
      renameSync(join(src, 'older'), join(src, 'tmp'));
      renameSync(join(src, 'newer'), join(src, 'older'));
      renameSync(join(src, 'tmp'), join(src, 'newer'));
    },
  },
  {
    name: 'a release switch: a new release copied, `current` swapped by mv -T of a new link, the old release removed',
    before: (src) => {
      mkdirSync(join(src, 'releases', '1', 'public'), { recursive: true });
      writeFileSync(join(src, 'releases', '1', 'public', 'index.html'), 'v1\n');
      symlinkSync('releases/1', join(src, 'current'));
    },
    act: (src) => {
      sh(src, 'cp', '-a', 'releases/1', 'releases/2');
      writeFileSync(join(src, 'releases', '2', 'public', 'index.html'), 'v2\n');
      symlinkSync('releases/2', join(src, 'current.tmp'));
      sh(src, 'mv', '-T', 'current.tmp', 'current');
      rmSync(join(src, 'releases', '1'), { recursive: true });
    },
  },
  {
    name: 'mv from another file system: a file and a tree (copied, then removed there)',
    act: (src) => {
      const shm = join('/dev/shm', `sersync-mv-${process.pid}`);
      mkdirSync(join(shm, 'tree', 'sub'), { recursive: true });
      for (let i = 0; i < 20; i++) writeFileSync(join(shm, 'tree', 'sub', `f${i}`), `f${i}`);
      writeFileSync(join(shm, 'single'), 'single');
      sh(src, 'mv', join(shm, 'tree'), join(shm, 'single'), '.');
      rmSync(shm, { recursive: true });
    },
  },
  {
    name: 'a SQLite database in WAL mode, written and closed (its -wal and -shm come and go)',
    act: (src) =>
      sh(
        src,
        'sqlite3',
        'app.db',
        'PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3); UPDATE t SET x = x + 1;',
      ),
  },
  {
    name: 'a directory replaced by a file of its name, and a file by a directory',
    before: (src) => {
      mkdirSync(join(src, 'was-dir'));
      writeFileSync(join(src, 'was-dir', 'inside'), 'inside');
      writeFileSync(join(src, 'was-file'), 'file');
    },
    act: (src) => {
      rmSync(join(src, 'was-dir'), { recursive: true });
      writeFileSync(join(src, 'was-dir'), 'now a file');
      rmSync(join(src, 'was-file'));
      mkdirSync(join(src, 'was-file'));
      writeFileSync(join(src, 'was-file', 'inside'), 'now inside');
    },
  },
  {
    name: 'unzip -o over files the replica has (the archive older than them)',
    before: (src, outside) => {
      mkdirSync(join(outside, 'z'));
      writeFileSync(join(outside, 'z', 'a'), 'zipped a');
      writeFileSync(join(outside, 'z', 'b'), 'zipped b');
      utimesSync(join(outside, 'z', 'a'), OLD, OLD);
      sh(outside, 'zip', '-qr', 'z.zip', 'z');
      mkdirSync(join(src, 'z'));
      writeFileSync(join(src, 'z', 'a'), 'current a');
    },
    act: (src, outside) => sh(src, 'unzip', '-qo', join(outside, 'z.zip')),
  },
  {
    name: 'patch -p1 of a diff (new, changed and removed files)',
    before: (src) => {
      mkdirSync(join(src, 'app'));
      writeFileSync(join(src, 'app', 'main.c'), 'int main() {\n  return 0;\n}\n');
      writeFileSync(join(src, 'app', 'old.c'), 'gone\n');
    },
    act: (src, outside) => {
      writeFileSync(
        join(outside, 'p.diff'),
        [
          '--- a/main.c',
          '+++ b/main.c',
          '@@ -1,3 +1,3 @@',
          ' int main() {',
          '-  return 0;',
          '+  return 1;',
          ' }',
          '--- a/new.c',
          '+++ b/new.c',
          '@@ -0,0 +1 @@',
          '+new',
          '--- a/old.c',
          '+++ /dev/null',
          '@@ -1 +0,0 @@',
          '-gone',
          '',
        ].join('\n'),
      );
      sh(join(src, 'app'), 'patch', '-s', '-p1', '-i', join(outside, 'p.diff'));
    },
  },
  {
    name: 'git gc in a repository (loose objects packed and removed)',
    act: (src) => {
      const git = (...args: string[]): void =>
        sh(join(src, 'repo'), 'git', '-c', 'user.email=t@t', '-c', 'user.name=t', ...args);
      mkdirSync(join(src, 'repo'));
      git('init', '-q', '-b', 'main');
      for (let i = 0; i < 5; i++) {
        writeFileSync(join(src, 'repo', `f${i}`), `content ${i}\n`);
        git('add', '.');
        git('commit', '-qm', `c${i}`);
      }
      git('gc', '-q', '--prune=now');
    },
  },
  {
    name: 'a file made with O_TMPFILE, written, then linked into the tree (linkat), closed after',
    act: (src) => {
      const O_TMPFILE = 0o20200000;
      const fd = openSync(src, O_TMPFILE | constants.O_WRONLY, 0o644);
      writeSync(fd, 'made unnamed\n');
      sh(src, 'ln', '-L', `/proc/${process.pid}/fd/${fd}`, 'linked');
      writeSync(fd, 'written after the link\n');
      closeSync(fd);
    },
  },
  {
    name: "emacs's save (a lock symlink, an autosave file, a backup by rename) and JetBrains' safe write",
    before: (src) => {
      writeFileSync(join(src, 'e.txt'), 'emacs before\n');
      writeFileSync(join(src, 'j.txt'), 'jetbrains before\n');
    },
    act: (src) => {
      symlinkSync('root@host.123:1700000000', join(src, '.#e.txt'));
      writeFileSync(join(src, '#e.txt#'), 'autosave');
      renameSync(join(src, 'e.txt'), join(src, 'e.txt~'));
      writeFileSync(join(src, 'e.txt'), 'emacs after\n');
      rmSync(join(src, '#e.txt#'));
      rmSync(join(src, '.#e.txt'));
      writeFileSync(join(src, 'j.txt___jb_tmp___'), 'jetbrains after\n');
      renameSync(join(src, 'j.txt'), join(src, 'j.txt___jb_old___'));
      renameSync(join(src, 'j.txt___jb_tmp___'), join(src, 'j.txt'));
      rmSync(join(src, 'j.txt___jb_old___'));
    },
  },
  {
    name: 'rsync --inplace and install(1) over files the replica has',
    before: (src, outside) => {
      writeFileSync(join(src, 'inplace'), 'before before before\n');
      writeFileSync(join(src, 'installed'), 'before\n');
      writeFileSync(join(outside, 'inplace'), 'after, in place\n');
      writeFileSync(join(outside, 'installed'), 'after, installed\n');
    },
    act: (src, outside) => {
      sh(src, 'rsync', '--inplace', join(outside, 'inplace'), 'inplace');
      sh(src, 'install', '-m', '640', join(outside, 'installed'), 'installed');
    },
  },
  {
    name: 'maildir delivery: written in tmp/, hard-linked into new/, unlinked from tmp/',
    before: (src) => {
      for (const d of ['tmp', 'new', 'cur']) mkdirSync(join(src, 'Maildir', d), { recursive: true });
    },
    act: (src) => {
      const md = join(src, 'Maildir');
      for (let i = 0; i < 5; i++) {
        const name = `1700000000.M${i}P1.host`;
        writeFileSync(join(md, 'tmp', name), `Subject: ${i}\n\nbody\n`);
        linkSync(join(md, 'tmp', name), join(md, 'new', name));
        rmSync(join(md, 'tmp', name));
      }
    },
  },
  {
    // git writes each loose object to a temp file and links it into place (then unlinks the temp):
    // into object directories the replica already has, no close_write names the object.
    name: 'git commits in a repository the replica has (loose objects linked into place)',
    before: (src) => {
      mkdirSync(join(src, 'repo'));
      const git = (...args: string[]): void =>
        sh(join(src, 'repo'), 'git', '-c', 'user.email=t@t', '-c', 'user.name=t', ...args);
      git('init', '-q', '-b', 'main');
      for (let i = 0; i < 64; i++) writeFileSync(join(src, 'repo', `f${i}`), `first ${i}\n`);
      git('add', '.');
      git('commit', '-qm', 'first');
    },
    act: (src) => {
      const git = (...args: string[]): void =>
        sh(join(src, 'repo'), 'git', '-c', 'user.email=t@t', '-c', 'user.name=t', ...args);
      for (let i = 0; i < 64; i++) writeFileSync(join(src, 'repo', `f${i}`), `second ${i}\n`);
      git('add', '.');
      git('commit', '-qm', 'second');
    },
  },
  {
    // renameat2(RENAME_EXCHANGE), as `mv --exchange` (coreutils 9.5) does: two renames in one
    name: 'files, directories, and a directory and a file exchanged atomically (renameat2 RENAME_EXCHANGE), then written into',
    before: (src) => {
      writeFileSync(join(src, 'x'), 'x content');
      writeFileSync(join(src, 'y'), 'y content, longer');
      for (const d of ['dx', 'dy', 'dz', 'dw']) {
        mkdirSync(join(src, d, 'sub'), { recursive: true });
        writeFileSync(join(src, d, 'sub', 'f'), `in ${d}`);
      }
      writeFileSync(join(src, 'file'), 'a file');
      writeFileSync(join(src, 'file2'), 'another file');
    },
    act: (src) => {
      sh(src, 'perl', '-e', EXCHANGE, 'x', 'y');
      sh(src, 'perl', '-e', EXCHANGE, 'dx', 'dy');
      sh(src, 'perl', '-e', EXCHANGE, 'dz', 'file');
      sh(src, 'perl', '-e', EXCHANGE, 'file2', 'dw');
      for (const d of ['dx', 'dy', 'file', 'file2'])
        writeFileSync(join(src, d, 'sub', 'after'), `in ${d} after the exchange`);
    },
  },
  {
    name: 'a directory renamed over an empty one (rename(2), mv -T), then written into',
    before: (src) => {
      mkdirSync(join(src, 'full', 'sub'), { recursive: true });
      writeFileSync(join(src, 'full', 'sub', 'f'), 'full');
      mkdirSync(join(src, 'empty'));
    },
    act: (src) => {
      renameSync(join(src, 'full'), join(src, 'empty'));
      writeFileSync(join(src, 'empty', 'sub', 'after'), 'after the rename');
    },
  },
  {
    name: 'a snapshot by hard links (cp -al), then a file in it replaced, one in the original edited by sed -i',
    before: (src) => {
      mkdirSync(join(src, 'current', 'sub'), { recursive: true });
      for (let i = 0; i < 10; i++) writeFileSync(join(src, 'current', 'sub', `f${i}`), `file ${i}\n`);
    },
    act: (src) => {
      sh(src, 'cp', '-al', 'current', 'snapshot');
      sh(src, 'cp', '-al', 'current/sub/f1', 'current/f1-link');
      writeFileSync(join(src, 'snapshot', 'sub', 'f0.new'), 'replaced in the snapshot\n');
      renameSync(join(src, 'snapshot', 'sub', 'f0.new'), join(src, 'snapshot', 'sub', 'f0'));
      sh(src, 'sed', '-i', 's/file/edited/', 'current/sub/f2');
    },
  },
  {
    // A webroot deployed by `git pull`: a small fetch is unpacked into loose objects, each linked
    // into place, then the work tree checked out.
    name: 'git pull of a few commits into a clone the replica has',
    before: (src, outside) => {
      const git = (cwd: string, ...args: string[]): void =>
        sh(cwd, 'git', '-c', 'user.email=t@t', '-c', 'user.name=t', ...args);
      mkdirSync(join(outside, 'origin'));
      git(join(outside, 'origin'), 'init', '-q', '-b', 'main');
      writeFileSync(join(outside, 'origin', 'index.html'), 'v1\n');
      git(join(outside, 'origin'), 'add', '.');
      git(join(outside, 'origin'), 'commit', '-qm', 'v1');
      git(src, 'clone', '-q', join(outside, 'origin'), 'www');
      for (let i = 2; i <= 4; i++) {
        writeFileSync(join(outside, 'origin', 'index.html'), `v${i}\n`);
        writeFileSync(join(outside, 'origin', `page${i}.html`), `page ${i}\n`);
        git(join(outside, 'origin'), 'add', '.');
        git(join(outside, 'origin'), 'commit', '-qm', `v${i}`);
      }
    },
    act: (src) => sh(join(src, 'www'), 'git', 'pull', '-q', '--ff-only'),
  },
  {
    name: 'npm install of packages (bins linked into node_modules/.bin), then npm ci (node_modules removed and extracted again)',
    before: (src, outside) => {
      mkdirSync(join(src, 'app'));
      writeFileSync(join(src, 'app', 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n');
      for (const p of ['semver', 'prettier']) sh(outside, 'npm', 'pack', '--silent', join(REPO_MODULES, p));
    },
    act: (src, outside) => {
      const tarballs = readdirSync(outside).filter((f) => f.endsWith('.tgz'));
      const npm = ['--offline', '--no-audit', '--no-fund', '--loglevel=error'];
      sh(join(src, 'app'), 'npm', 'install', ...npm, ...tarballs.map((t) => join(outside, t)));
      sh(join(src, 'app'), 'npm', 'ci', ...npm);
    },
  },
];

for (const w of WORKLOADS) {
  test(`workload: ${w.name}`, async () => {
    let outside = '';
    await lab.withSersync(
      {
        ...(w.spec === undefined ? {} : { spec: w.spec }),
        setup: (src, replica) => {
          outside = join(src, '..', 'outside');
          mkdirSync(outside);
          w.before?.(src, outside);
          sh(src, 'rsync', '-a', `${src}/`, `${replica}/`);
        },
      },
      async ({ src, replica }) => {
        await w.act(src, outside);
        await sameTree(src, replica, w.name);
      },
    );
  });
}

test('workload: real files with temp-looking names (.env.sample, .htaccess.backup) are delayed, shown in status, then sent', async () => {
  await lab.withSersync({}, async ({ src, replica, base }) => {
    writeFileSync(join(src, '.env.sample'), 'KEY=value\n');
    writeFileSync(join(src, '.htaccess.backup'), 'Deny from all\n');
    writeFileSync(join(src, '.page.html.Ab12Cd'), 'a temp file that goes');
    rmSync(join(src, '.page.html.Ab12Cd'));
    assert.ok(laneStatus(base).delayedByName > 0, 'status shows the files held by a name rule');
    await sameTree(src, replica, 'the delayed files arrive');
    assert.equal(laneStatus(base).delayedByName, 0);
  });
});

test('workload: a file created and kept open: status shows it awaiting its close while it grows, and it is sent once it stops', async () => {
  await lab.withSersync({}, async ({ src, replica, base }) => {
    const fd = openSync(join(src, 'app.log'), 'w');
    let lines = 0;
    const writer = setInterval(() => writeSync(fd, `line ${++lines}\n`), 50);
    try {
      await eventually(
        () => laneStatus(base).awaitingClose === 1,
        20_000,
        'status shows the file awaiting its close',
      );
      assert.ok(laneStatus(base).pending >= 1, 'and counts it pending');
    } finally {
      clearInterval(writer);
    }
    try {
      await sameTree(src, replica, 'the file, still open, once nobody writes it');
      assert.equal(laneStatus(base).awaitingClose, 0);
    } finally {
      closeSync(fd);
    }
  });
});

test('workload: a live SQLite database kept open by the process writing it: status shows it awaiting its close while written, and it arrives with the database still open', async () => {
  await lab.withSersync(
    {
      setup: (src, replica) => {
        const db = new Database(join(src, 'app.db'));
        db.exec('CREATE TABLE visits (at INTEGER, page TEXT)');
        db.close();
        sh(src, 'rsync', '-a', `${src}/`, `${replica}/`);
      },
    },
    async ({ src, replica, base }) => {
      // A long-running application: the database file is written in place, never closed.
      const db = new Database(join(src, 'app.db'));
      const insert = db.prepare('INSERT INTO visits VALUES (?, ?)');
      let n = 0;
      const app = setInterval(() => insert.run(++n, `/page/${n}`), 50);
      try {
        try {
          await eventually(
            () => laneStatus(base).awaitingClose === 1,
            20_000,
            'status shows the database awaiting its close',
          );
        } finally {
          clearInterval(app);
        }
        await sameTree(src, replica, 'the database, still open, once nobody writes it');
        assert.equal(laneStatus(base).awaitingClose, 0);
        const copy = new Database(join(replica, 'app.db'), { readonly: true });
        try {
          assert.equal(
            copy.prepare('SELECT count(*) FROM visits').pluck().get(),
            n,
            'every row on the replica',
          );
        } finally {
          copy.close();
        }
      } finally {
        db.close();
      }
    },
  );
});

test('workload: sersync2 stopped while a created file is still written queues it: `queue list` shows it while stopped, and the start sends it as it is then (closed meanwhile), with no full resync', async () => {
  await lab.withSersync({}, async ({ src, replica, base, proc }) => {
    const fd = openSync(join(src, 'upload.bin'), 'w');
    let chunks = 0;
    const writer = setInterval(() => writeSync(fd, `chunk ${++chunks}\n`), 50);
    try {
      await eventually(() => laneStatus(base).pending >= 1, 20_000, 'the upload is seen, not sent');
      assert.equal(await proc.stop(), 0, proc.stderr());
    } finally {
      clearInterval(writer);
      writeSync(fd, 'the last chunk, written while sersync2 is down\n');
      closeSync(fd);
    }
    assert.match(proc.stderr(), /changes not sent yet are queued/);
    const listed = spawnSync(
      process.execPath,
      [CLI, 'queue', 'list', '--json', '-o', join(base, 'confxml.xml'), '--state-dir', join(base, 'state')],
      { encoding: 'utf8' },
    );
    assert.equal(listed.status, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as { op: { kind: string; path: string }; state: string }[];
    assert.deepEqual(
      rows.map((r) => [r.op.kind, r.op.path, r.state]),
      [['sync', 'upload.bin', 'retry']],
      'queued for the next start',
    );
    const again = await startSersync(join(base, 'confxml.xml'), [], join(base, 'state'));
    try {
      await sameTree(src, replica, 'the upload after the start');
      assert.doesNotMatch(again.stderr(), /did not stop cleanly/, 'the stop was clean: no full resync');
    } finally {
      assert.equal(await again.stop(), 0, again.stderr());
    }
  });
});

test('workload: with the filter (.*)/cache/(.*), rm -rf sub/cache reaches the replica and a new cache/ is sent (its contents stay excluded)', async () => {
  await lab.withSersync(
    {
      spec: { filter: ['(.*)/cache/(.*)'] },
      setup: (src, replica) => {
        mkdirSync(join(src, 'sub', 'cache'), { recursive: true });
        writeFileSync(join(src, 'sub', 'cache', 'old'), 'old');
        sh(src, 'rsync', '-a', `${src}/`, `${replica}/`);
      },
    },
    async ({ src, replica }) => {
      rmSync(join(src, 'sub', 'cache'), { recursive: true });
      mkdirSync(join(src, 'cache'));
      writeFileSync(join(src, 'cache', 'x'), 'excluded');
      writeFileSync(join(src, 'marker'), 'after the others');
      const present = (p: string): boolean => spawnSync('test', ['-e', join(replica, p)]).status === 0;
      await eventually(
        () => present('marker') && !present('sub/cache') && present('cache') && !present('cache/x'),
        20_000,
        'sub/cache removed, cache/ sent without its excluded file',
      );
    },
  );
});

test("workload: with <attrib> on, a chmod of the watched root sends the root's mode only: no excluded entry, no --delete of the top level", async () => {
  await lab.withSersync(
    {
      spec: { filter: ['(.*)\\.gz', '^static/*'], inotify: { attrib: true }, params: '-artuz --delete' },
      setup: (src, replica) => {
        mkdirSync(join(src, 'static'));
        writeFileSync(join(src, 'static', 's.txt'), 'excluded');
        writeFileSync(join(src, 'dump.gz'), 'excluded');
        writeFileSync(join(src, 'a.txt'), 'a');
        writeFileSync(join(replica, 'a.txt'), 'a');
        writeFileSync(join(replica, 'replica-only.txt'), 'kept: --delete applies to what changed');
      },
    },
    async ({ src, replica }) => {
      chmodSync(src, 0o750);
      await eventually(
        () => (statSync(replica).mode & 0o777) === 0o750,
        20_000,
        "the root's mode on the replica",
      );
      writeFileSync(join(src, 'marker'), 'after the chmod');
      await eventually(() => existsSync(join(replica, 'marker')), 20_000, 'a later change');
      assert.deepEqual(readdirSync(replica).sort(), ['a.txt', 'marker', 'replica-only.txt']);
    },
  );
});

test('workload: the command plugin runs for every file a recursive send carried (cp -r of 60 files, mkdir -p d && echo > d/z.sh)', async () => {
  let record = '';
  await lab.withSersync(
    {
      spec: { sersyncPlugin: '<plugin start="true" name="command"/>' },
      xml: (xml) => {
        record = join(lab.work, `record-${Date.now()}.log`);
        const recorder = `${record}.sh`;
        writeFileSync(recorder, `printf '%s\\n' "$1" >> '${record}'\n`);
        return xml.replace(
          '<param prefix="/bin/sh" suffix="" ignoreError="true"/>',
          `<param prefix="/bin/sh ${recorder}" suffix="" ignoreError="false"/>`,
        );
      },
    },
    async ({ src, replica }) => {
      const outside = join(src, '..', 'tpl');
      mkdirSync(outside);
      const files = Array.from({ length: 60 }, (_, i) => `f${i}.php`);
      for (const f of files) writeFileSync(join(outside, f), `<?php // ${f}`);
      sh(src, 'cp', '-r', outside, 'app');
      sh(src, 'sh', '-c', 'mkdir -p d && echo hi > d/z.sh');
      const wanted = [...files.map((f) => join(src, 'app', f)), join(src, 'd', 'z.sh')];
      const ran = (): string[] => (existsSync(record) ? readFileSync(record, 'utf8').split('\n') : []);
      await eventually(
        () => wanted.every((w) => ran().includes(w)),
        20_000,
        'the command ran for every file',
      ).catch(() =>
        assert.deepEqual(
          wanted.filter((w) => !ran().includes(w)),
          [],
          'files the command never saw',
        ),
      );
      await sameTree(src, replica, 'the files arrive');
    },
  );
});
