import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyExit, failedPaths } from '../../src/sync/exit-codes.js';
import { StderrKeeper } from '../../src/sync/rsync-stderr.js';

const SUMMARY =
  'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)';
const refused = (i: number): string =>
  `rsync: [receiver] mkstemp "/R/locked/.f${i}.AbCdEf" failed: Permission denied (13)`;
const vanished = (i: number): string => `file has vanished: "/W/gone/f${i}"`;
const replica = (name: string): string | null => (name.startsWith('/R/') ? name.slice(3) : null);

test('lines split across chunks are kept whole, vanished sources are not kept', () => {
  const k = new StderrKeeper();
  const text = `${refused(1)}\n${vanished(1)}\n${SUMMARY}\n`;
  for (let at = 0; at < text.length; at += 7) k.feed(text.slice(at, at + 7));
  assert.equal(k.text(), `${refused(1)}\n${SUMMARY}\n`);
  assert.equal(k.cut, false);
});

test('thousands of vanished sources (an rm -rf during the run) cut nothing: the run is a success', () => {
  const k = new StderrKeeper(4096);
  for (let i = 0; i < 5000; i++) k.feed(`${vanished(i)}\n`);
  k.feed(`${SUMMARY}\n`);
  assert.equal(k.cut, false);
  assert.equal(classifyExit(23, k.text(), { cut: k.cut }), 'ok');
});

test('more refusals than the room: the newest are kept, and the cut makes the run fail whole, naming no path', () => {
  const k = new StderrKeeper(4096);
  for (let i = 0; i < 200; i++) k.feed(`${refused(i)}\n`);
  k.feed(`${SUMMARY}\n`);
  assert.equal(k.cut, true);
  const kept = k.text();
  assert.ok(kept.length <= 4096, `${kept.length} bytes kept`);
  assert.ok(kept.endsWith(`${refused(199)}\n${SUMMARY}\n`), 'the newest lines are kept');
  assert.ok(!kept.includes(refused(0)), 'the oldest are dropped');
  // Every kept line names a file: without the cut this would be partial, and the files whose lines
  // were dropped would be taken as delivered.
  assert.equal(classifyExit(23, kept), 'partial');
  assert.equal(classifyExit(23, kept, { cut: true }), 'retry');
  assert.notEqual(failedPaths(23, kept, '/W', replica), null);
  assert.equal(failedPaths(23, kept, '/W', replica, { cut: true }), null);
});

test('a line longer than the room is bounded and counts as cut', () => {
  const k = new StderrKeeper(64);
  k.feed('x'.repeat(200));
  assert.equal(k.text().length, 64);
  assert.equal(k.cut, true);
});
