/** Why a child process did not start, as the operator reads it: a missing program is not a full file table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isExhaustion, whyNotStarted } from '../src/process-start.js';

const errno = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`spawn rsync ${code}`), { code });

test('out of descriptors, processes or memory: a limit reached, said with its fix, never "not installed"', () => {
  for (const [code, says] of [
    ['EMFILE', /as many files open as its limit allows \(EMFILE\): raise it \(LimitNOFILE=/],
    ['ENFILE', /table of open files is full \(ENFILE\)/],
    ['EAGAIN', /no process can be started \(EAGAIN\).*TasksMax=/],
    ['ENOMEM', /not enough memory/],
  ] as const) {
    assert.ok(isExhaustion(errno(code)), code);
    assert.match(whyNotStarted(errno(code), 'rsync'), says);
    assert.doesNotMatch(whyNotStarted(errno(code), 'rsync'), /install/);
  }
});

test('a program missing or not executable is said as such, and is no exhaustion', () => {
  assert.equal(whyNotStarted(errno('ENOENT'), 'rsync'), 'rsync is not installed (not found, ENOENT)');
  assert.equal(
    whyNotStarted(errno('EACCES'), '/usr/local/bin/purge'),
    '/usr/local/bin/purge cannot be executed (EACCES)',
  );
  assert.equal(
    whyNotStarted(new Error('Command failed: rsync --version'), 'rsync'),
    'Command failed: rsync --version',
  );
  for (const err of [errno('ENOENT'), errno('EACCES'), new Error('x'), null, 'EMFILE'])
    assert.equal(isExhaustion(err), false);
});
