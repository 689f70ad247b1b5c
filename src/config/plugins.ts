/**
 * The top-level `<plugin name="…">` sections. A section that no one switches on in
 * `<sersync><plugin>` is still read, but its problems are warnings and make it null (unusable,
 * e.g. for `-m socket`), because sersync only read the section of the plugin in use.
 */
import { DEFAULTS } from './defaults.js';
import { POSITIVE, PORT, type ConfigReader } from './reader.js';
import { unbracketed } from './remote-kinds.js';
import { hostProblem, type PluginSwitch } from './sersync.js';
import {
  PLUGIN_NAMES,
  type CommandPluginSettings,
  type ExcludeRule,
  type HttpPluginSettings,
  type PluginName,
  type PluginSettings,
  type RefreshCdnPluginSettings,
  type SocketPluginSettings,
} from './types.js';
import type { XmlElement } from './xml.js';

/** Programs that run the file named after them as code (a shell, a script language). */
const INTERPRETER =
  /^(?:(?:ba|da|z|k|mk|c|tc|a)?sh|busybox|env|python[\d.]*|perl[\d.]*|php[\d.]*|ruby[\d.]*|node(?:js)?|lua[\d.]*|tclsh[\d.]*|g?awk)$/;

/**
 * Whether a command prefix runs the changed file as a program: sersync's shipped section runs
 * `/bin/sh <changed file>`, so every file written into the tree runs as the user sersync runs as.
 */
export function runsTreeFiles(prefix: readonly string[]): boolean {
  const program = prefix[0] ?? '';
  // `sh -c 'cmd'` gets the path as $0, `perl -e 'code'` as an argument: neither runs the file.
  return (
    INTERPRETER.test(program.slice(program.lastIndexOf('/') + 1)) &&
    !prefix.slice(1).some((w) => w === '-c' || w === '-e')
  );
}

/** Said at every load while the plugin is in use (check and the start). */
function warnInterpreter(r: ConfigReader, prefix: readonly string[], at: XmlElement): void {
  if (!runsTreeFiles(prefix)) return;
  const program = prefix[0] ?? '';
  r.warn(
    at.pos,
    `the command plugin runs ${program} on each changed file: every file written into the watched ` +
      `tree is run as a program by the user sersync2 runs as (root), so anyone who can write there ` +
      `(uploads, www-data) can run commands as root (sersync did the same); run a fixed script ` +
      `instead, with the path as its argument, or limit the files with <filter start="true">`,
  );
}

function readCommand(r: ConfigReader, el: XmlElement, inUse: boolean): CommandPluginSettings {
  const param = el.child('param');
  const prefixAttr = param?.attr('prefix');
  const suffixAttr = param?.attr('suffix');
  const prefix = prefixAttr === undefined ? [DEFAULTS.command.prefix] : r.words(prefixAttr);
  if (prefix.length === 0)
    r.fail(prefixAttr?.pos ?? el.pos, 'prefix="" is empty: it names the program to run');
  if (inUse) warnInterpreter(r, prefix, param ?? el);
  const filter = el.child('filter');
  const filterOn = r.toggle(filter, 'start', false);
  const includes: ExcludeRule[] = [];
  for (const inc of filter?.children('include') ?? []) {
    const rule = r.lenient<ExcludeRule | null>(
      filterOn,
      () => r.wholeMatch(r.required(inc, 'expression')),
      null,
    );
    if (rule !== null && filterOn) includes.push(rule);
  }
  return {
    prefix,
    suffix: suffixAttr === undefined ? [] : r.words(suffixAttr),
    ignoreError: r.toggle(param, 'ignoreError', DEFAULTS.command.ignoreError),
    includes,
    timeoutS: r.integer(param, 'timeout', DEFAULTS.command.timeoutS, POSITIVE),
    concurrency: r.integer(param, 'concurrency', DEFAULTS.command.concurrency, POSITIVE),
  };
}

/** `<localpath watch>` of a plugin section; without one, the first watched tree. */
function pluginWatch(r: ConfigReader, el: XmlElement, defaultWatch: string): XmlElement | undefined {
  const localpath = el.child('localpath');
  if (localpath === undefined) r.warn(el.pos, `no <localpath watch="…"> here: ${defaultWatch} is used`);
  return localpath;
}

function need(r: ConfigReader, parent: XmlElement | undefined, name: string, where: XmlElement): XmlElement {
  return parent?.child(name) ?? r.fail((parent ?? where).pos, `<${name}> is missing`);
}

function readSocket(
  r: ConfigReader,
  el: XmlElement,
  defaultWatch: string,
  inUse: boolean,
): SocketPluginSettings {
  const localpath = pluginWatch(r, el, defaultWatch);
  const deshost = need(r, localpath, 'deshost', el);
  const ip = r.required(deshost, 'ip');
  const problem = inUse ? hostProblem(ip.value) : null;
  if (problem !== null) r.warn(ip.pos, `ip="${ip.value}" ${problem}: the socket plugin cannot send to it`);
  return {
    watch: r.path(localpath, 'watch', defaultWatch),
    // Written as a remote's (`[2001:db8::5]`) or bare: a socket takes it bare.
    host: unbracketed(ip.value),
    port: r.integer(deshost, 'port', DEFAULTS.socketPort, PORT),
    framing: r.choice(deshost, 'framing', ['per-connection', 'newline'] as const, 'per-connection'),
  };
}

function readRefreshCdn(r: ConfigReader, el: XmlElement, defaultWatch: string): RefreshCdnPluginSettings {
  const localpath = pluginWatch(r, el, defaultWatch);
  const cdn = need(r, localpath, 'cdninfo', el);
  const mode = r.choice(cdn, 'mode', ['chinacache', 'generic'] as const, 'chinacache');
  // ChinaCache's API needs the endpoint and the account; a generic purge takes its URL from the template.
  const account = (name: string): string =>
    mode === 'chinacache' ? r.required(cdn, name, ' (mode="chinacache")').value : r.text(cdn, name, '');
  const regexurl = localpath?.child('regexurl');
  const regex = r.toggle(regexurl, 'regex', false);
  const match = regexurl?.attr('match');
  if (regex && regexurl !== undefined) r.regex(r.required(regexurl, 'match', ' (regex="true")'));
  const urlTemplate = cdn.attr('urlTemplate');
  if (urlTemplate !== undefined && !urlTemplate.value.includes('{url}')) {
    r.fail(urlTemplate.pos, `urlTemplate="${urlTemplate.value}" must contain {url}`);
  }
  return {
    watch: r.path(localpath, 'watch', defaultWatch),
    domainName: account('domainname'),
    port: r.integer(cdn, 'port', DEFAULTS.cdnPort, PORT),
    username: account('username'),
    password: account('passwd'),
    baseUrl: r.required(need(r, localpath, 'sendurl', el), 'base').value,
    regex,
    match: match?.value ?? '',
    mode,
    method: r.text(cdn, 'method', DEFAULTS.cdnMethod) || DEFAULTS.cdnMethod,
    urlTemplate: urlTemplate?.value ?? DEFAULTS.cdnUrlTemplate,
  };
}

function readHttp(r: ConfigReader, el: XmlElement, defaultWatch: string): HttpPluginSettings {
  const localpath = pluginWatch(r, el, defaultWatch);
  const deshost = need(r, localpath, 'deshost', el);
  const urlAttr = r.required(deshost, 'url');
  const url = URL.canParse(urlAttr.value) ? new URL(urlAttr.value) : null;
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    r.fail(urlAttr.pos, `url="${urlAttr.value}" is not an http:// or https:// URL`);
  }
  const port = deshost.attr('port');
  if (port !== undefined && port.value !== '') url.port = String(r.parseInteger(port, PORT));
  return {
    watch: r.path(localpath, 'watch', defaultWatch),
    url: url.href,
    format: r.choice(deshost, 'format', ['form', 'json'] as const, 'form'),
    timeoutS: r.integer(deshost, 'timeout', DEFAULTS.httpTimeoutS, POSITIVE),
  };
}

type Sections = Pick<PluginSettings, PluginName>;

export function readPlugins(
  r: ConfigReader,
  head: XmlElement,
  use: PluginSwitch,
  defaultWatch: string,
): PluginSettings {
  const found: { -readonly [K in PluginName]: Sections[K] } = {
    command: null,
    socket: null,
    refreshCDN: null,
    http: null,
  };
  const seen = new Set<string>();
  for (const el of head.children('plugin')) {
    const name = el.attr('name');
    const known = PLUGIN_NAMES.find((n) => n === name?.value);
    if (known === undefined) {
      r.warn(
        name?.pos ?? el.pos,
        `<plugin> section with ${name ? `unknown name="${name.value}"` : 'no name'} ignored`,
      );
      el.markHandled();
      continue;
    }
    if (seen.has(known)) {
      r.warn(el.pos, `duplicate <plugin name="${known}"> section ignored: the first one is used`);
      el.markHandled();
      continue;
    }
    seen.add(known);
    const inUse = use.name === known;
    switch (known) {
      case 'command':
        found.command = r.lenient(inUse, () => readCommand(r, el, inUse), null, el);
        break;
      case 'socket':
        found.socket = r.lenient(inUse, () => readSocket(r, el, defaultWatch, inUse), null, el);
        break;
      case 'refreshCDN':
        found.refreshCDN = r.lenient(inUse, () => readRefreshCdn(r, el, defaultWatch), null, el);
        break;
      case 'http':
        found.http = r.lenient(inUse, () => readHttp(r, el, defaultWatch), null, el);
        break;
    }
  }
  if (use.name !== null && !seen.has(use.name)) {
    r.fail(
      (use.el ?? head).pos,
      `plugin "${use.name}" is switched on but the file has no <plugin name="${use.name}"> section`,
    );
  }
  return { enabled: use.enabled, name: use.name, ...found };
}
