/** Hostile file names through the real CLI and a real daemon: byte-exact, never interpreted. */
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { hostileNames } from './cases/names.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  work = await tempDir('sersync-faults-names-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('quotes, backticks, $(), ;, newlines, tabs, leading dashes, backslashes, wildcards, 255-byte names, a 4,000-byte path, invalid UTF-8: created, renamed, deleted, byte-exact', async () => {
  await hostileNames(work.path, daemon);
});
