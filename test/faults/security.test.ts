/**
 * Security through the real CLI: the password file's mode, secrets that never leak, an
 * owner-only state directory, a command plugin that never runs a shell.
 */
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import {
  commandPluginRunsNoShell,
  passwordFileWarnings,
  secretsStayHidden,
  stateDirOwnerOnly,
} from './cases/security.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  work = await tempDir('sersync-faults-security-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('a password file others can read: check, check --json and the start warn, naming chmod 600', async () => {
  await passwordFileWarnings(work.path, daemon);
});

test('the rsync and CDN passwords never appear in logs, check, status, the queue, the fail log or the state files', async () => {
  await secretsStayHidden(work.path);
});

test('the state directory is 0700 and its files 0600, whatever the umask', async () => {
  await stateDirOwnerOnly(work.path, daemon);
});

test('the command plugin hands hostile names over as one exact argument each and runs no shell', async () => {
  await commandPluginRunsNoShell(work.path, daemon);
});
