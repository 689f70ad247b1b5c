/** The `<sersync>` section: watched trees and their remotes, rsync options, fail log, crontab, plugin switch. */
import { dirname, relative } from 'node:path';
import { validateDetailed } from 'node-cron';
import { fromUtf8, isWithinPath, type RelPath } from '../paths.js';
import { DEFAULTS } from './defaults.js';
import { within } from './real-path.js';
import { localReplicas } from './remote-kinds.js';
import { linkFollowingOption } from './rsync-options.js';
import { NON_NEGATIVE, PORT, type ConfigReader } from './reader.js';
import {
  PLUGIN_NAMES,
  type CrontabSettings,
  type FailLogSettings,
  type LocalPath,
  type PluginName,
  type Remote,
  type RsyncSettings,
} from './types.js';
import type { Position, XmlAttribute, XmlElement } from './xml.js';

export function readRsync(r: ConfigReader, sersync: XmlElement | undefined): RsyncSettings {
  const rsync = sersync?.child('rsync');
  const params = rsync?.child('commonParams')?.attr('params');
  const auth = rsync?.child('auth');
  const authOn = r.toggle(auth, 'start', false);
  const portEl = rsync?.child('userDefinedPort');
  const portOn = r.toggle(portEl, 'start', false);
  const port = r.lenient(portOn, () => r.integer(portEl, 'port', DEFAULTS.port, PORT), null);
  const timeoutEl = rsync?.child('timeout');
  const timeoutOn = r.toggle(timeoutEl, 'start', false);
  const timeoutS = r.lenient(
    timeoutOn,
    () => r.integer(timeoutEl, 'time', DEFAULTS.timeoutS, NON_NEGATIVE),
    null,
  );
  const stallTimeoutS = r.integer(timeoutEl, 'stall', DEFAULTS.stallTimeoutS, NON_NEGATIVE);
  const ssh = r.toggle(rsync?.child('ssh'), 'start', false);

  const passwordFile = auth?.attr('passwordfile');
  if (ssh && authOn && passwordFile !== undefined && passwordFile.value !== '') {
    r.warn(
      passwordFile.pos,
      'passwordfile is ignored in ssh mode: rsync accepts --password-file only for daemon targets ' +
        '(sersync passed it anyway and every rsync failed)',
    );
  }
  if (ssh && portOn && portEl !== undefined && port !== null) {
    r.warn(
      portEl.pos,
      `in ssh mode userDefinedPort is the ssh port (-e "ssh -p ${port}"); ` +
        'sersync passed --port, which rsync ignores over ssh',
    );
  }
  const passwordPath = r.path(auth, 'passwordfile', DEFAULTS.auth.passwordFile);
  const users = r.text(auth, 'users', DEFAULTS.auth.users);
  if (authOn && !ssh && auth !== undefined) {
    const problem = r.inspect?.passwordFile(passwordPath, users) ?? null;
    if (problem !== null) r.warn(passwordFile?.pos ?? auth.pos, problem);
  }
  const commonParams = params === undefined ? [DEFAULTS.commonParams] : r.words(params);
  const follows = params === undefined ? null : linkFollowingOption(commonParams);
  if (params !== undefined && follows !== null)
    r.fail(
      params.pos,
      `${params.name}="${params.value}": ${follows} makes rsync copy what a symlink points to, also outside ` +
        'the watched tree: whoever may write the tree could put any file root can read on the replica. ' +
        'Remove it (links are replicated as links); watch the linked directory as a <localpath> of its own instead',
    );
  return {
    commonParamsRaw: params?.value ?? DEFAULTS.commonParams,
    commonParams,
    auth: {
      enabled: authOn,
      users,
      passwordFile: passwordPath,
    },
    port: portOn ? port : null,
    timeoutS: timeoutOn ? timeoutS : null,
    stallTimeoutS,
    ssh,
  };
}

function readRemote(r: ConfigReader, el: XmlElement, ssh: boolean): Remote {
  const path = el.attr('path');
  if (path !== undefined) {
    const [ip, name] = [el.attr('ip'), el.attr('name')];
    const daemonPart = ip ?? name;
    if (daemonPart !== undefined)
      r.warn(daemonPart.pos, 'ip/name are ignored on a <remote path="…"> (a local directory)');
    const abs = r.resolvePath(r.required(el, 'path').value);
    return { id: abs, target: { kind: 'local', path: abs } };
  }
  const ip = r.required(el, 'ip', ' (the host to replicate to)');
  const nameAttr = r.required(el, 'name', ssh ? ' (the path on the ssh host)' : ' (the rsync module)');
  const [host, name] = [ip.value, nameAttr.value];
  const remote: Remote = ssh
    ? { id: `${host}:${name}`, target: { kind: 'ssh', host, path: name } }
    : { id: `${host}::${name}`, target: { kind: 'daemon', host, module: name } };
  for (const a of [ip, nameAttr]) {
    if (/[\s"'`\\]/.test(a.value)) {
      r.warn(
        a.pos,
        `${a.name}="${a.value}" holds a space or quote: sersync pasted it into a shell command, where it ` +
          `was split into several words; sersync-ts passes the destination to rsync as one argument, "${remote.id}"`,
      );
    }
  }
  const problem = /[\s"'`\\]/.test(host) ? null : hostProblem(host);
  if (problem !== null) r.warn(ip.pos, `ip="${host}" ${problem}: every sync to it will fail`);
  if (!ssh && name.startsWith('/')) {
    r.warn(
      nameAttr.pos,
      `name="${name}" starts with "/": rsync refuses the daemon destination ${remote.id} (the remote path ` +
        'must start with a module name), so every sync to it will fail, as with sersync; name the module ' +
        `as rsyncd.conf does (name="${moduleExample(name)}" for a module [${moduleExample(name)}]), or set ` +
        `<ssh start="true"/> if ${name} is a directory on the ssh host`,
    );
  }
  return remote;
}

/** A module name to show for a path given as one: its last part (`/tmp/www` → `www`). */
function moduleExample(path: string): string {
  return (
    path
      .split('/')
      .filter((p) => p !== '')
      .pop() ?? 'backup'
  );
}

/** What is wrong with `host` as a host to connect to (rsync's, the socket plugin's), or null. Pure. */
export function hostProblem(host: string): string | null {
  if (!HOST.test(host)) return 'is not a host name or address (a placeholder left in?)';
  if (/^[0-9.]+$/.test(host) && !isIpv4(host)) return 'is not an IPv4 address (a typo?)';
  return null;
}

/**
 * Whether digits and dots are an IPv4 address as rsync's resolver reads one (inet_aton): one to four
 * numbers, decimal or octal with a leading 0, the last filling the bytes the others left. Pure.
 */
export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  if (parts.length > 4) return false;
  const values = parts.map((p) =>
    /^0[0-7]*$/.test(p) ? parseInt(p, 8) : /^[1-9][0-9]*$/.test(p) ? Number(p) : NaN,
  );
  const last = values.length - 1;
  return values.every((v, i) => v <= (i < last ? 255 : 2 ** (8 * (4 - last)) - 1));
}

/** A host name, an IPv4 address or an IPv6 address (bare or in brackets), as rsync takes it. */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[?[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]?)$/;

/** `within`, through the links on disk when the reader inspects it. */
function inside(r: ConfigReader, inner: string, outer: string): string | null {
  return within(inner, outer, r.inspect === null ? null : (p) => r.inspect?.realPath(p) ?? p);
}

/** A local replica inside its own tree copies itself without end: refused, also through a link. */
function checkNotInside(r: ConfigReader, el: XmlElement, replica: string, watch: string): void {
  const how = inside(r, replica, watch);
  if (how !== null)
    r.fail(
      el.pos,
      `remote path ${replica} lies inside the watched tree ${watch}${how}: it would copy itself`,
    );
}

/**
 * A local replica that holds a watched tree (its parent, `/`, the tree itself): rsync would write the
 * tree into itself, and a full sync with `--delete` (sersync's default) would delete from the replica
 * everything the tree does not have, the tree first of all. Refused, also through a link.
 */
function checkNotContaining(r: ConfigReader, el: XmlElement, replica: string, watch: string): void {
  const how = inside(r, watch, replica);
  if (how !== null)
    r.fail(
      el.pos,
      `remote path ${replica} holds the watched tree ${watch}${how}: rsync would write the tree into ` +
        'itself, and a full sync with --delete would delete the tree itself',
    );
}

/**
 * A file that is not UTF-8 (a GB2312 or GBK config with a Chinese `watch`) is read as ISO-8859-1:
 * a non-ASCII watch path then names another directory than the one on disk. Started, it would be
 * created empty and watched, and nothing would ever be replicated: refused instead, at its place.
 */
function refuseUnmatchableWatch(r: ConfigReader, attr: XmlAttribute, watch: string): void {
  // eslint-disable-next-line no-control-regex -- ASCII is exactly what is safe here
  if (!r.readAsLatin1 || /^[\x00-\x7f]*$/.test(watch) || r.inspect === null || r.inspect.isDirectory(watch))
    return;
  r.fail(
    attr.pos,
    `watch="${watch}" has non-ASCII characters in a file that is not UTF-8 (read as ISO-8859-1), and ` +
      'no directory has that name: it would be created empty and watched while the real one is never ' +
      'replicated. Save the file as UTF-8 with the directory named as it is on disk (in UTF-8), or use an ASCII path',
  );
}

function readLocalPath(r: ConfigReader, el: XmlElement, ssh: boolean): LocalPath {
  const watchAttr = r.required(el, 'watch', ' (the directory to watch)');
  const watch = r.resolvePath(watchAttr.value);
  refuseUnmatchableWatch(r, watchAttr, watch);
  const remoteEls = el.children('remote');
  if (remoteEls.length === 0) {
    r.fail(el.pos, `<localpath watch="${watch}"> has no <remote>: nowhere to replicate to`);
  }
  const remotes: Remote[] = [];
  for (const re of remoteEls) {
    const remote = readRemote(r, re, ssh);
    if (remotes.some((x) => x.id === remote.id))
      r.fail(re.pos, `duplicate remote ${remote.id} in this <localpath>`);
    if (remote.target.kind === 'local') checkNotInside(r, re, remote.target.path, watch);
    remotes.push(remote);
  }
  return { watch, remotes };
}

export function readLocalPaths(
  r: ConfigReader,
  head: XmlElement,
  sersync: XmlElement | undefined,
  ssh: boolean,
): LocalPath[] {
  const els = sersync?.children('localpath') ?? [];
  // looked for only here: reading an element marks it used, and a stray one beside <sersync>'s is warned about
  const outside = els.length === 0 ? head.child('localpath') : undefined;
  if (outside !== undefined)
    r.fail(
      outside.pos,
      '<localpath> directly inside <head>: sersync reads <localpath>, <rsync>, <failLog> and <crontab> only ' +
        "inside <sersync> (this layout is not sersync's); put them in a <sersync> element, as in its confxml.xml",
    );
  if (els.length === 0)
    r.fail((sersync ?? head).pos, 'no <localpath watch="…"> inside <sersync>: nothing to watch');
  const trees: LocalPath[] = [];
  for (const el of els) {
    const tree = readLocalPath(r, el, ssh);
    const other = trees.find((t) => isWithinPath(tree.watch, t.watch) || isWithinPath(t.watch, tree.watch));
    if (other?.watch === tree.watch) r.fail(el.pos, `the watch ${tree.watch} is listed twice`);
    if (other !== undefined) {
      r.warn(
        el.pos,
        `the watched trees ${other.watch} and ${tree.watch} overlap: changes there replicate twice`,
      );
    }
    trees.push(tree);
  }
  const replicas = localReplicaElements(els, trees);
  // Every tree of the config, not only its own: another tree's full sync would delete it as well.
  for (const { path, el } of replicas) for (const { watch } of trees) checkNotContaining(r, el, path, watch);
  refuseReplicaRings(r, replicas, trees);
  return trees;
}

/** A local replica with the tree it belongs to (its index) and its `<remote>` element. */
interface ReplicaElement {
  readonly tree: number;
  readonly path: string;
  readonly el: XmlElement;
}

/** The local replicas of `trees`, read from `els` in the same order (one `<remote>` per remote). */
function localReplicaElements(els: readonly XmlElement[], trees: readonly LocalPath[]): ReplicaElement[] {
  return trees.flatMap((t, tree) => {
    const remoteEls = els[tree]?.children('remote') ?? [];
    return t.remotes.flatMap(({ target }, k) => {
      const el = remoteEls[k];
      return target.kind === 'local' && el !== undefined ? [{ tree, path: target.path, el }] : [];
    });
  });
}

/**
 * Local replicas that put trees into each other (A's replica inside tree B, B's inside A, or a longer
 * ring): every change would be copied round the ring without end, one level deeper each time.
 */
function refuseReplicaRings(
  r: ConfigReader,
  replicas: readonly ReplicaElement[],
  trees: readonly LocalPath[],
): void {
  // Each replica of one tree that lies inside another tree: an edge of the copy graph.
  const edges = replicas.flatMap((rep) =>
    trees.flatMap((t, to) =>
      to !== rep.tree && inside(r, rep.path, t.watch) !== null ? [{ ...rep, to }] : [],
    ),
  );
  for (const first of edges) {
    // Trees reached from `first.to`, each with the way there; back at `first.tree` is a ring.
    const way = new Map<number, number[]>([[first.to, [first.tree, first.to]]]);
    for (const [at, path] of way) {
      if (at === first.tree) {
        r.fail(
          first.el.pos,
          `local replicas copy the watched trees into each other (${path.map((t) => trees[t]?.watch).join(' → ')}): ` +
            'every change would be copied round without end, one level deeper each time',
        );
      }
      for (const e of edges) if (e.tree === at && !way.has(e.to)) way.set(e.to, [...path, e.to]);
    }
  }
}

/**
 * `localpaths` are the trees read before: the start creates their missing watch and local replica
 * directories, and with them a fail-log directory above them (the shipped demo's `./demo`).
 */
export function readFailLog(
  r: ConfigReader,
  sersync: XmlElement | undefined,
  localpaths: readonly LocalPath[],
): FailLogSettings {
  const el = sersync?.child('failLog');
  const time = el?.attr('timeToExecute');
  // sersync: an empty value keeps its compiled-in 7200 s; 0 meant "at every idle minute", i.e. 1.
  const minutes =
    time === undefined
      ? DEFAULTS.failLog.timeToExecuteMinutes
      : time.value === ''
        ? DEFAULTS.failLogEmptyMinutes
        : Math.max(1, r.parseInteger(time, NON_NEGATIVE));
  const path = r.path(el, 'path', DEFAULTS.failLog.path);
  const inTrees = placeFailLog(
    r,
    el?.attr('path')?.pos ?? el?.pos ?? { line: 1, column: 1 },
    path,
    localpaths,
  );
  const created = [...localpaths.map((t) => t.watch), ...localReplicas(localpaths)];
  const dir = dirname(path);
  if (r.inspect !== null && !r.inspect.isDirectory(dir) && !created.some((c) => isWithinPath(c, dir))) {
    r.warn(
      el?.attr('path')?.pos ?? el?.pos ?? { line: 1, column: 1 },
      `the fail log's directory ${dir} does not exist: the list of failed syncs is not ` +
        'written there (retries are not affected); create it or point failLog path elsewhere',
    );
  }
  return { path, timeToExecuteMinutes: minutes, inTrees };
}

/**
 * A fail log in a watched tree (sersync's default `/tmp/rsync_fail_log.sh` with `watch="/tmp"`, a
 * published Ansible role's default) is kept out of replication: every failure rewrites it, and as a
 * change it would be sent to the failing remote, fail, and rewrite it again, without end (see
 * `FilterSpec.own`). In a local replica, full syncs delete it. Both are said, not refused. Returns
 * the trees it lies in, with its path in each.
 */
function placeFailLog(
  r: ConfigReader,
  pos: Position,
  path: string,
  localpaths: readonly LocalPath[],
): FailLogSettings['inTrees'] {
  const inTrees: { watch: string; path: RelPath }[] = [];
  for (const { watch } of localpaths) {
    const how = inside(r, path, watch);
    if (how === null) continue;
    // Through a link, its place in the tree is where the real paths say.
    const [file, tree] =
      how === '' ? [path, watch] : [r.inspect?.realPath(path) ?? path, r.inspect?.realPath(watch) ?? watch];
    inTrees.push({ watch, path: fromUtf8(relative(tree, file)) });
    r.warn(
      pos,
      `the fail log ${path} lies inside the watched tree ${watch}${how}: it is not replicated, and ` +
        'writing it is not a change (sersync replicated it like any file, so that while a remote was ' +
        'down each failure wrote it again and was one more failure)',
    );
  }
  for (const replica of localReplicas(localpaths)) {
    const how = inside(r, path, replica);
    if (how !== null)
      r.warn(
        pos,
        `the fail log ${path} lies inside the local replica ${replica}${how}: a full sync with --delete ` +
          'deletes it, until the next failure writes it again',
      );
  }
  return inTrees;
}

/** sersync read `schedule` with atoi and replaced anything <= 0 by 600 minutes. */
function scheduleMinutes(r: ConfigReader, el: XmlElement | undefined, enabled: boolean): number {
  const a = el?.attr('schedule');
  if (a === undefined) return DEFAULTS.crontabScheduleMinutes;
  const leading = /^\s*([+-]?\d+)/.exec(a.value)?.[1];
  const n = leading === undefined ? 0 : Number(leading);
  if (enabled && (n <= 0 || !/^\s*\d+\s*$/.test(a.value))) {
    const used = n > 0 ? n : DEFAULTS.crontabScheduleMinutes;
    r.warn(
      a.pos,
      `schedule="${a.value}" is not a positive number of minutes: ${used} is used (as sersync did)`,
    );
  }
  return n > 0 ? n : DEFAULTS.crontabScheduleMinutes;
}

function readCron(r: ConfigReader, el: XmlElement | undefined): string | null {
  const a = el?.attr('cron');
  if (a === undefined) return null;
  const check = validateDetailed(a.value);
  if (!check.valid) {
    const why = check.errors.map((e) => e.message).join('; ');
    r.fail(a.pos, `cron="${a.value}" is not a valid cron expression (m h dom mon dow): ${why}`);
  }
  return a.value;
}

export function readCrontab(
  r: ConfigReader,
  sersync: XmlElement | undefined,
  realtimeFilterOn: boolean,
): CrontabSettings {
  const el = sersync?.child('crontab');
  const enabled = r.toggle(el, 'start', false);
  const filterEl = el?.child('crontabfilter');
  const filterOn = r.toggle(filterEl, 'start', false);
  const excludes: string[] = [];
  for (const ex of filterEl?.children('exclude') ?? []) {
    const glob = r.lenient(enabled && filterOn, () => r.required(ex, 'expression').value, null);
    if (glob !== null) excludes.push(glob);
  }
  if (enabled && realtimeFilterOn && !(filterOn && excludes.length > 0) && el !== undefined) {
    r.warn(
      el.pos,
      'the filter is on but the crontab filter is not: sersync switched the crontab off here; ' +
        'sersync-ts keeps it and applies the realtime filter to full syncs',
    );
  }
  return {
    enabled,
    scheduleMinutes: scheduleMinutes(r, el, enabled),
    cron: r.lenient(enabled, () => readCron(r, el), null),
    filter: { enabled: filterOn, excludes },
  };
}

export interface PluginSwitch {
  readonly enabled: boolean;
  readonly name: PluginName | null;
  readonly el: XmlElement | undefined;
}

/** `<sersync><plugin start="true" name="…">`: which plugin runs after each event's syncs. */
export function readPluginSwitch(r: ConfigReader, sersync: XmlElement | undefined): PluginSwitch {
  const el = sersync?.child('plugin');
  const enabled = r.toggle(el, 'start', false);
  const name = r.lenient(enabled, () => r.choice(el, 'name', PLUGIN_NAMES, DEFAULTS.pluginName), null);
  return { enabled, name: enabled ? name : null, el };
}
