import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeInotifyEvents,
  IN,
  parseInotifyEvents,
  type RawInotifyEvent,
} from '../../src/watch/inotify-events.js';

test('parseInotifyEvents reads back what the kernel layout holds, names up to the first NUL', () => {
  const events: RawInotifyEvent[] = [
    { wd: 1, mask: IN.CREATE | IN.ISDIR, cookie: 0, name: 'dir' },
    { wd: 2, mask: IN.MOVED_FROM, cookie: 77, name: 'exactly-sixteen!' }, // 16 bytes: padded to 32
    { wd: -1, mask: IN.Q_OVERFLOW, cookie: 0, name: '' },
    { wd: 3, mask: IN.CLOSE_WRITE, cookie: 0, name: '\xff\xfe\n-x' },
  ];
  const buf = encodeInotifyEvents(events);
  assert.equal(buf.length, 16 + 16 + (16 + 32) + 16 + (16 + 16));
  assert.deepEqual(parseInotifyEvents(buf), events);
});

test('parseInotifyEvents decodes the fixed header fields in host (little-endian) order', () => {
  const buf = Buffer.alloc(32);
  buf.writeInt32LE(5, 0);
  buf.writeUInt32LE(IN.DELETE | IN.ISDIR, 4);
  buf.writeUInt32LE(0xdeadbeef, 8);
  buf.writeUInt32LE(16, 12);
  buf.write('a b', 16, 'latin1');
  assert.deepEqual(parseInotifyEvents(buf), [
    { wd: 5, mask: IN.DELETE | IN.ISDIR, cookie: 0xdeadbeef, name: 'a b' },
  ]);
});

test('parseInotifyEvents stops at a truncated record instead of reading past the buffer', () => {
  const whole = encodeInotifyEvents([
    { wd: 1, mask: IN.CREATE, cookie: 0, name: 'a' },
    { wd: 1, mask: IN.CREATE, cookie: 0, name: 'b' },
  ]);
  assert.deepEqual(
    parseInotifyEvents(whole.subarray(0, whole.length - 4)).map((e) => e.name),
    ['a'],
  );
});
