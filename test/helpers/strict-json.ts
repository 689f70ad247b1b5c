/**
 * JSON.parse keeps the last of two equal keys without a word; a log line with a key twice is
 * ambiguous to every tool that reads it. This parses one JSON text and throws on a duplicate key
 * (or anything JSON.parse would refuse).
 */
export function parseStrictJson(text: string): unknown {
  let i = 0;
  const ws = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${i} in ${text.slice(0, 200)}`);
  };
  const string = (): string => {
    const start = i;
    for (i++; text[i] !== '"'; i++) {
      if (i >= text.length) fail('unterminated string');
      if (text[i] === '\\') i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') return (i++, o);
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = string();
        if (keys.has(key)) fail(`duplicate key "${key}"`);
        keys.add(key);
        ws();
        if (text[i++] !== ':') fail('expected :');
        o[key] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i++] === '}') return o;
        else fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === ']') return (i++, a);
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i++] === ']') return a;
        else fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (m === null) return fail('unexpected input');
    i += m[0].length;
    return JSON.parse(m[0]) as unknown;
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing input');
  return v;
}
