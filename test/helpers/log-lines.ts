/** A logger whose JSON lines the test reads back. */
import { pino, type Logger } from 'pino';

export function capturedLog(): {
  readonly log: Logger;
  readonly lines: string[];
  said: (text: string) => number;
} {
  const lines: string[] = [];
  return {
    log: pino({ level: 'info' }, { write: (l: string) => lines.push(l) }),
    lines,
    said: (text) => lines.filter((l) => l.includes(text)).length,
  };
}
