import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real `rsync --daemon` on 127.0.0.1 with one authenticated module, for tests and the bench. */
export interface RsyncDaemon {
  readonly port: number;
  readonly module: string;
  readonly user: string;
  /** The module's directory: the replica. */
  readonly dir: string;
  /** A mode-600 client password file. */
  readonly passwordFile: string;
  /** The daemon's transfer log (`recv`/`del.` lines with file names). */
  readonly logFile: string;
  /** The directory of a module (`module` itself or one of `extraModules`). */
  moduleDir(name: string): string;
  /** Paths the daemon has received so far, from its transfer log. */
  received(): Promise<string[]>;
  stop(): Promise<void>;
  /** Starts the daemon again on the same port after `stop()`. */
  restart(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

async function waitForPort(port: number, child: ChildProcess, address: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (child.exitCode !== null) throw new Error(`rsync daemon exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, address);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`rsync daemon did not listen on ${port}`);
}

export interface RsyncDaemonOptions {
  /** Extra lines for the module section (e.g. `read only = yes`). */
  readonly moduleLines?: readonly string[];
  /** The password the module accepts (default `secret`); the client file always holds `secret`. */
  readonly serverPassword?: string;
  /** More modules, same auth, each in a directory of its name beside the replica; with lines of its own. */
  readonly extraModules?: readonly (string | { readonly name: string; readonly lines: readonly string[] })[];
  /** rsyncd.conf's `socket options` (default `TCP_NODELAY`); null: none, as a default rsyncd. */
  readonly socketOptions?: string | null;
  /** `use chroot = yes`, rsyncd's default when it runs as root (default here: no). */
  readonly chroot?: boolean;
  /** The loopback address it listens on (default `127.0.0.1`; `::1` for an IPv6 one). */
  readonly address?: string;
}

/**
 * The rsync the test daemons run: `SERSYNC_TEST_RSYNCD` names another build (the backup servers'
 * older rsync: `npm test` with an rsync 3.1 there runs every case against it), else the one installed.
 */
const DAEMON_RSYNC = process.env.SERSYNC_TEST_RSYNCD ?? 'rsync';

export async function startRsyncDaemon(opts: RsyncDaemonOptions = {}): Promise<RsyncDaemon> {
  const base = await mkdtemp(join(tmpdir(), 'sersync-rsyncd-'));
  const dir = join(base, 'replica');
  await mkdir(dir);
  const port = await freePort();
  const address = opts.address ?? '127.0.0.1';
  const user = 'syncuser';
  const module = 'replica';
  const secrets = join(base, 'rsyncd.secrets');
  const passwordFile = join(base, 'rsync.pass');
  const logFile = join(base, 'rsyncd.log');
  const extra = (opts.extraModules ?? []).map((m) => (typeof m === 'string' ? { name: m, lines: [] } : m));
  for (const m of extra) await mkdir(join(base, m.name));
  await writeFile(secrets, `${user}:${opts.serverPassword ?? 'secret'}\n`, { mode: 0o600 });
  await writeFile(passwordFile, 'secret\n', { mode: 0o600 });
  await chmod(secrets, 0o600);
  await chmod(passwordFile, 0o600);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const conf = join(base, 'rsyncd.conf');
  await writeFile(
    conf,
    [
      `port = ${port}`,
      `address = ${address}`,
      `use chroot = ${opts.chroot === true ? 'yes' : 'no'}`,
      'reverse lookup = no',
      'max connections = 0',
      `pid file = ${join(base, 'rsyncd.pid')}`,
      `log file = ${logFile}`,
      'transfer logging = yes',
      'log format = %o %f %l',
      ...(opts.socketOptions === null ? [] : [`socket options = ${opts.socketOptions ?? 'TCP_NODELAY'}`]),
      `[${module}]`,
      `  path = ${dir}`,
      '  read only = no',
      `  uid = ${uid}`,
      `  gid = ${gid}`,
      `  auth users = ${user}`,
      `  secrets file = ${secrets}`,
      ...(opts.moduleLines ?? []).map((l) => `  ${l}`),
      ...extra.flatMap((m) => [
        `[${m.name}]`,
        `  path = ${join(base, m.name)}`,
        '  read only = no',
        `  uid = ${uid}`,
        `  gid = ${gid}`,
        `  auth users = ${user}`,
        `  secrets file = ${secrets}`,
        ...m.lines.map((l) => `  ${l}`),
      ]),
      '',
    ].join('\n'),
  );
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    await rm(join(base, 'rsyncd.pid'), { force: true });
    const family = address.includes(':') ? ['--ipv6'] : [];
    child = spawn(DAEMON_RSYNC, ['--daemon', '--no-detach', ...family, `--config=${conf}`], {
      stdio: 'ignore',
    });
    await waitForPort(port, child, address);
  };
  await launch();
  const stopChild = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  };
  return {
    port,
    module,
    user,
    dir,
    passwordFile,
    logFile,
    moduleDir: (name) => (name === module ? dir : join(base, name)),
    async received() {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      return text
        .split('\n')
        .map((l) => /\] recv (.*) \d+$/.exec(l)?.[1])
        .filter((x): x is string => x !== undefined);
    },
    stop: stopChild,
    restart: launch,
  };
}

/** Stops the daemon and removes its files. */
export async function disposeRsyncDaemon(d: RsyncDaemon): Promise<void> {
  await d.stop();
  await rm(join(d.dir, '..'), { recursive: true, force: true });
}

/**
 * Takes a module's connection slot (its `max connections`): greets the daemon, names the module,
 * and stays at its password prompt, the slot claimed, until the socket is destroyed.
 */
export async function holdModuleSlot(daemon: RsyncDaemon): Promise<Socket> {
  const s = connect(daemon.port, '127.0.0.1');
  await once(s, 'connect');
  s.write(`@RSYNCD: 31.0\n${daemon.module}\n`);
  let seen = '';
  s.setEncoding('latin1');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the daemon did not ask for a password: ${JSON.stringify(seen)}`));
    }, 5_000);
    s.on('data', (c: string) => {
      seen += c;
      // The daemon claims the slot before it asks for the password.
      if (!seen.includes('@RSYNCD: AUTHREQD')) return;
      clearTimeout(timer);
      resolve();
    });
  });
  return s;
}
