/**
 * sersync pasted `commonParams` and the command plugin's prefix/suffix into a `/bin/sh -c` line.
 * sersync-ts runs no shell, so it splits them into words the way the shell would have (quotes
 * and backslashes honoured) and refuses what only a shell could do: operators, redirections,
 * comments, variable and command substitution. Globs stay literal (`--exclude=*.tmp`).
 */
import { parse, type ParseEntry } from 'shell-quote';

export type WordSplit =
  { readonly ok: true; readonly words: string[] } | { readonly ok: false; readonly problem: string };

/** A `$NAME` that shell-quote asked us to expand: marked so it can be refused. */
interface Variable {
  readonly variable: string;
}

/**
 * What shell-quote would get wrong silently: it closes a quote left open at the end (a shell
 * refuses the line) and passes command substitution through as text (a shell runs it).
 */
function shellOnly(text: string): string | null {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === '\\') {
      i++;
    } else if (c === '`' || (c === '$' && text[i + 1] === '(')) {
      return 'command substitution would need a shell; write the value';
    } else if (c === '"') {
      quote = quote === null ? c : null;
    } else if (c === "'" && quote === null) {
      quote = c;
    }
  }
  return quote === null ? null : `unterminated ${quote} quote`;
}

function describe(entry: ParseEntry | Variable): string | null {
  if (typeof entry === 'string') return null;
  if ('variable' in entry)
    return `the variable $${entry.variable} would need a shell to expand it; write its value`;
  if ('comment' in entry)
    return `"#${entry.comment}" would be a shell comment; quote the # if it is meant literally`;
  if (entry.op === 'glob') return null;
  return `the shell operator "${entry.op}" is not supported (sersync-ts runs no shell); quote it if it is meant literally`;
}

export function splitWords(text: string): WordSplit {
  const hazard = shellOnly(text);
  if (hazard !== null) return { ok: false, problem: hazard };
  const entries = parse<Variable>(text, (variable) => ({ variable }));
  const words: string[] = [];
  for (const entry of entries) {
    const problem = describe(entry);
    if (problem !== null) return { ok: false, problem };
    words.push(typeof entry === 'string' ? entry : 'pattern' in entry ? entry.pattern : '');
  }
  return { ok: true, words };
}
