import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PluginFeed } from '../../src/plugins/feed.js';
import { PluginCounters } from '../../src/plugins/stats.js';
import type { Plugin, PluginEvent } from '../../src/plugins/types.js';

/** A plugin whose events finish only when the test says so, in order. */
function heldPlugin(): { plugin: Plugin; seen: string[]; release: () => void } {
  const seen: string[] = [];
  const waiting: (() => void)[] = [];
  const counters = new PluginCounters();
  const plugin: Plugin = {
    name: 'http',
    handle(ev) {
      seen.push(ev.path);
      return new Promise((resolve) =>
        waiting.push(() => {
          counters.succeeded();
          resolve();
        }),
      );
    },
    stats: () => counters.snapshot(),
    close: () => Promise.resolve(),
  };
  return { plugin, seen, release: () => waiting.shift()?.() };
}

const ev = (path: string): PluginEvent => ({ root: '/W', path, isDir: false, op: 'sync' });

test('the feed hands events in order, one at a time, and counts those not yet delivered', async () => {
  const { plugin, seen, release } = heldPlugin();
  const feed = new PluginFeed(plugin);
  let done = 0;
  feed.hand([ev('a'), ev('b')], { done: () => done++ });
  feed.hand([ev('c')]);
  feed.hand([]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['a'], 'the next waits for the one before');
  assert.equal(feed.report().pending, 3);
  release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['a', 'b']);
  assert.deepEqual([feed.report().pending, done], [2, 1]);
  release();
  await new Promise((r) => setImmediate(r));
  release();
  await feed.drained();
  assert.deepEqual(seen, ['a', 'b', 'c']);
  const report = feed.report();
  assert.deepEqual([report.name, report.pending, report.delivered, done], ['http', 0, 3, 2]);
});

test('the feed counts the overflows its plugin was never told of', () => {
  const feed = new PluginFeed(heldPlugin().plugin);
  assert.deepEqual([feed.report().overflows, feed.report().lastOverflowAt], [0, null]);
  const before = Date.now();
  feed.missed();
  feed.missed();
  const { overflows, lastOverflowAt } = feed.report();
  assert.equal(overflows, 2);
  assert.ok(lastOverflowAt !== null && lastOverflowAt >= before);
});

test('counters: failing follows the last outcome; expected failures never make it failing', () => {
  const c = new PluginCounters();
  assert.equal(c.snapshot().failing, false, 'nothing happened yet');
  c.failedWith('refused');
  assert.deepEqual([c.snapshot().failing, c.snapshot().failed, c.snapshot().lastError], [true, 1, 'refused']);
  c.succeeded(2);
  assert.deepEqual([c.snapshot().failing, c.snapshot().delivered], [false, 2]);
  // a failed attempt that loses nothing (yet) still says why
  c.failedWith('cannot connect', 0);
  assert.deepEqual([c.snapshot().failing, c.snapshot().failed], [true, 1]);
  assert.equal(c.snapshot(5, false).failing, false, "the plugin's own word wins");
  assert.equal(c.snapshot(5).backlog, 5);
  c.succeeded();
  c.dropped('plugin is closing: event dropped');
  assert.deepEqual(
    [c.snapshot().failing, c.snapshot().failed, c.snapshot().lastError],
    [false, 2, 'plugin is closing: event dropped'],
  );
  const ignored = new PluginCounters(true);
  ignored.failedWith('exit 1');
  assert.deepEqual([ignored.snapshot().failing, ignored.snapshot().failed], [false, 1]);
});

test('the feed withholds an event its tree no longer vouches for, at its turn, and goes on', async () => {
  const { plugin, seen, release } = heldPlugin();
  const feed = new PluginFeed(plugin);
  let trusted = true;
  let done = 0;
  feed.hand([ev('a'), ev('b'), ev('c')], { done: () => done++, usable: (e) => trusted || e.path === 'c' });
  await new Promise((r) => setImmediate(r));
  trusted = false; // the root is replaced while `a` runs: `b` is withheld when its turn comes
  release();
  await new Promise((r) => setImmediate(r));
  release();
  await feed.drained();
  assert.deepEqual(seen, ['a', 'c']);
  assert.deepEqual([feed.report().pending, done], [0, 3]);
});
