/**
 * confxml.xml text → a tree of elements that know where they sit in the file (line:column for
 * every element and attribute) and which of their parts the loader consumed, so that anything
 * left over can be reported as an unknown element or attribute instead of being silently ignored.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConfigError } from '../errors.js';
import type { ConfigWarning } from './types.js';

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface XmlAttribute {
  readonly name: string;
  readonly value: string;
  readonly pos: Position;
}

/** Elements that may repeat, by their path below the document (fast-xml-parser's jPath). */
const REPEATABLE = new Set([
  'head.filter.exclude',
  'head.sersync.localpath',
  'head.sersync.localpath.remote',
  'head.sersync.crontab.crontabfilter.exclude',
  'head.plugin',
  'head.plugin.filter.include',
]);

const TEXT = '#text';

export class XmlElement {
  /** Attribute names the loader asked for (known, even when the value was not needed). */
  private readonly askedAttrs = new Set<string>();
  /** Child names asked for as a single element (later repeats are duplicates) or as a list. */
  private readonly askedOne = new Set<string>();
  private readonly askedMany = new Set<string>();

  constructor(
    readonly name: string,
    readonly pos: Position,
    private readonly attrs: ReadonlyMap<string, XmlAttribute>,
    private readonly kids: readonly XmlElement[],
    private readonly text: string,
  ) {}

  /** The attribute, or undefined when absent; either way the name counts as known. */
  attr(name: string): XmlAttribute | undefined {
    this.askedAttrs.add(name);
    return this.attrs.get(name);
  }

  /** The first child of that name (sersync reads the first; repeats are reported). */
  child(name: string): XmlElement | undefined {
    this.askedOne.add(name);
    return this.kids.find((k) => k.name === name);
  }

  /** Every child of that name, in document order. */
  children(name: string): XmlElement[] {
    this.askedMany.add(name);
    return this.kids.filter((k) => k.name === name);
  }

  /** Marks the whole subtree as handled (a section that is skipped as a whole, with its own warning). */
  markHandled(): void {
    for (const name of this.attrs.keys()) this.askedAttrs.add(name);
    for (const k of this.kids) {
      this.askedMany.add(k.name);
      k.markHandled();
    }
  }

  /** Everything in this subtree that the loader never asked for, as warnings in document order. */
  leftovers(): ConfigWarning[] {
    const out: ConfigWarning[] = [];
    for (const a of this.attrs.values()) {
      if (!this.askedAttrs.has(a.name)) {
        out.push({ ...a.pos, message: `unknown attribute "${a.name}" on <${this.name}> ignored` });
      }
    }
    if (this.text !== '') {
      out.push({ ...this.pos, message: `text inside <${this.name}> ignored` });
    }
    const seen = new Map<string, XmlElement>();
    for (const k of this.kids) {
      const first = seen.get(k.name);
      if (this.askedMany.has(k.name)) {
        out.push(...k.leftovers());
      } else if (!this.askedOne.has(k.name)) {
        out.push({ ...k.pos, message: `unknown element <${k.name}> inside <${this.name}> ignored` });
      } else if (first === undefined) {
        seen.set(k.name, k);
        out.push(...k.leftovers());
      } else {
        out.push({
          ...k.pos,
          message: `duplicate <${k.name}> ignored: the first one (line ${first.pos.line}) is used`,
        });
      }
    }
    return out.sort((a, b) => a.line - b.line || a.column - b.column);
  }
}

/** Maps a character index of the text to a 1-based line and column. */
function positionFinder(text: string): (index: number) => Position {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return (index) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= index) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: index - (lineStarts[lo] ?? 0) + 1 };
  };
}

/**
 * Where each attribute name starts inside the start tag that begins at `start` (the `<`).
 * The document is already validated, so quotes are balanced and names are well formed.
 */
function attributeOffsets(text: string, start: number): Map<string, number> {
  const found = new Map<string, number>();
  const nameEnd = /[\s/>]/g;
  nameEnd.lastIndex = start;
  nameEnd.exec(text);
  const attr = /\s+([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')|\s*\/?>/y;
  attr.lastIndex = nameEnd.lastIndex - 1;
  for (let m = attr.exec(text); m?.[1] !== undefined; m = attr.exec(text)) {
    found.set(m[1], m.index + m[0].length - m[0].trimStart().length);
  }
  return found;
}

type RawNode = Record<string | symbol, unknown>;

const META = XMLParser.getMetaDataSymbol() as symbol;

function isNode(v: unknown): v is RawNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** confxml.xml nests five levels deep; far deeper is a damaged or hostile file. */
const MAX_DEPTH = 64;

/** Where in `text` the parser's complaint points: a position it names, the thing it quotes, or the start. */
function parserErrorIndex(text: string, message: string): number {
  const at = /position (\d+)/.exec(message)?.[1];
  if (at !== undefined) return Number(at);
  if (/nested tags/.test(message)) return depthExceededAt(text);
  if (/DOCTYPE|entit/i.test(message)) return Math.max(0, text.lastIndexOf('<!DOCTYPE'));
  const quoted = /"([^"]+)"/.exec(message)?.[1];
  return quoted === undefined ? 0 : Math.max(0, text.indexOf(quoted));
}

/** The start tag that first goes deeper than MAX_DEPTH (the text is well formed). */
function depthExceededAt(text: string): number {
  const tag = /<(\/?)[A-Za-z_][^>]*?(\/?)>/g;
  let depth = 0;
  for (let m = tag.exec(text); m !== null; m = tag.exec(text)) {
    if (m[1] === '/') depth--;
    else if (m[2] !== '/' && ++depth > MAX_DEPTH) return m.index;
  }
  return 0;
}

/**
 * Parses and validates confxml.xml text. Throws ConfigError for malformed XML and for a root
 * element other than `<head>`; everything else is the loader's business.
 */
export function parseXml(xml: string, file: string): XmlElement {
  const text = xml.startsWith('\uFEFF') ? xml.slice(1) : xml;
  // Deprecated in favour of a separate package, but shipped in 5.12.1 and the one validator here.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    // The typings promise a column, but "Start tag expected." (an empty file) comes without one.
    const column = Number.isInteger(valid.err.col) ? valid.err.col : 1;
    throw new ConfigError(file, valid.err.line, column, `malformed XML: ${valid.err.msg}`);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    htmlEntities: true,
    alwaysCreateTextNode: true,
    captureMetaData: true,
    isArray: (_name, jpath, _isLeaf, isAttribute) => !isAttribute && REPEATABLE.has(String(jpath)),
    maxNestedTags: MAX_DEPTH,
  });
  const where = positionFinder(text);
  let doc: RawNode;
  try {
    doc = parser.parse(text) as RawNode;
  } catch (err) {
    // Well-formed, but past one of the parser's own limits (nesting depth, DOCTYPE and entity
    // rules, names such as __proto__): still a fault of the file, reported with a position.
    const message = err instanceof Error ? err.message : String(err);
    const { line, column } = where(parserErrorIndex(text, message));
    throw new ConfigError(file, line, column, `malformed XML: ${message}`);
  }

  const build = (name: string, node: RawNode): XmlElement => {
    const meta = node[META] as { startIndex?: number } | undefined;
    const start = meta?.startIndex ?? 0;
    const offsets = attributeOffsets(text, start);
    const attrs = new Map<string, XmlAttribute>();
    const kids: XmlElement[] = [];
    let body = '';
    for (const [key, value] of Object.entries(node)) {
      if (key === TEXT) body = String(value).trim();
      else if (typeof value === 'string') {
        attrs.set(key, { name: key, value, pos: where(offsets.get(key) ?? start) });
      } else {
        for (const v of Array.isArray(value) ? value : [value]) if (isNode(v)) kids.push(build(key, v));
      }
    }
    kids.sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column);
    return new XmlElement(name, where(start), attrs, kids, body);
  };

  const roots = Object.entries(doc).flatMap(([name, v]) =>
    (Array.isArray(v) ? v : [v]).filter(isNode).map((n) => build(name, n)),
  );
  const [root, extra] = roots;
  if (root === undefined) throw new ConfigError(file, 1, 1, 'malformed XML: no root element');
  if (extra !== undefined) {
    throw new ConfigError(
      file,
      extra.pos.line,
      extra.pos.column,
      'malformed XML: more than one root element',
    );
  }
  if (root.name !== 'head') {
    throw new ConfigError(
      file,
      root.pos.line,
      root.pos.column,
      `the root element must be <head> (sersync's confxml.xml), found <${root.name}>`,
    );
  }
  return root;
}
