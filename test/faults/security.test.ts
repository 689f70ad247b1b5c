/**
 * Security through the real CLI: the password file's mode, secrets that never leak, an
 * owner-only state directory, a command plugin that never runs a shell.
 */
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import {
  commandPluginAfterRootSwap,
  commandPluginRunsNoShell,
  oldRsyncShown,
  passwordFileWarnings,
  secretsStayHidden,
  stateDirOwnerOnly,
} from './cases/security.js';

const lab = useLab('sersync-faults-security-');

test('a password file others can read: check, check --json and the start warn, naming chmod 600', async () => {
  await passwordFileWarnings(lab.work, lab.daemon);
});

test('the rsync and CDN passwords never appear in logs, check, status, the queue, the fail log or the state files', async () => {
  await secretsStayHidden(lab.work);
});

test('the state directory is 0700 and its files 0600, whatever the umask', async () => {
  await stateDirOwnerOnly(lab.work, lab.daemon);
});

test('the command plugin hands hostile names over as one exact argument each and runs no shell', async () => {
  await commandPluginRunsNoShell(lab.work, lab.daemon);
});

test("the command plugin is never handed a path by the root's name once the root is replaced", async () => {
  await commandPluginAfterRootSwap(lab.work, lab.daemon);
});

test('an rsync older than 3.5: runs to a daemon and through a remote shell are confined and nothing is shown; an install without the helper confines nothing, and status, /metrics and the log say so; replication goes on', async () => {
  await oldRsyncShown(lab.work, lab.daemon);
});
