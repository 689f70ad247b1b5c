/** Hostile file names through the real CLI and a real daemon: byte-exact, never interpreted. */
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import { heldNamesAcrossStop, hostileNames } from './cases/names.js';

const lab = useLab('sersync-faults-names-');

test('quotes, backticks, $(), ;, newlines, tabs, leading dashes, backslashes, wildcards, 255-byte names, a 4,000-byte path, invalid UTF-8: created, renamed, deleted, byte-exact', async () => {
  await hostileNames(lab.work, lab.daemon);
});

test('files held for a temporary-looking name count as pending and lag, and a stop while they are held loses none', async () => {
  await heldNamesAcrossStop(lab.work, lab.daemon);
});
