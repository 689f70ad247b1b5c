/**
 * Mutations of a confxml.xml text for fuzzing the loader: elements deleted, duplicated or
 * renamed, attributes deleted, duplicated or given hostile values, the text cut, bytes sprayed,
 * nesting and entity bombs. Driven by a seeded PRNG, so a failing variant is reproducible.
 */
type Rnd = () => number;

export interface Variant {
  readonly xml: string;
  /** What was done, for the failure report. */
  readonly what: string;
}

const pick = <T>(rnd: Rnd, xs: readonly T[]): T => {
  const x = xs[Math.floor(rnd() * xs.length)];
  if (x === undefined) throw new Error('pick from an empty list');
  return x;
};

/** Values that have broken config loaders: numbers past every range, bad regexes, markup, control bytes. */
const HOSTILE_VALUES = [
  '',
  ' ',
  '99999999999999999999999999999999',
  '-1',
  '0',
  '1e309',
  'NaN',
  '0x10',
  'TRUE',
  ' true',
  '(',
  '[z-a]',
  '*',
  '(?<',
  ')(',
  '\\',
  'a{99999999999}',
  '(a+)+$',
  '(?<name>x)\\k<other>',
  '$(touch PWNED)',
  '`touch PWNED`',
  '&amp;&lt;&gt;&quot;',
  '&#0;',
  '&#x110000;',
  '&undefined;',
  '\u0000',
  '\u0007\u001b[31m',
  '\uFFFD\uD800',
  'x'.repeat(100_000),
  '/'.repeat(5000),
  '../../../../etc/passwd',
  '"unbalanced',
  "' single",
  '<not a tag>',
  '* * * * *',
  '61 25 * * *',
];

interface Span {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/** Every element as the text span from its start tag to the end of its end tag (or of `/>`). */
function elements(xml: string): Span[] {
  const spans: Span[] = [];
  const open: { name: string; start: number }[] = [];
  const tag = /<(\/?)([A-Za-z_][\w.-]*)[^>]*?(\/?)>/g;
  for (let m = tag.exec(xml); m !== null; m = tag.exec(xml)) {
    const [all, close, name = '', self] = m;
    if (self === '/') spans.push({ start: m.index, end: m.index + all.length, name });
    else if (close === '') open.push({ name, start: m.index });
    else {
      // Usually the innermost open element; a stray end tag closes the nearest of its name.
      let at = open.length - 1;
      while (at >= 0 && open[at]?.name !== name) at--;
      if (at < 0) continue;
      const [o] = open.splice(at);
      if (o !== undefined) spans.push({ start: o.start, end: m.index + all.length, name });
    }
  }
  return spans;
}

/** Every attribute `name="value"` as the span of its value (without quotes) and of the whole. */
function attributes(xml: string): { readonly whole: Span; readonly value: Span }[] {
  const out: { whole: Span; value: Span }[] = [];
  const attr = /\s([A-Za-z_][\w.-]*)="([^"]*)"/g;
  for (let m = attr.exec(xml); m !== null; m = attr.exec(xml)) {
    const [all, name = '', value = ''] = m;
    const valueStart = m.index + all.length - 1 - value.length;
    out.push({
      whole: { start: m.index, end: m.index + all.length, name },
      value: { start: valueStart, end: valueStart + value.length, name },
    });
  }
  return out;
}

const splice = (xml: string, s: { start: number; end: number }, text: string): string =>
  xml.slice(0, s.start) + text + xml.slice(s.end);

type Mutation = (xml: string, rnd: Rnd) => Variant;

const MUTATIONS: readonly Mutation[] = [
  (xml, rnd) => {
    const e = pick(rnd, elements(xml));
    return { xml: splice(xml, e, ''), what: `deleted <${e.name}>` };
  },
  (xml, rnd) => {
    const e = pick(rnd, elements(xml));
    const text = xml.slice(e.start, e.end);
    return { xml: splice(xml, e, text + text), what: `duplicated <${e.name}>` };
  },
  (xml, rnd) => {
    const e = pick(rnd, elements(xml));
    const name = pick(rnd, ['x', 'Sersync', 'localPath', 'remote', 'plugin', 'head', 'a b', '1st']);
    const at = { start: e.start + 1, end: e.start + 1 + e.name.length };
    return { xml: splice(xml, at, name), what: `renamed the start tag <${e.name}> to <${name}>` };
  },
  (xml, rnd) => {
    const a = pick(rnd, attributes(xml));
    return { xml: splice(xml, a.whole, ''), what: `deleted attribute ${a.whole.name}` };
  },
  (xml, rnd) => {
    const a = pick(rnd, attributes(xml));
    const text = xml.slice(a.whole.start, a.whole.end);
    return { xml: splice(xml, a.whole, text + text), what: `duplicated attribute ${a.whole.name}` };
  },
  (xml, rnd) => {
    const a = pick(rnd, attributes(xml));
    const v = pick(rnd, HOSTILE_VALUES);
    return { xml: splice(xml, a.value, v), what: `${a.value.name}=${JSON.stringify(v.slice(0, 40))}` };
  },
  (xml, rnd) => {
    const at = Math.floor(rnd() * xml.length);
    return { xml: xml.slice(0, at), what: `cut at ${at}` };
  },
  (xml, rnd) => {
    let out = xml;
    const n = 1 + Math.floor(rnd() * 8);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(rnd() * out.length);
      out =
        out.slice(0, at) +
        pick(rnd, ['<', '>', '"', "'", '&', '/', '=', '\u0000', '\n', ']]>', '<!--']) +
        out.slice(at);
    }
    return { xml: out, what: `${n} stray characters` };
  },
  (xml, rnd) => {
    const depth = pick(rnd, [200, 5000]);
    const e = pick(rnd, elements(xml));
    return {
      xml: splice(xml, { start: e.end, end: e.end }, '<n>'.repeat(depth) + '</n>'.repeat(depth)),
      what: `${depth} nested elements after <${e.name}>`,
    };
  },
  (xml) => ({
    xml: xml
      .replace(
        /<head/,
        '<!DOCTYPE head [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' +
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">' +
          '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>\n<head',
      )
      .replace(/hostip="[^"]*"/, 'hostip="&f;"'),
    what: 'an entity expansion bomb',
  }),
  (xml, rnd) => {
    const e = pick(rnd, elements(xml));
    return {
      xml: splice(xml, { start: e.start, end: e.start }, '<?pi x?><![CDATA[<head>]]>'),
      what: 'a PI and CDATA',
    };
  },
];

/** One to three random mutations of `xml` (one that finds nothing to work on is skipped). */
export function mutate(xml: string, rnd: Rnd): Variant {
  let v: Variant = { xml, what: '' };
  const n = 1 + Math.floor(rnd() * 3);
  const done: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = pick(rnd, MUTATIONS);
    if (elements(v.xml).length === 0 || attributes(v.xml).length === 0) break;
    v = m(v.xml, rnd);
    done.push(v.what);
  }
  return { xml: v.xml, what: done.join('; ') };
}
