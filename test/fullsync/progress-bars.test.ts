/**
 * The terminal renderer on its own: what it writes to a terminal stream (escape sequences
 * included), for the cases a real run makes hard to hit on purpose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ProgressBars } from '../../src/sync/progress-bars.js';
import { drawnPieces } from './helpers.js';

/** A stream that says it is a 200-column terminal and keeps what it is sent. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  Object.assign(w, { isTTY: true, columns: 200 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => out };
}

const p = (checked: number, total: number) => ({
  checked,
  total,
  transferred: checked,
  bytes: checked * 1024,
  bytesPerSec: 2048,
});

test('one bar per full sync; a log line written meanwhile is drawn above the bars, never into one', () => {
  const term = fakeTerminal();
  const bars = new ProgressBars(term.stream);
  const a = bars.begin({ root: '/W', remote: 'host::a' });
  const b = bars.begin({ root: '/W', remote: 'host::b' });
  a.update(p(0, 100));
  b.update(p(0, 100));
  a.update(p(40, 100));
  bars.write('2026-01-01 INFO  synced remote=host::c\n');
  assert.doesNotMatch(term.text(), /synced/, 'held back while the bars are drawn');
  a.update(p(100, 100));
  a.end();
  b.update(p(100, 100));
  b.end();
  const pieces = drawnPieces(term.text());
  assert.ok(pieces.includes('2026-01-01 INFO  synced remote=host::c'), term.text());
  for (const remote of ['host::a', 'host::b']) {
    const last = pieces.filter((s) => s.endsWith(`| /W -> ${remote}`)).at(-1);
    assert.match(
      last ?? '',
      /^\[=+\] 100% \| 100\/100 files \| 100 sent, 100\.0 KiB \| 2\.0 KiB\/s \| ETA \d+s \| /,
    );
  }
  // Once every bar has ended, lines go straight to the terminal.
  const before = term.text().length;
  bars.write('after\n');
  assert.equal(term.text().slice(before), 'after\n');
});

test('the next full sync gets fresh bars: finished ones are not drawn again', () => {
  const term = fakeTerminal();
  const bars = new ProgressBars(term.stream);
  const first = bars.begin({ root: '/W', remote: 'host::first' });
  first.update(p(5, 5));
  first.end();
  const before = term.text().length;
  const second = bars.begin({ root: '/W', remote: 'host::second' });
  second.update(p(1, 10));
  second.end();
  const later = term.text().slice(before);
  assert.match(later, /host::second/);
  assert.doesNotMatch(later, /host::first/);
});

test('a full sync that ends before any progress draws nothing; updates after the end are ignored', () => {
  const term = fakeTerminal();
  const bars = new ProgressBars(term.stream);
  const t = bars.begin({ root: '/W', remote: 'host::a' });
  t.end();
  t.update(p(1, 1));
  assert.equal(term.text(), '');
});
