/**
 * A backup server named by its IPv6 address (`<remote ip="2001:db8::5" name="www"/>`): rsync takes
 * such an address only in brackets (`[2001:db8::5]::www`; bare, it splits at the first `::`), and a
 * socket only without them. A real daemon listening on ::1, through the CLI, the address written
 * bare and in brackets: it replicates, and once the daemon is back after a crash, the probe finds it
 * and sends the backlog.
 */
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crashDaemon } from '../faults/lib/procs.js';
import { converged, useLab } from '../helpers/lab.js';
import { eventually } from '../helpers/trees.js';

const lab = useLab('sersync-ipv6-', { address: '::1' });

for (const ip of ['::1', '[::1]']) {
  test(`<remote ip="${ip}">: replicates to a daemon on ::1, and its backlog goes once a probe finds it back`, async () => {
    const xml = (text: string): string => text.replaceAll('ip="127.0.0.1"', `ip="${ip}"`);
    await lab.withSersync({ xml }, async (run) => {
      writeFileSync(join(run.src, 'first.txt'), 'over IPv6');
      await converged(run.src, run.replica);
      await crashDaemon(lab.daemon);
      try {
        writeFileSync(join(run.src, 'while-down.txt'), 'queued while the daemon is down');
        await eventually(
          () => /sync failed, queued for retry/.test(run.proc.stderr()),
          15_000,
          'a failed run',
        );
      } finally {
        await lab.daemon.restart();
      }
      await eventually(
        () => /remote answers again: sending its backlog/.test(run.proc.stderr()),
        15_000,
        'the probe finding the daemon back',
      );
      await converged(run.src, run.replica);
    });
  });
}
