/**
 * Reading typed values out of attributes with sersync's semantics, reporting every problem
 * with the file, line and column of the attribute (or of the element when it is missing).
 */
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { wholeMatchFromBoost } from './boost-regex.js';
import type { ExcludeRule, ConfigWarning } from './types.js';
import { splitWords } from './words.js';
import type { Position, XmlAttribute, XmlElement } from './xml.js';

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

export const PORT: IntRange = { min: 1, max: 65535 };
export const NON_NEGATIVE: IntRange = { min: 0, max: Number.MAX_SAFE_INTEGER };
export const POSITIVE: IntRange = { min: 1, max: Number.MAX_SAFE_INTEGER };

/** Looks at files the config names (loadConfig); parsing text alone never touches the disk. */
export interface FileInspector {
  /** What is wrong with this rsync password file, for the daemon user `user`, or null. */
  passwordFile(path: string, user: string): string | null;
  /** The path with its symbolic links resolved (as far as it exists). */
  realPath(path: string): string;
  /** Whether a directory is there (following links). */
  isDirectory(path: string): boolean;
}

export class ConfigReader {
  readonly warnings: ConfigWarning[] = [];
  /** Relative paths in the file resolve against its directory (sersync used the cwd). */
  readonly dir: string;

  constructor(
    readonly file: string,
    readonly inspect: FileInspector | null = null,
    /** The file was not UTF-8 and was read as ISO-8859-1: its non-ASCII paths may name nothing on disk. */
    readonly readAsLatin1 = false,
  ) {
    this.dir = dirname(file);
  }

  fail(pos: Position, detail: string): never {
    throw new ConfigError(this.file, pos.line, pos.column, detail);
  }

  warn(pos: Position, message: string): void {
    this.warnings.push({ line: pos.line, column: pos.column, message });
  }

  /**
   * Problems in a part that is switched off (a filter with start="false", a plugin section no
   * one enables) were never seen by sersync, so they must not stop the program: they become
   * warnings and the part takes `fallback`. `part`, when given, is the element the reading
   * abandoned: what it did not get to is not reported again as unknown.
   */
  lenient<T>(enabled: boolean, read: () => T, fallback: T, part?: XmlElement): T {
    try {
      return read();
    } catch (err) {
      if (enabled || !(err instanceof ConfigError)) throw err;
      part?.markHandled();
      this.warn({ line: err.line, column: err.column }, `${err.detail} (ignored: this part is not enabled)`);
      return fallback;
    }
  }

  /** sersync's toggle: only the exact string `true` enables; other spellings are flagged. */
  toggle(el: XmlElement | undefined, name: string, fallback: boolean): boolean {
    const a = el?.attr(name);
    if (a === undefined) return fallback;
    if (a.value !== 'true' && a.value !== 'false') {
      this.warn(a.pos, `${name}="${a.value}" means false: only the exact string "true" enables`);
    }
    return a.value === 'true';
  }

  text(el: XmlElement | undefined, name: string, fallback: string): string {
    return el?.attr(name)?.value ?? fallback;
  }

  /** An attribute that must be present and non-empty. */
  required(el: XmlElement, name: string, why = ''): XmlAttribute {
    const a = el.attr(name);
    if (a === undefined) this.fail(el.pos, `<${el.name}> is missing its ${name}="…" attribute${why}`);
    if (a.value === '') this.fail(a.pos, `<${el.name}> ${name}="" is empty${why}`);
    return a;
  }

  integer(el: XmlElement | undefined, name: string, fallback: number, range: IntRange): number {
    const a = el?.attr(name);
    return a === undefined ? fallback : this.parseInteger(a, range);
  }

  parseInteger(a: XmlAttribute, range: IntRange): number {
    const n = /^\d+$/.test(a.value) ? Number(a.value) : Number.NaN;
    if (!(n >= range.min && n <= range.max)) {
      const bounds =
        range.max === Number.MAX_SAFE_INTEGER ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
      this.fail(a.pos, `${a.name}="${a.value}" must be a whole number ${bounds}`);
    }
    return n;
  }

  choice<T extends string>(el: XmlElement | undefined, name: string, choices: readonly T[], fallback: T): T {
    const a = el?.attr(name);
    if (a === undefined) return fallback;
    const found = choices.find((c) => c === a.value);
    if (found === undefined) {
      this.fail(a.pos, `${name}="${a.value}" must be one of ${choices.map((c) => `"${c}"`).join(', ')}`);
    }
    return found;
  }

  /** A path attribute, absolute; relative values resolve against the config file's directory. */
  path(el: XmlElement | undefined, name: string, fallback: string): string {
    const a = el?.attr(name);
    return this.resolvePath(a === undefined || a.value === '' ? fallback : a.value);
  }

  resolvePath(value: string): string {
    return resolve(this.dir, value);
  }

  /**
   * sersync's `<exclude>`/`<include>`: a Boost regex that must match the whole string. One that
   * cannot be used is skipped with a warning, as sersync skipped it ("regular expression error").
   */
  wholeMatch(a: XmlAttribute): ExcludeRule | null {
    const js = wholeMatchFromBoost(a.value);
    if ('source' in js) return { expression: a.value, regex: new RegExp(js.source, js.flags) };
    this.warn(
      a.pos,
      `${a.name}="${a.value}" is not a regular expression sersync could use (${js.error}): skipped, ` +
        'as sersync skipped it; it matches nothing (a glob like *.log is written (.*)\\.log)',
    );
    return null;
  }

  regex(a: XmlAttribute, source = a.value): RegExp {
    try {
      new RegExp(a.value);
      return new RegExp(source);
    } catch (err) {
      // V8 says "Invalid regular expression: /src/flags: reason"; the reason is what helps.
      const reason =
        err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : '';
      return this.fail(a.pos, `invalid regular expression "${a.value}": ${reason}`);
    }
  }

  /** A command-line fragment split into words like a shell would, without running one. */
  words(a: XmlAttribute): string[] {
    const split = splitWords(a.value);
    if (!split.ok) this.fail(a.pos, `${a.name}="${a.value}": ${split.problem}`);
    return split.words;
  }
}
