/** Text safe for one terminal line: C0 controls and DEL as `\n`, `\t`, `\xNN`, so a name or value
 * holding a newline or an escape sequence cannot break a table line or drive the terminal. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
