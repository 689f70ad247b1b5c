/**
 * One fault case's world: a fresh source tree, the daemon's module emptied as the replica, a
 * config made from sersync's shipped file, and the real `sersync2` process on it, with the
 * checks every case ends with (replica == source byte for byte, an empty queue, still alive).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { DaemonStatus } from '../../../src/daemon/status.js';
import { queueFileFor } from '../../../src/queue/state-dir.js';
import { openWorkStore } from '../../../src/queue/store.js';
import type { QueueRow } from '../../../src/queue/types.js';
import { displayPath } from '../../../src/paths.js';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';
import type { Sshd } from '../../helpers/sshd.js';
import {
  CLI,
  sersyncConfigXml,
  startSersync,
  writeConfig,
  type SersyncConfigSpec,
  type SersyncProcess,
} from '../../helpers/sersync.js';
import { treeDiff } from '../../helpers/trees.js';
import { parsePrometheusText } from '../../daemon/prometheus-text.js';
import { NotConvergedError } from '../cases/result.js';
import { lostFiles } from './lost.js';

/** A row of `sersync2 queue list --json`. */
export interface JsonRow {
  readonly id: number;
  readonly remoteId: string;
  readonly attempts: number;
  readonly exitCode: number | null;
  readonly lastError: string | null;
  readonly op: { readonly kind: string; readonly path: string };
}

export interface RigOptions {
  readonly daemon: RsyncDaemon;
  /** sersync2 connects here instead of the daemon's port (a proxy in front of it). */
  readonly port?: number;
  readonly spec?: Partial<SersyncConfigSpec>;
  /** Serve /metrics and /status on this loopback port. */
  readonly metricsPort?: number;
  /** Replicate over ssh through this sshd, into the daemon's directory (the daemon takes no part). */
  readonly ssh?: Sshd;
}

let serial = 0;
/** FAULT_DEBUG=1: sersync2 runs with `<debug start="true"/>`, and a failure prints its whole log. */
const DEBUG = process.env.FAULT_DEBUG === '1';

/**
 * `eventually` at a gentler pace: comparing large trees costs CPU that the replicator, on the
 * same two cores, needs to converge.
 */
async function poll(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class Rig {
  proc: SersyncProcess | null = null;
  readonly src: string;
  readonly config: string;
  readonly state: string;
  readonly failLog: string;
  readonly replica: string;

  constructor(
    readonly base: string,
    readonly opts: RigOptions,
  ) {
    this.src = join(base, 'W');
    this.state = join(base, 'state');
    this.failLog = join(base, 'fail.sh');
    this.replica = opts.daemon.dir;
    mkdirSync(this.src, { recursive: true });
    rmSync(this.replica, { recursive: true, force: true });
    mkdirSync(this.replica);
    const target =
      opts.ssh !== undefined
        ? // `<remote ip name>` is host and path over ssh; the port is ssh's, the user whom it lets in
          { ...opts.daemon, module: opts.daemon.dir, port: opts.ssh.port, user: opts.ssh.user }
        : opts.port === undefined
          ? opts.daemon
          : { ...opts.daemon, port: opts.port };
    const xml = sersyncConfigXml({
      watch: this.src,
      daemons: [target],
      ssh: opts.ssh !== undefined,
      failLog: this.failLog,
      debug: DEBUG, // every event and rsync command in the log that a failure prints
      ...opts.spec,
    });
    const host = `<host hostip="127.0.0.1" port="${opts.metricsPort ?? 0}" metrics="true"/>`;
    this.config = writeConfig(
      base,
      opts.metricsPort === undefined ? xml : xml.replace(/<host [^>]*>(<\/host>)?/, host),
    );
  }

  /** A rig in a fresh directory below `work`. */
  static create(work: string, opts: RigOptions): Rig {
    return new Rig(join(work, `case${++serial}`), opts);
  }

  /** The running process (the case failed to start one if there is none). */
  get running(): SersyncProcess {
    assert.ok(this.proc !== null, 'sersync2 is not running');
    return this.proc;
  }

  async start(
    args: readonly string[] = [],
    opts: Parameters<typeof startSersync>[3] = {},
  ): Promise<SersyncProcess> {
    this.proc = await startSersync(this.config, args, this.state, opts);
    return this.proc;
  }

  /** `kill -9`, as a crash or the OOM killer does it. */
  async kill9(): Promise<void> {
    const { child } = this.running;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    this.proc = null;
  }

  /** SIGTERM; asserts the clean exit 0 every stop must give. */
  async stop(): Promise<void> {
    if (this.proc === null) return;
    const proc = this.proc;
    this.proc = null;
    assert.equal(await proc.stop(), 0, proc.stderr());
  }

  /** `sersync2 ARGS -o CONFIG --state-dir STATE`, run to completion. */
  cli(args: readonly string[]): SpawnSyncReturns<string> {
    return spawnSync(process.execPath, [CLI, ...args, '-o', this.config, '--state-dir', this.state], {
      encoding: 'utf8',
      timeout: 30_000,
    });
  }

  /** The queue as the operator sees it: `sersync2 queue list --json`. */
  queue(): JsonRow[] {
    const r = this.cli(['queue', 'list', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as JsonRow[];
  }

  /** The queue read in this process: cheap enough to poll (the CLI costs a node start each time). */
  queued(): QueueRow[] {
    const file = queueFileFor(this.state, this.config);
    if (!existsSync(file)) return [];
    const store = openWorkStore(file, { readOnly: true });
    try {
      return store.list();
    } finally {
      store.close();
    }
  }

  /**
   * The end of every case: the replica equals the source (names, types, bytes; `excludes` are
   * basename patterns `diff` skips), the queue is empty, and the replicator is still running.
   */
  async converged(ms = 20_000, what = 'convergence', excludes: readonly string[] = []): Promise<void> {
    // diff fails outright when a file vanishes under it (a rename into place): not converged yet.
    const diff = (): string => {
      try {
        return treeDiff(this.src, this.replica, excludes);
      } catch (err) {
        return String(err);
      }
    };
    try {
      await poll(() => diff() === '', ms, `${what}: replica == source`);
    } catch (err) {
      const log = this.lastLogLines();
      const lost = lostFiles(this.src, this.replica, excludes);
      throw new NotConvergedError(
        `${(err as Error).message} (${lost.length} file(s) lost: ${lost.slice(0, 5).join(', ')})\n` +
          `${diff().slice(0, 2000)}\nsersync2's last log lines:\n${log}`,
        lost,
        { cause: err },
      );
    }
    // A batch in flight is a row too, and the queue is empty for a moment between two batches (a
    // resync, then the changes that arrived during it): the operator's view is read until it is
    // empty as well, and only a row that stays fails the case.
    await poll(() => this.queued().length === 0, ms, `${what}: an empty queue`).catch((err: unknown) => {
      const rows = this.queued().map(
        (r) => `${r.state} ${r.op.kind} ${displayPath(r.op.path)}: ${r.lastError ?? '-'}`,
      );
      throw new Error(
        `${(err as Error).message}; still queued:\n${rows.slice(0, 10).join('\n')}\n` +
          `sersync2's last log lines:\n${this.lastLogLines()}`,
        { cause: err },
      );
    });
    let rows: JsonRow[] = [];
    await poll(() => (rows = this.queue()).length === 0, 10_000, `${what}: an empty queue list`).catch(() =>
      assert.deepEqual(rows, [], `${what}: sersync2 queue list --json`),
    );
    if (this.proc !== null) {
      assert.equal(this.proc.child.exitCode, null, `sersync2 died:\n${this.proc.stderr()}`);
      assert.equal(this.proc.child.signalCode, null, `sersync2 was killed:\n${this.proc.stderr()}`);
    }
  }

  /** What a failure message shows of sersync2's log (all of it with DEBUG). */
  private lastLogLines(): string {
    return (
      this.proc
        ?.stderr()
        .split('\n')
        .slice(DEBUG ? 0 : -40)
        .join('\n') ?? ''
    );
  }

  /** The running daemon's view of itself: `sersync2 status --json`. */
  status(): DaemonStatus {
    const r = this.cli(['status', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as DaemonStatus;
  }

  /** One sample of `GET /metrics` (the rig needs `metricsPort`); undefined when it is not served. */
  async metric(name: string, labels: Readonly<Record<string, string>>): Promise<number | undefined> {
    // A fresh connection each time (no keep-alive): a reused one the server timed out fails the fetch.
    const text = await new Promise<string>((resolve, reject) => {
      get(`http://127.0.0.1:${this.opts.metricsPort ?? 0}/metrics`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => {
          resolve(body);
        });
      }).on('error', reject);
    });
    const family = parsePrometheusText(text).get(name);
    const want = JSON.stringify(Object.entries(labels).sort());
    return family?.samples.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === want)?.value;
  }

  /** Regular files (and other non-directories) in the source: what `converged` verified. */
  files(): number {
    let n = 0;
    const stack = [Buffer.from(this.src)];
    for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
      for (const e of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
        if (e.isDirectory()) stack.push(Buffer.concat([dir, Buffer.from('/'), e.name]));
        else n++;
      }
    }
    return n;
  }

  /** The replicator's JSON log lines with this `msg` so far. */
  logLines(msg: string | RegExp): Record<string, unknown>[] {
    return this.running
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => (typeof msg === 'string' ? o.msg === msg : msg.test(String(o.msg))));
  }
}
