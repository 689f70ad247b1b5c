/**
 * confxml.xml → the resolved, read-only `Config`. Reads every element and attribute sersync
 * 2.5.4 reads, with its defaults and its deliberate quirks (only "true" enables, schedule <= 0
 * means 600, one trailing slash of a watch dropped), plus sersync-ts's optional extensions.
 * Unlike sersync, a missing element takes its default, every `<localpath>` counts, and
 * anything unknown is a warning with its line and column.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { readPlugins } from './plugins.js';
import { inspectPasswordFile } from './password-file.js';
import { existingRealPath } from './real-path.js';
import { ConfigReader, type FileInspector } from './reader.js';
import {
  readDebug,
  readFileSystem,
  readFilter,
  readHost,
  readInotify,
  readStateDir,
  readVerify,
} from './sections.js';
import { readCrontab, readFailLog, readLocalPaths, readPluginSwitch, readRsync } from './sersync.js';
import type { Config, ConfigWarning } from './types.js';
import { parseXml } from './xml.js';

/**
 * Parses confxml.xml text; `file` (absolute) names it in messages and anchors relative paths.
 * With an `inspect`or, files the config names are checked too (loadConfig passes the disk's).
 */
export function parseConfig(
  xml: string,
  file: string,
  inspect: FileInspector | null = null,
  readAsLatin1 = false,
): Config {
  const { head, warnings: xmlWarnings } = parseXml(xml, file);
  const r = new ConfigReader(file, inspect, readAsLatin1);
  head.attr('version');
  const sersync = head.child('sersync');
  const { filter, tempFiles } = readFilter(r, head);
  const rsync = readRsync(r, sersync);
  const localpaths = readLocalPaths(r, head, sersync, rsync.ssh);
  const [firstTree] = localpaths;
  const config: Config = {
    file,
    host: readHost(r, head),
    debug: readDebug(r, head),
    fileSystem: readFileSystem(r, head),
    filter,
    tempFiles,
    inotify: readInotify(r, head),
    localpaths,
    rsync,
    failLog: readFailLog(r, sersync, localpaths),
    crontab: readCrontab(r, sersync, filter.enabled && filter.excludes.length > 0),
    plugin: readPlugins(r, head, readPluginSwitch(r, sersync), firstTree?.watch ?? r.dir),
    stateDir: readStateDir(r, head),
    verify: readVerify(r, head),
    warnings: [],
  };
  const warnings: ConfigWarning[] = [...xmlWarnings, ...r.warnings, ...head.leftovers()];
  return { ...config, warnings: warnings.sort((a, b) => a.line - b.line || a.column - b.column) };
}

/**
 * The file's text. sersync's files declare ISO-8859-1 but are ASCII or UTF-8 in practice; bytes
 * that are not UTF-8 are read as ISO-8859-1 (what the declaration says) with a warning.
 */
function readText(file: string): { text: string; warning: ConfigWarning | null } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    // "ENOENT: no such file or directory, open '/x'" → "ENOENT: no such file or directory"
    const why = err instanceof Error ? (err.message.split(',')[0] ?? err.message) : String(err);
    throw new ConfigError(file, 0, 0, `cannot read the config file: ${why}`);
  }
  const bom = bytes.subarray(0, 2).toString('hex');
  if (bom === 'fffe' || bom === 'feff') {
    throw new ConfigError(
      file,
      1,
      1,
      'the file is UTF-16 (it starts with a byte order mark): save it as UTF-8',
    );
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), warning: null };
  } catch {
    const message = 'the file is not UTF-8: read as ISO-8859-1; non-ASCII paths in it may not match the disk';
    return { text: bytes.toString('latin1'), warning: { line: 1, column: 1, message } };
  }
}

export function loadConfig(file: string): Config {
  const abs = resolve(file);
  const { text, warning } = readText(abs);
  const config = parseConfig(
    text,
    abs,
    {
      passwordFile: inspectPasswordFile,
      realPath: existingRealPath,
      isDirectory: (path) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true,
    },
    warning !== null,
  );
  return warning === null ? config : { ...config, warnings: [warning, ...config.warnings] };
}
