/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: it throws on
 * anything the format does not allow (names, label syntax and escapes, values, HELP/TYPE placement,
 * families split apart, duplicate series) and returns the families it read.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  type: string | null;
  help: string | null;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, MetricFamily>();
  const series = new Set<string>();
  let current: string | null = null;
  const family = (name: string, lineNo: number): MetricFamily => {
    if (!METRIC_NAME.test(name)) throw new Error(`line ${lineNo}: bad metric name ${name}`);
    if (current !== name && families.has(name))
      throw new Error(`line ${lineNo}: ${name} appears again after another family`);
    current = name;
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { type: null, help: null, samples: [] }));
    return f;
  };
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const lineNo = i + 1;
      if (line === '') return;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta !== null) {
        const [, kind, name = '', rest = ''] = meta;
        const f = family(name, lineNo);
        if (kind === 'HELP') {
          if (f.help !== null) throw new Error(`line ${lineNo}: second HELP for ${name}`);
          for (const e of rest.matchAll(/\\(.?)/g))
            if (e[1] !== '\\' && e[1] !== 'n') throw new Error(`line ${lineNo}: bad escape in HELP`);
          f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
        } else {
          if (f.type !== null) throw new Error(`line ${lineNo}: second TYPE for ${name}`);
          if (f.samples.length > 0) throw new Error(`line ${lineNo}: TYPE after samples of ${name}`);
          if (!TYPES.has(rest)) throw new Error(`line ${lineNo}: unknown type ${rest}`);
          f.type = rest;
        }
        return;
      }
      if (line.startsWith('#')) return;
      const sample = parseSample(line, lineNo);
      const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
      if (series.has(key)) throw new Error(`line ${lineNo}: duplicate series ${key}`);
      series.add(key);
      family(sample.name, lineNo).samples.push(sample);
    });
  return families;
}

function parseSample(line: string, lineNo: number): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (head === null) throw new Error(`line ${lineNo}: no metric name in ${JSON.stringify(line)}`);
  const name = head[1] ?? '';
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    while (line[pos] !== '}') {
      const m = /^([^=]+)="/.exec(line.slice(pos));
      if (m === null) throw new Error(`line ${lineNo}: bad label at ${pos}`);
      const label = m[1] ?? '';
      if (!LABEL_NAME.test(label) || label.startsWith('__'))
        throw new Error(`line ${lineNo}: bad label name ${label}`);
      if (label in labels) throw new Error(`line ${lineNo}: label ${label} twice`);
      pos += m[0].length;
      let value = '';
      for (;;) {
        const c = line[pos++];
        if (c === undefined) throw new Error(`line ${lineNo}: unterminated label value`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`line ${lineNo}: bad escape \\${e ?? ''}`);
        } else value += c;
      }
      labels[label] = value;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new Error(`line ${lineNo}: expected , or } at ${pos}`);
    }
    pos++;
  }
  const rest = line.slice(pos);
  const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (m === null) throw new Error(`line ${lineNo}: bad value part ${JSON.stringify(rest)}`);
  const raw = m[1] ?? '';
  if (!/^(NaN|[+-]Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/.test(raw))
    throw new Error(`line ${lineNo}: bad value ${raw}`);
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
  return { name, labels, value };
}
