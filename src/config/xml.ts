/**
 * confxml.xml text → a tree of elements that know where they sit in the file (line:column for
 * every element and attribute) and which of their parts the loader consumed, so that anything
 * left over can be reported as an unknown element or attribute instead of being silently ignored.
 *
 * The file is read by the rules of the parser sersync 2.5.4 was built with (Frank Vanden Berghen's
 * XMLParser 2.41), not by the XML standard: a file sersync started with must load here too. Where
 * those rules accept what XML refuses (a value without quotes, a name in another case, text
 * outside the root…), the file loads with a warning at that place; what XMLParser refused (a bare
 * `&`, a tag left open at the end, a close tag that closes another element) is refused here too.
 */
import { ConfigError } from '../errors.js';
import type { ConfigWarning } from './types.js';
import { XML_LIMITS } from './limits.js';

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface XmlAttribute {
  /** As written; the loader looks names up regardless of case, as sersync did. */
  readonly name: string;
  readonly value: string;
  readonly pos: Position;
}

export class XmlElement {
  /** Attribute names the loader asked for (known, even when the value was not needed), by lower case. */
  private readonly askedAttrs = new Map<string, string>();
  /** Child names asked for as a single element (later repeats are duplicates) or as a list. */
  private readonly askedOne = new Map<string, string>();
  private readonly askedMany = new Map<string, string>();

  constructor(
    /** As written. */
    readonly name: string,
    readonly pos: Position,
    /** By lower-case name; the first of a repeated attribute (sersync read the first). */
    private readonly attrs: ReadonlyMap<string, XmlAttribute>,
    private readonly kids: readonly XmlElement[],
    /** The first non-blank text inside it and where it starts (sersync never reads text), or null. */
    private readonly text: { readonly pos: Position; readonly excerpt: string } | null,
  ) {}

  /** The attribute, or undefined when absent; either way the name counts as known. */
  attr(name: string): XmlAttribute | undefined {
    const key = name.toLowerCase();
    this.askedAttrs.set(key, name);
    return this.attrs.get(key);
  }

  /** The first child of that name (sersync reads the first; repeats are reported). */
  child(name: string): XmlElement | undefined {
    const key = name.toLowerCase();
    this.askedOne.set(key, name);
    return this.kids.find((k) => k.name.toLowerCase() === key);
  }

  /** Every child of that name, in document order. */
  children(name: string): XmlElement[] {
    const key = name.toLowerCase();
    this.askedMany.set(key, name);
    return this.kids.filter((k) => k.name.toLowerCase() === key);
  }

  /** Marks the whole subtree as handled (a section that is skipped as a whole, with its own warning). */
  markHandled(): void {
    for (const a of this.attrs.values()) this.askedAttrs.set(a.name.toLowerCase(), a.name);
    for (const k of this.kids) {
      this.askedMany.set(k.name.toLowerCase(), k.name);
      k.markHandled();
    }
  }

  /** Everything in this subtree that the loader never asked for, as warnings in document order. */
  leftovers(): ConfigWarning[] {
    const out: ConfigWarning[] = [];
    for (const a of this.attrs.values()) {
      const asked = this.askedAttrs.get(a.name.toLowerCase());
      if (asked === undefined) {
        out.push({ ...a.pos, message: `unknown attribute "${a.name}" on <${this.name}> ignored` });
      } else if (asked !== a.name) {
        out.push({ ...a.pos, message: caseMessage(`"${a.name}"`, `"${asked}"`) });
      }
    }
    if (this.text !== null) {
      out.push({ ...this.text.pos, message: `text ${this.text.excerpt} inside <${this.name}> ignored` });
    }
    const seen = new Map<string, XmlElement>();
    for (const k of this.kids) {
      const key = k.name.toLowerCase();
      const first = seen.get(key);
      const asked = this.askedMany.get(key) ?? this.askedOne.get(key);
      if (asked !== undefined && asked !== k.name) {
        out.push({ ...k.pos, message: caseMessage(`<${k.name}>`, `<${asked}>`) });
      }
      if (this.askedMany.has(key)) {
        out.push(...k.leftovers());
      } else if (asked === undefined) {
        out.push({ ...k.pos, message: `unknown element <${k.name}> inside <${this.name}> ignored` });
      } else if (first === undefined) {
        seen.set(key, k);
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

function caseMessage(written: string, known: string): string {
  return `${written} is read as ${known}: names match regardless of case (as in sersync)`;
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

/** XMLParser's white space: these four only. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Sections whose content is not parsed, and how each ends (XMLParser's "clear tags"). */
const CLEAR = [
  { open: '<!--', close: '-->', what: 'comment', isText: false },
  { open: '<![CDATA[', close: ']]>', what: 'CDATA section', isText: true },
  { open: '<!DOCTYPE', close: '>', what: '<!DOCTYPE>', isText: false },
  { open: '<PRE>', close: '</PRE>', what: '<PRE> section', isText: true },
] as const;

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** An element being read: what becomes an XmlElement at its close. */
interface Open {
  readonly name: string;
  readonly at: number;
  readonly attrs: Map<string, XmlAttribute>;
  readonly kids: XmlElement[];
  textAt: number | null;
}

class Reader {
  i = 0;
  readonly warnings: ConfigWarning[] = [];
  private readonly where: (index: number) => Position;
  private elements = 0;

  constructor(
    readonly text: string,
    private readonly file: string,
  ) {
    this.where = positionFinder(text);
  }

  pos(at: number): Position {
    return this.where(at);
  }

  fail(at: number, detail: string): never {
    const { line, column } = this.where(at);
    throw new ConfigError(this.file, line, column, `malformed XML: ${detail}`);
  }

  warn(at: number, message: string): void {
    this.warnings.push({ ...this.where(at), message });
  }

  private at(): string | undefined {
    return this.text[this.i];
  }

  private startsWith(s: string): boolean {
    return this.text.startsWith(s, this.i);
  }

  /** Skips white space; true when there was some. */
  private skipSpace(): boolean {
    const from = this.i;
    while (isSpace(this.text[this.i])) this.i++;
    return this.i > from;
  }

  /** XMLParser's unquoted word: up to white space, `<`, `>`, `=` or a `/` that starts `/>`. */
  private word(): string {
    const from = this.i;
    for (let c = this.at(); c !== undefined; c = this.at()) {
      if (isSpace(c) || c === '<' || c === '>' || c === '=') break;
      if (c === '/' && this.text[this.i + 1] === '>') break;
      this.i++;
    }
    return this.text.slice(from, this.i);
  }

  /** Text with its references replaced: the five XML names (any case) and &#N; / &#xN;. */
  decode(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(
      /&(#[xX][0-9A-Fa-f]+|#\d+|[A-Za-z]+)?(;?)/g,
      (ref, name: string | undefined, semi, offset: number) => {
        const where = at + offset;
        if (name !== undefined && semi === ';') {
          if (name.startsWith('#')) {
            const code =
              name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1));
            if (code <= 0x10ffff) return String.fromCodePoint(code);
          } else {
            const char = NAMED_ENTITIES[name.toLowerCase()];
            if (char !== undefined) {
              if (name !== name.toLowerCase())
                this.warn(where, `${ref} is read as &${name.toLowerCase()}; (as sersync did)`);
              return char;
            }
          }
        }
        const shown = ref.length > 1 ? ref : '&';
        return this.fail(
          where,
          `"${shown}" is not a character reference: write a literal & as &amp; (sersync refused this file too)`,
        );
      },
    );
  }

  /**
   * An attribute value after `=`: quoted with " or ', or XMLParser's unquoted word. A quote that
   * is not closed before the next `<` does not end the value: XMLParser then reads a word that
   * starts with the quote, and so does this.
   */
  private value(name: string, nameAt: number, tag: string): string {
    const at = this.i;
    const c = this.at();
    if (c === '"' || c === "'") {
      const close = this.text.indexOf(c, at + 1);
      const lt = this.text.indexOf('<', at + 1);
      if (close >= 0 && (lt < 0 || close < lt)) {
        this.i = close + 1;
        return this.decode(this.text.slice(at + 1, close), at + 1);
      }
      this.i++;
      const raw = c + this.word();
      this.warn(
        at,
        `the ${c} quote of ${name}= on <${tag}> is not closed before the next "<": the value is ${JSON.stringify(raw)} (as sersync read it)`,
      );
      return this.decode(raw, at);
    }
    if (c === undefined || c === '<' || c === '>' || c === '=' || this.startsWith('/>')) {
      return this.fail(at, `${name}= on <${tag}> has no value (expected "…" after the =)`);
    }
    const raw = this.word();
    this.warn(
      nameAt,
      `the value of ${name}= on <${tag}> has no quotes: read as ${JSON.stringify(raw)} (as sersync did); write ${name}="${raw}"`,
    );
    return this.decode(raw, at);
  }

  /** A start tag from its `<`: the name and attributes; `selfClosing` for `<x …/>`. */
  startTag(lt: number): { open: Open; selfClosing: boolean } {
    if (++this.elements > XML_LIMITS.elements) {
      this.fail(lt, `more than ${XML_LIMITS.elements} elements (the limit, see docs/configuration.md)`);
    }
    this.i = lt + 1;
    if (this.skipSpace()) this.warn(lt, 'white space after "<" ignored (as sersync did)');
    const c = this.at();
    if (c === undefined || c === '"' || c === "'" || c === '>' || c === '=' || this.startsWith('/>')) {
      this.fail(lt, 'an element name was expected after "<"');
    }
    const name = this.word();
    const open: Open = { name, at: lt, attrs: new Map(), kids: [], textAt: null };
    for (;;) {
      this.skipSpace();
      const next = this.at();
      if (next === undefined) this.fail(lt, `the file ends inside the start tag <${name}>`);
      if (next === '>') {
        this.i++;
        return { open, selfClosing: false };
      }
      if (this.startsWith('/>')) {
        this.i += 2;
        return { open, selfClosing: true };
      }
      if (next === '"' || next === "'" || next === '=' || next === '<') {
        this.fail(this.i, `unexpected ${next} in <${name}>: an attribute name, ">" or "/>" was expected`);
      }
      const nameAt = this.i;
      const attr = this.word();
      this.skipSpace();
      if (this.at() !== '=') {
        this.warn(
          nameAt,
          `attribute "${attr}" on <${name}> has no value: ignored (sersync stopped when it read one)`,
        );
        continue;
      }
      this.i++;
      this.skipSpace();
      const written = this.value(attr, nameAt, name);
      const value = written.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      if (value !== written) {
        this.warn(
          nameAt,
          `the spaces around the value of ${attr}= on <${name}> are dropped: read as ${JSON.stringify(value)}`,
        );
      }
      if (value.length > XML_LIMITS.valueChars) {
        this.fail(
          nameAt,
          `the value of ${attr}= is ${value.length} characters long (the limit is ${XML_LIMITS.valueChars})`,
        );
      }
      const key = attr.toLowerCase();
      const first = open.attrs.get(key);
      if (first !== undefined) {
        this.warn(
          nameAt,
          `duplicate attribute "${attr}" on <${name}> ignored: the first one (column ${first.pos.column}) is used`,
        );
      } else {
        open.attrs.set(key, { name: attr, value, pos: this.where(nameAt) });
      }
    }
  }

  /** A close tag from its `</`: the name it closes. */
  endTag(lt: number): string {
    this.i = lt + 2;
    if (this.skipSpace()) this.warn(lt, 'white space after "</" ignored (as sersync did)');
    const name = this.word();
    if (name === '') this.fail(lt, 'an element name was expected after "</"');
    this.skipSpace();
    if (this.at() !== '>') this.fail(this.i, `">" was expected to end </${name}`);
    this.i++;
    return name;
  }

  /** A section that is not parsed, from its opening; the text it holds when it counts as text. */
  clear(lt: number, section: (typeof CLEAR)[number]): boolean {
    let end: number;
    let closeLength: number = section.close.length;
    if (section.open === '<!DOCTYPE') {
      // XMLParser: up to the first ">", or to "]>" when a "<" comes first (an internal subset).
      const gt = this.text.indexOf('>', lt);
      const inner = this.text.indexOf('<', lt + 1);
      end = inner >= 0 && (gt < 0 || inner < gt) ? this.text.indexOf(']>', lt) : gt;
      closeLength = end === gt ? 1 : 2;
      if (end >= 0 && this.text.slice(lt, end).includes('[')) {
        this.warn(lt, 'the declarations in <!DOCTYPE> are not applied (as in sersync)');
      }
    } else {
      end = this.text.indexOf(section.close, lt + section.open.length);
    }
    if (end < 0) this.fail(lt, `the ${section.what} that starts here is never closed (${section.close})`);
    this.i = end + closeLength;
    return section.isText && end > lt + section.open.length;
  }

  /** Text between tags: blank, or noted on `open` (null: outside every element). */
  textRun(from: number, to: number, open: Open | null): void {
    const run = this.text.slice(from, to);
    const lead = run.search(/[^ \t\r\n]/);
    if (lead < 0) return;
    this.decode(run, from);
    this.noteText(from + lead, open);
  }

  noteText(at: number, open: Open | null): void {
    if (open === null) this.warn(at, `text ${this.excerpt(at)} outside <head> ignored`);
    else open.textAt ??= at;
  }

  /** The text from `at` to the end of its line or the next tag, quoted and shortened. */
  excerpt(at: number): string {
    const line = /^[^\n<]*/.exec(this.text.slice(at, at + 200))?.[0].trimEnd() ?? '';
    return JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line);
  }

  /** Every top-level element of the document, built. */
  document(): XmlElement[] {
    const top: XmlElement[] = [];
    const stack: Open[] = [];
    const close = (o: Open): void => {
      const text = o.textAt === null ? null : { pos: this.where(o.textAt), excerpt: this.excerpt(o.textAt) };
      const el = new XmlElement(o.name, this.where(o.at), o.attrs, o.kids, text);
      (stack.at(-1)?.kids ?? top).push(el);
    };
    for (;;) {
      const from = this.i;
      const lt = this.text.indexOf('<', from);
      this.textRun(from, lt < 0 ? this.text.length : lt, stack.at(-1) ?? null);
      if (lt < 0) break;
      this.i = lt;
      const section = CLEAR.find((s) => this.startsWith(s.open));
      if (section !== undefined) {
        if (this.clear(lt, section)) this.noteText(lt, stack.at(-1) ?? null);
      } else if (this.startsWith('<?')) {
        const gt = this.text.indexOf('>', lt);
        if (gt < 0) this.fail(lt, 'the <?…?> that starts here is never closed');
        if (this.text.slice(0, lt).trim() !== '') this.warn(lt, '<?…?> ignored');
        this.i = gt + 1;
      } else if (this.startsWith('</')) {
        const name = this.endTag(lt);
        const open = stack.pop();
        if (open === undefined) this.fail(lt, `</${name}> closes no element`);
        if (open.name.toLowerCase() !== name.toLowerCase()) {
          const { line, column } = this.where(open.at);
          this.fail(
            lt,
            `</${name}> does not close <${open.name}> (line ${line}, column ${column}); sersync refused this too`,
          );
        }
        if (open.name !== name)
          this.warn(lt, `</${name}> closes <${open.name}>: names match regardless of case (as in sersync)`);
        close(open);
      } else {
        const { open, selfClosing } = this.startTag(lt);
        if (stack.length >= XML_LIMITS.depth) {
          this.fail(lt, `elements nested more than ${XML_LIMITS.depth} deep`);
        }
        if (selfClosing) close(open);
        else stack.push(open);
      }
    }
    const unclosed = stack.at(-1);
    if (unclosed !== undefined) {
      const { line, column } = this.where(unclosed.at);
      this.fail(
        this.text.length,
        `the file ends before <${unclosed.name}> (line ${line}, column ${column}) is closed; sersync refused this too`,
      );
    }
    return top;
  }
}

export interface ParsedXml {
  readonly head: XmlElement;
  /** Where the file relies on XMLParser's leniency, and what it leaves out. */
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Parses confxml.xml text. Throws ConfigError for what sersync's parser refused and for a file
 * without a `<head>` element; everything else is the loader's business.
 */
export function parseXml(xml: string, file: string): ParsedXml {
  const full = xml.startsWith('\uFEFF') ? xml.slice(1) : xml;
  if (full.length > XML_LIMITS.fileChars) {
    new Reader(full, file).fail(
      XML_LIMITS.fileChars,
      `the file is longer than ${XML_LIMITS.fileChars} characters (the limit, see docs/configuration.md)`,
    );
  }
  // XMLParser reads a C string: it stops at the first NUL byte.
  const nul = full.indexOf('\0');
  const top = new Reader(nul < 0 ? full : full.slice(0, nul), file);
  if (nul >= 0) top.warn(nul, 'a NUL byte: the rest of the file is ignored (as sersync did)');
  const template = top.text.search(/\{\{|\{%/);
  if (template >= 0) {
    top.warn(
      template,
      'template syntax ({{ … }} or {% … %}): this looks like a template that was never rendered',
    );
  }
  const elements = top.document();
  const head = elements.find((e) => e.name.toLowerCase() === 'head');
  if (head === undefined) {
    const [first] = elements;
    if (first === undefined) return top.fail(0, 'no <head> element (the file has no element at all)');
    throw new ConfigError(
      file,
      first.pos.line,
      first.pos.column,
      `the root element must be <head> (sersync's confxml.xml), found <${first.name}>`,
    );
  }
  const others = elements
    .filter((e) => e !== head)
    .map((e) => ({ ...e.pos, message: `<${e.name}> outside <head> ignored (sersync read only <head>)` }));
  const named =
    head.name === 'head' ? [] : [{ ...head.pos, message: caseMessage(`<${head.name}>`, '<head>') }];
  return { head, warnings: [...top.warnings, ...named, ...others] };
}
