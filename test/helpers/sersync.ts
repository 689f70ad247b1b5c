import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InotifyToggles } from '../../src/config/types.js';
import type { RsyncDaemon } from './rsyncd.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
/** The shipped executable (package.json "bin"): the bundle that `npm run build` makes of the CLI. */
export const CLI = join(ROOT, 'dist', 'bin', 'sersync2.cjs');
const SHIPPED_SERSYNC = join(ROOT, 'test', 'fixtures', 'sersync-2.5.4-confxml.xml');

/**
 * A copy of the installed package in `dir` whose native build has the inotify binding but not the
 * confinement's helper (as when its build failed); returns its executable.
 */
export function installWithoutConfineHelper(dir: string): string {
  const release = join('native', 'build', 'Release');
  for (const d of [join('dist', 'bin'), join('dist', 'workers'), release])
    mkdirSync(join(dir, d), { recursive: true });
  for (const file of [
    'package.json',
    join('dist', 'bin', 'sersync2.cjs'),
    ...readdirSync(join(ROOT, 'dist', 'workers'))
      .filter((f) => f.endsWith('.cjs'))
      .map((f) => join('dist', 'workers', f)),
    join(release, 'sersync_inotify.node'),
  ])
    copyFileSync(join(ROOT, file), join(dir, file));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist', 'bin', 'sersync2.cjs');
}

export interface SersyncConfigSpec {
  readonly watch: string;
  /** Daemons to replicate to (each an rsync-daemon `<remote>`), sharing auth and port settings. */
  readonly daemons?: readonly RsyncDaemon[];
  /** More modules of the first daemon to replicate to. */
  readonly modules?: readonly string[];
  /** Local directory targets (`<remote path>`). */
  readonly localTargets?: readonly string[];
  readonly filter?: readonly string[];
  readonly inotify?: Partial<InotifyToggles>;
  readonly failLog: string;
  readonly debug?: boolean;
  /** Replaces `<commonParams params>`. */
  readonly params?: string;
  readonly ssh?: boolean;
  readonly timeoutS?: number;
  /** `<timeout start="false" stall>`: the stall backstop (extension) with `<timeout>` off. */
  readonly stallTimeoutS?: number;
  /** Raw XML put before `</sersync>`'s `<plugin>` (e.g. a crontab) — replaces the shipped `<plugin start="false" …/>`. */
  readonly sersyncPlugin?: string;
  /** Raw XML appended inside `<head>`. */
  readonly extra?: string;
}

/**
 * A `confxml.xml` made from sersync 2.5.4's own shipped file, changing only what a test needs, so
 * every run also proves an unchanged legacy layout is read right.
 */
export function sersyncConfigXml(spec: SersyncConfigSpec): string {
  let xml = readFileSync(SHIPPED_SERSYNC, 'latin1');
  const remotes = [
    ...(spec.daemons ?? []).map((d) => `<remote ip="127.0.0.1" name="${d.module}"/>`),
    ...(spec.modules ?? []).map((m) => `<remote ip="127.0.0.1" name="${m}"/>`),
    ...(spec.localTargets ?? []).map((p) => `<remote path="${p}"/>`),
  ].join('\n\t    ');
  xml = xml.replace(
    /<localpath watch="\/opt\/tongbu">[\s\S]*?<\/localpath>/,
    `<localpath watch="${spec.watch}">\n\t    ${remotes}\n\t</localpath>`,
  );
  const d = spec.daemons?.[0];
  if (d !== undefined) {
    xml = xml
      .replace(
        /<auth start="false" users="root" passwordfile="\/etc\/rsync.pas"\/>/,
        `<auth start="true" users="${d.user}" passwordfile="${d.passwordFile}"/>`,
      )
      .replace(
        /<userDefinedPort start="false" port="874"\/>/,
        `<userDefinedPort start="true" port="${d.port}"/>`,
      );
  }
  if (spec.filter !== undefined) {
    const excludes = spec.filter.map((e) => `<exclude expression="${e}"></exclude>`).join('\n\t');
    xml = xml.replace(
      /<filter start="false">[\s\S]*?<\/filter>/,
      `<filter start="true">\n\t${excludes}\n    </filter>`,
    );
  }
  for (const [k, v] of Object.entries(spec.inotify ?? {})) {
    xml = xml.replace(new RegExp(`<${k} start="(true|false)"/>`), `<${k} start="${String(v)}"/>`);
  }
  xml = xml.replace(/<failLog path="[^"]*"/, `<failLog path="${spec.failLog}"`);
  if (spec.debug === true) xml = xml.replace('<debug start="false"/>', '<debug start="true"/>');
  if (spec.params !== undefined) xml = xml.replace('params="-artuz"', `params="${spec.params}"`);
  if (spec.ssh === true) xml = xml.replace('<ssh start="false"/>', '<ssh start="true"/>');
  if (spec.timeoutS !== undefined) {
    xml = xml.replace(
      /<timeout start="false" time="100"\/>/,
      `<timeout start="true" time="${spec.timeoutS}"/>`,
    );
  }
  if (spec.stallTimeoutS !== undefined) {
    xml = xml.replace(
      /<timeout start="false" time="100"\/>/,
      `<timeout start="false" time="100" stall="${spec.stallTimeoutS}"/>`,
    );
  }
  if (spec.sersyncPlugin !== undefined)
    xml = xml.replace('<plugin start="false" name="command"/>', spec.sersyncPlugin);
  if (spec.extra !== undefined) xml = xml.replace('</head>', `${spec.extra}\n</head>`);
  return xml;
}

export interface SersyncProcess {
  readonly child: ChildProcess;
  /** Everything printed to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Runs the real `sersync2` CLI (the built bin) and resolves once every tree is watched. */
export async function startSersync(
  configFile: string,
  args: readonly string[],
  stateDir: string,
  opts: {
    readonly ready?: RegExp;
    readonly env?: NodeJS.ProcessEnv;
    /** What `env` adds to (this process's environment by default). */
    readonly baseEnv?: NodeJS.ProcessEnv;
    /** A command that runs node for us (e.g. `setpriv … --`), argv form. */
    readonly wrapper?: readonly string[];
    /** Another install's executable (`installWithoutConfineHelper`); the built one by default. */
    readonly cli?: string;
  } = {},
): Promise<SersyncProcess> {
  const argv = [process.execPath, opts.cli ?? CLI, ...args, '-o', configFile, '--state-dir', stateDir];
  const [command = process.execPath, ...rest] = [...(opts.wrapper ?? []), ...argv];
  const child = spawn(command, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...(opts.baseEnv ?? process.env), ...opts.env },
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (c: string) => {
    out += c;
    for (const l of listeners) l();
  });
  child.stderr.on('data', (c: string) => {
    err += c;
  });
  const exited = once(child, 'exit');
  const proc: SersyncProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(out)) {
            cleanup();
            resolve();
          } else if (child.exitCode !== null) {
            cleanup();
            reject(new Error(`sersync2 exited ${child.exitCode} before ${pattern}:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}:\n${out}\n${err}`));
        }, ms);
        const onExit = (): void => {
          check();
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.on('exit', onExit);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  await proc.waitFor(opts.ready ?? /^watching \d+ directories/m);
  return proc;
}

/** Writes a config file and returns its path. */
export function writeConfig(dir: string, xml: string, name = 'confxml.xml'): string {
  const file = join(dir, name);
  writeFileSync(file, xml, 'latin1');
  return file;
}

/** What `localReplicaSetup` made below its directory. */
export interface LocalReplicaSetup {
  /** The watched tree, `W`, empty. */
  readonly src: string;
  /** The local replica, `replica`, empty. */
  readonly replica: string;
  /** A state directory for `--state-dir` (not made: sersync2 makes it). */
  readonly state: string;
  /** The shipped config, replicating `src` to `replica`. */
  readonly config: string;
  /** Writes `config` again with these settings (a reload's new config). */
  readonly rewrite: (spec: LocalReplicaSpec) => void;
}

type LocalReplicaSpec = Omit<SersyncConfigSpec, 'watch' | 'localTargets' | 'failLog'>;

/** The usual start of a CLI test without a daemon: a tree, a local replica and their config below `dir`. */
export function localReplicaSetup(dir: string): LocalReplicaSetup {
  const [src, replica, state] = [join(dir, 'W'), join(dir, 'replica'), join(dir, 'state')];
  mkdirSync(src, { recursive: true });
  mkdirSync(replica);
  const write = (settings: LocalReplicaSpec): string =>
    writeConfig(
      dir,
      sersyncConfigXml({ ...settings, watch: src, localTargets: [replica], failLog: join(dir, 'f.sh') }),
    );
  return {
    src,
    replica,
    state,
    config: write({}),
    rewrite: (settings) => {
      write(settings);
    },
  };
}
