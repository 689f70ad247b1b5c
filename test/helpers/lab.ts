/**
 * The set-up the end-to-end test files share: one real rsync daemon and one work directory for
 * the whole file (made before its tests, removed after), and per test a fresh run directory, an
 * empty replica and the real `sersync2` on a config made from sersync's shipped file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon, type RsyncDaemonOptions } from './rsyncd.js';
import {
  sersyncConfigXml,
  startSersync,
  writeConfig,
  type SersyncConfigSpec,
  type SersyncProcess,
} from './sersync.js';
import { tempDir } from './tmp.js';
import { eventually, treeDiff } from './trees.js';

export interface RunOptions {
  readonly spec?: Partial<SersyncConfigSpec>;
  /** sersync2's own flags (`-r`, …); `-o` and `--state-dir` are added. */
  readonly args?: readonly string[];
  /** Edits the config text after it is made. */
  readonly xml?: (xml: string) => string;
  /** Where the config's watch points (default: the run's source, created). */
  readonly watch?: (base: string) => string;
  /** What on stdout means ready (default: every tree watched). */
  readonly ready?: RegExp;
  /** Prepares the source and the (emptied) replica before sersync2 starts. */
  readonly setup?: (src: string, replica: string) => void;
}

export interface Run {
  /** The run's own directory (config, state, fail log). */
  readonly base: string;
  /** The watched directory. */
  readonly src: string;
  /** The daemon module's directory. */
  readonly replica: string;
  readonly proc: SersyncProcess;
  /** The daemon's transfer-log entries since the run started. */
  readonly received: () => Promise<string[]>;
}

export interface Lab {
  readonly daemon: RsyncDaemon;
  /** The file's work directory. */
  readonly work: string;
  /** Runs `body` while sersync2 replicates a fresh source to an empty replica; it must stop cleanly. */
  withSersync(opts: RunOptions, body: (run: Run) => Promise<void>): Promise<void>;
}

/** Registers the file's `before`/`after` hooks; the lab's fields are usable inside tests. */
export function useLab(prefix: string, daemonOptions: RsyncDaemonOptions = {}): Lab {
  let daemon: RsyncDaemon | undefined;
  let work: { path: string; remove: () => Promise<void> } | undefined;
  before(async () => {
    daemon = await startRsyncDaemon(daemonOptions);
    work = await tempDir(prefix);
  });
  after(async () => {
    if (daemon !== undefined) await disposeRsyncDaemon(daemon);
    await work?.remove();
  });
  let runs = 0;
  const lab: Lab = {
    get daemon() {
      assert.ok(daemon !== undefined, 'the lab is ready only inside tests');
      return daemon;
    },
    get work() {
      assert.ok(work !== undefined, 'the lab is ready only inside tests');
      return work.path;
    },
    async withSersync(opts, body) {
      const d = lab.daemon;
      const base = join(lab.work, `run${++runs}`);
      const src = join(base, 'W');
      mkdirSync(src, { recursive: true });
      rmSync(d.dir, { recursive: true, force: true });
      mkdirSync(d.dir);
      opts.setup?.(src, d.dir);
      const already = (await d.received()).length;
      const watch = opts.watch?.(base) ?? src;
      const xml = sersyncConfigXml({ watch, daemons: [d], failLog: join(base, 'fail.sh'), ...opts.spec });
      const file = writeConfig(base, opts.xml?.(xml) ?? xml);
      const ready = opts.ready === undefined ? {} : { ready: opts.ready };
      const proc = await startSersync(file, opts.args ?? [], join(base, 'state'), ready);
      try {
        await body({
          base,
          src: watch,
          replica: d.dir,
          proc,
          received: async () => (await d.received()).slice(already),
        });
      } finally {
        assert.equal(await proc.stop(), 0, proc.stderr());
      }
    },
  };
  return lab;
}

/** Waits until `replica` equals `src`; on time-out the error shows what still differs. */
export async function converged(
  src: string,
  replica: string,
  opts: { readonly ms?: number; readonly excludes?: readonly string[] } = {},
): Promise<void> {
  const excludes = opts.excludes ?? [];
  try {
    await eventually(
      () => treeDiff(src, replica, excludes) === '',
      opts.ms ?? 20_000,
      `replica == source (${src})`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; still different:\n${treeDiff(src, replica, excludes)}`, {
      cause: err,
    });
  }
}
