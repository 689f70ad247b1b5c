import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';
import { eventually } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

/**
 * The password file is missing: `check` says so with the fix; every sync fails with rsync's
 * generic `syntax or usage error (code 1)`, and `queue list` and `status` show the line that
 * names the cause, whole. Once the file is written, the queue drains.
 */
export async function missingPasswordFile(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const missing = join(rig.base, 'missing.pass');
  writeFileSync(rig.config, readFileSync(rig.config, 'latin1').replace(daemon.passwordFile, missing));
  const cause = `could not open password file ${missing}: No such file or directory (2)`;
  try {
    const check = rig.cli(['check']);
    assert.match(
      check.stdout,
      new RegExp(`passwordfile ${missing} cannot be read \\(it does not exist\\).*fix: .*chmod 600`),
      `check must say it:\n${check.stdout}`,
    );
    await rig.start();
    writeFileSync(join(rig.src, 'a.txt'), 'waits for the password');
    await eventually(() => rig.queued().some((r) => r.lastError !== null), 15_000, 'a failed row');
    for (const row of rig.queue()) assert.ok(row.lastError?.endsWith(cause), row.lastError ?? 'no error');
    const list = rig.cli(['queue', 'list']);
    assert.ok(list.stdout.includes(cause), `queue list:\n${list.stdout}`);
    const status = rig.cli(['status']);
    assert.ok(status.stdout.includes(cause), `status:\n${status.stdout}`);
    writeFileSync(missing, 'secret\n', { mode: 0o600 });
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    await rig.converged(20_000, 'once the password file exists');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}
