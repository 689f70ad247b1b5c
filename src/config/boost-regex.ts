/**
 * sersync matched `<exclude>`/`<include>` expressions with Boost.Regex (Perl syntax). JavaScript's
 * RegExp reads most of them alike; these are read as Boost did: `.` also matches a newline, POSIX
 * classes in brackets (`[[:digit:]]`), `\A` and `\z`/`\Z`, `\Q…\E` quoting, a leading `(?i)`.
 * What JavaScript cannot express (a possessive quantifier, an atomic group) is reported.
 */

/** A pattern for `new RegExp(source, flags)`. */
export interface JsRegex {
  readonly source: string;
  readonly flags: string;
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\s',
  upper: 'A-Z',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
};

/** `text` matched literally (inside a bracket expression when `inClass`). */
function literal(text: string, inClass: boolean): string {
  return text.replace(inClass ? /[\\\]^-]/g : /[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Boost's `expression` as a JavaScript pattern matching the whole string, or why it cannot be. */
export function wholeMatchFromBoost(expression: string): JsRegex | { readonly error: string } {
  let flags = 's';
  let rest = expression;
  const lead = /^\(\?i\)/.exec(rest);
  if (lead !== null) {
    flags += 'i';
    rest = rest.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] ?? '';
    const next = rest[i + 1];
    if (c === '\\' && next === 'Q') {
      const end = rest.indexOf('\\E', i + 2);
      out += literal(rest.slice(i + 2, end < 0 ? undefined : end), inClass);
      i = end < 0 ? rest.length : end + 1;
    } else if (c === '\\' && !inClass && (next === 'A' || next === 'z' || next === 'Z')) {
      out += next === 'A' ? '^' : '$';
      i++;
    } else if (c === '\\') {
      out += c + (next ?? '');
      i++;
    } else if (inClass && c === '[' && next === ':') {
      const end = rest.indexOf(':]', i + 2);
      const named = end < 0 ? undefined : POSIX_CLASSES[rest.slice(i + 2, end)];
      if (named === undefined) out += '\\[';
      else {
        out += named;
        i = end + 1;
      }
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
    } else if ((c === '(' && next === '?' && rest[i + 2] === '>') || ('*+?}'.includes(c) && next === '+')) {
      return { error: 'a possessive quantifier or an atomic group, which JavaScript cannot match' };
    } else if (c === '[') {
      inClass = true;
      out += c;
      // A `]` first (after a `^`) is a member, not the end.
      if (next === '^') out += rest[++i] ?? '';
      if (rest[i + 1] === ']') {
        out += '\\]';
        i++;
      }
    } else out += c;
  }
  const source = `^(?:${out})$`;
  try {
    new RegExp(source, flags);
  } catch (err) {
    // V8 says "Invalid regular expression: /src/flags: reason"; the reason is what helps.
    return {
      error:
        err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : '',
    };
  }
  return { source, flags };
}
