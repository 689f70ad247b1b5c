import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';

/**
 * Rewrites a test daemon's rsyncd.conf (next to its module directory). rsync reads the file
 * again for every connection, so the change applies to the next run without a restart.
 */
export function editDaemonConf(d: RsyncDaemon, edit: (text: string) => string): void {
  const file = join(d.dir, '..', 'rsyncd.conf');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
}
