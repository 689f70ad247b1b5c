/** The inotify headroom warning from the real sersync2, under a limit lowered in a user namespace. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localReplicaSetup, startSersync } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';

const LIMITED = fileURLToPath(new URL('./limited-child.js', import.meta.url));

function userNamespaceUnavailable(): string | undefined {
  const probe = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `unshare(1) cannot run: ${probe.error.message}`;
  return probe.status === 0 ? undefined : `no private user namespace here: ${probe.stderr.trim()}`;
}

test(
  'inotify: near the watch limit, start-up warns with the numbers and the sysctl line',
  { skip: userNamespaceUnavailable() },
  async () => {
    const tmp = await tempDir('sersync-limit-');
    try {
      const { src, state, config } = localReplicaSetup(tmp.path);
      for (let i = 0; i < 9; i++) mkdirSync(join(src, `d${i}`));
      const proc = await startSersync(config, [], state, {
        wrapper: ['unshare', '--user', '--map-root-user', process.execPath, LIMITED, '12'],
      });
      try {
        assert.match(proc.stdout(), /^watching 10 directories under /m);
        // counted once the watches are set, just after the line above
        await eventually(() => proc.stderr().includes('inotify watches:'), 5000, 'the warning');
        const warning =
          proc
            .stderr()
            .split('\n')
            .find((l) => l.includes('inotify watches:')) ?? '';
        assert.match(warning, /"level":40/);
        assert.match(warning, /of fs\.inotify\.max_user_watches=12 \(\d+ %\)/);
        assert.match(warning, /10 for these trees/);
        assert.match(warning, /sysctl -w fs\.inotify\.max_user_watches=\d+/);
      } finally {
        assert.equal(await proc.stop(), 0);
      }
    } finally {
      await tmp.remove();
    }
  },
);
