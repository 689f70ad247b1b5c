/**
 * The control socket: a Unix socket in the state directory (owner-only) through which
 * `sersync2 status` and `sersync2 resync` talk to the running replicator. One JSON request line
 * in, one JSON reply line out, then the connection closes. Holding the socket is also what makes
 * a second instance for the same config refuse to start.
 */
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { PluginName } from '../config/types.js';
import { DaemonHiddenError, SersyncError, StatusUnknownError } from '../errors.js';
import { ensureOwnDir } from '../owned-files.js';
import type { Change } from '../filter/changes.js';
import { stateFileFor } from '../queue/state-dir.js';
import { packageVersion } from '../version.js';

export type ControlRequest =
  | { readonly op: 'hello' }
  | { readonly op: 'status' }
  /** A full sync of one tree (its watched root), or of every tree when null. */
  | { readonly op: 'resync'; readonly root: string | null }
  /** Reopen the log file (logrotate moved it); answered by the socket itself, like `hello`. */
  | { readonly op: 'reopen-logs' }
  /** What every lane has not sent yet (`sersync2 verify`). */
  | { readonly op: 'pending' }
  /** `sersync2 verify --repair`: these changes through the lane of one tree and remote. */
  | {
      readonly op: 'repair';
      readonly root: string;
      readonly remote: string;
      readonly changes: readonly Change[];
    };

export type ControlReply =
  { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: string };

/** What `hello` answers, even while the replicator is still starting. */
export interface Hello {
  readonly pid: number;
  readonly version: string;
}

/** Answers `status` and `resync`; a thrown `SersyncError` becomes the reply's error. */
export type ControlHandler = (
  request: Exclude<ControlRequest, { op: 'hello' } | { op: 'reopen-logs' }>,
) => unknown;

/** No replicator listens on the control socket of this config. */
export class NotRunningError extends SersyncError {
  constructor(
    readonly socket: string,
    reason: string,
  ) {
    super('ERR_SERSYNC_NOT_RUNNING', reason);
  }
}

/** Longest request accepted; real ones are a few dozen bytes. */
const MAX_LINE = 64 * 1024;

export class ControlServer {
  private handler: ControlHandler | null = null;
  private reopenLogs: (() => void) | null = null;
  private keeper: NodeJS.Timeout | null = null;
  private rebinding = false;

  private server = this.newServer();

  private constructor(readonly file: string) {}

  private newServer(): Server {
    return createServer((socket) => {
      this.serve(socket);
    });
  }

  /**
   * Listens on `file` (mode 0600). A socket left by a process that died is replaced; one that
   * answers belongs to a running instance, and then this fails naming its pid.
   */
  static async claim(file: string, configFile: string): Promise<ControlServer> {
    checkSocketPath(file);
    const control = new ControlServer(file);
    try {
      await listen(control.server, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw cannotListen(file, err);
      const running = await helloFrom(file);
      if (running !== null) {
        throw new SersyncError(
          'ERR_SERSYNC_RUNNING',
          `another sersync2 (pid ${running.pid}) is already running for ${configFile} ` +
            `(control socket ${file}); stop it, or reload it with kill -HUP ${running.pid}`,
        );
      }
      if (!lstatSync(file).isSocket())
        throw new SersyncError('ERR_SERSYNC_CONTROL', `${file} is in the way of the control socket: move it`);
      rmSync(file); // left by a process that died
      await listen(control.server, file).catch((e: unknown) => {
        throw cannotListen(file, e);
      });
    }
    chmodSync(file, 0o600);
    return control;
  }

  /** Starts answering `status` and `resync` (until then they get "starting"). */
  handle(handler: ControlHandler): void {
    this.handler = handler;
  }

  /** Answers `reopen-logs` (from the start: the log is open before anything else). */
  onReopenLogs(reopen: () => void): void {
    this.reopenLogs = reopen;
  }

  /**
   * Puts the socket back when its file is removed while running (its state directory deleted, a
   * tmp cleaner): `status` would find nothing there and say that no sersync2 runs. Looked at every
   * `everyMs`; `onBack` runs once it answers again, `onError` when it cannot be put back.
   */
  keepPresent(everyMs: number, onBack: () => void, onError: (err: Error) => void): void {
    this.keeper = setInterval(() => {
      if (this.rebinding || lstatSync(this.file, { throwIfNoEntry: false }) !== undefined) return;
      this.rebinding = true;
      this.rebind()
        .then(onBack, onError)
        .finally(() => (this.rebinding = false));
    }, everyMs);
    this.keeper.unref();
  }

  private async rebind(): Promise<void> {
    ensureOwnDir(dirname(this.file), 'state directory');
    // libuv unlinks the socket's path when it closes: the old one goes first, nothing is there now
    await closeServer(this.server);
    const server = this.newServer();
    await listen(server, this.file).catch((err: unknown) => {
      throw cannotListen(this.file, err);
    });
    chmodSync(this.file, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    if (this.keeper !== null) clearInterval(this.keeper);
    await closeServer(this.server);
  }

  private serve(socket: Socket): void {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined); // a client that went away
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end < 0 && buffered.length <= MAX_LINE) return;
      socket.removeAllListeners('data');
      const reply = end < 0 ? failure('request too long') : this.answer(buffered.slice(0, end));
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  }

  private answer(line: string): ControlReply {
    let request: ControlRequest;
    try {
      request = parseRequest(JSON.parse(line));
    } catch (err) {
      return failure(`bad request: ${(err as Error).message}`);
    }
    if (request.op === 'hello') return { ok: true, result: { pid: process.pid, version: packageVersion() } };
    if (request.op === 'reopen-logs') {
      if (this.reopenLogs === null) return failure('this sersync2 has no log file to reopen');
      this.reopenLogs();
      return { ok: true, result: { pid: process.pid } };
    }
    if (this.handler === null) return failure('sersync2 is still starting; ask again in a moment');
    try {
      return { ok: true, result: this.handler(request) };
    } catch (err) {
      if (err instanceof SersyncError) return failure(err.message);
      return failure(`internal error: ${String(err)}`);
    }
  }
}

/** sockaddr_un holds 107 bytes and a NUL; a longer path is silently cut short by the kernel interface. */
const MAX_SOCKET_PATH = 107;

function checkSocketPath(file: string): void {
  const length = Buffer.byteLength(file);
  if (length > MAX_SOCKET_PATH) {
    throw new SersyncError(
      'ERR_SERSYNC_CONTROL',
      `the control socket path ${file} is ${length} bytes, more than a Unix socket allows ` +
        `(${MAX_SOCKET_PATH}): choose a shorter state directory (--state-dir or <state dir>)`,
    );
  }
}

function failure(error: string): ControlReply {
  return { ok: false, error };
}

function parseRequest(v: unknown): ControlRequest {
  if (typeof v !== 'object' || v === null) throw new Error('not an object');
  const { op, root } = v as { op?: unknown; root?: unknown };
  if (op === 'hello' || op === 'status' || op === 'reopen-logs') return { op };
  if (op === 'resync' && (root === null || typeof root === 'string')) return { op, root };
  if (op === 'pending') return { op };
  if (op === 'repair') return parseRepair(v as Record<string, unknown>);
  throw new Error(`unknown request ${JSON.stringify(v)}`);
}

function parseRepair(v: Record<string, unknown>): ControlRequest {
  const { root, remote, changes } = v;
  if (typeof root !== 'string' || typeof remote !== 'string' || !Array.isArray(changes))
    throw new Error('repair needs root, remote and changes');
  const ok = (c: unknown): c is Change => {
    const { kind, path, isDir } = (c ?? {}) as Record<string, unknown>;
    if (typeof path !== 'string') return false;
    return kind === 'sync' || kind === 'tree' || (kind === 'delete' && typeof isDir === 'boolean');
  };
  const bad: unknown = (changes as unknown[]).find((c) => !ok(c));
  if (bad !== undefined) throw new Error(`not a change: ${JSON.stringify(bad)}`);
  return { op: 'repair', root, remote, changes: changes as Change[] };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function listen(server: Server, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function cannotListen(file: string, err: unknown): SersyncError {
  return new SersyncError(
    'ERR_SERSYNC_CONTROL',
    `cannot open the control socket ${file}: ${(err as Error).message}`,
    { cause: err },
  );
}

/** The pid of the instance answering on `file`, or null when nothing does. */
async function helloFrom(file: string): Promise<Hello | null> {
  try {
    return (await askDaemon(file, { op: 'hello' })) as Hello;
  } catch (err) {
    if (err instanceof NotRunningError) return null;
    throw err;
  }
}

/**
 * Sends one request to the daemon listening on `file` and resolves to its result. Rejects with
 * `NotRunningError` when nothing listens there, and with the daemon's own message when it refuses.
 */
export async function askDaemon(file: string, request: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  checkSocketPath(file);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = createConnection(file);
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy(
        new StatusUnknownError(
          'ERR_SERSYNC_CONTROL',
          `sersync2 did not answer on ${file} within ${timeoutMs} ms (it may be stuck, or out of file descriptors: its log says which)`,
        ),
      );
    });
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      resolve(data);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      reject(connectError(file, err));
    });
  });
  if (reply === '') throw closedUnanswered(file);
  let parsed: ControlReply;
  try {
    parsed = JSON.parse(reply) as ControlReply;
  } catch {
    throw new SersyncError('ERR_SERSYNC_CONTROL', `unreadable answer on ${file}: ${reply.slice(0, 200)}`);
  }
  if (!parsed.ok) throw new SersyncError('ERR_SERSYNC_CONTROL', parsed.error);
  return parsed.result;
}

/**
 * The kernel let the connection in, but the daemon closed it unread (seen as an end, or as EPIPE or
 * ECONNRESET on the request): out of descriptors, libuv accepts and closes (its EMFILE trick), or it
 * was stopping. It runs, so whether it works cannot be told: never "not running".
 */
function closedUnanswered(file: string): StatusUnknownError {
  return new StatusUnknownError(
    'ERR_SERSYNC_CONTROL',
    `sersync2 on ${file} closed the connection without answering: it may be stopping, or out of file descriptors (its log says which)`,
  );
}

function connectError(file: string, err: NodeJS.ErrnoException): Error {
  if (err instanceof SersyncError) return err;
  if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return closedUnanswered(file);
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
    return new NotRunningError(file, `no sersync2 is running for this config (nothing answers on ${file})`);
  if (err.code === 'EACCES' || err.code === 'EPERM')
    return new DaemonHiddenError(
      'control socket',
      `${file} (${err.code}) is closed to it (permission denied)`,
    );
  return new SersyncError('ERR_SERSYNC_CONTROL', `cannot talk to sersync2 on ${file}: ${err.message}`);
}

/** The control socket of one config: `control-<config name>-<hash>.sock` in its state directory. */
export function controlSocketFile(stateDir: string, configFile: string): string {
  return stateFileFor(stateDir, configFile, 'control', 'sock');
}

/**
 * The control socket of a `sersync2 -m PLUGIN` of one config: `control-m-<plugin>-…sock`, its own,
 * so that it runs beside the replicator of the same config, as sersync's did.
 */
export function pluginControlSocketFile(stateDir: string, configFile: string, plugin: PluginName): string {
  return stateFileFor(stateDir, configFile, `control-m-${plugin}`, 'sock');
}
