import assert from 'node:assert/strict';
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { passwordInEnv } from '../../src/sync/password-env.js';
import { tempDir } from '../helpers/tmp.js';

test('password in the environment: read as rsync reads the file; left to rsync wherever it would refuse it', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const file = (name: string, content: string | Buffer, mode = 0o600): string => {
    const path = join(work.path, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };
  const argv = (path: string): string[] => ['-a', `--password-file=${path}`, './', 'u@h::m/'];
  const me = process.getuid?.() ?? -1;

  const plain = file('plain', 'secret\nsecond line\n');
  assert.deepEqual(passwordInEnv(argv(plain), me), {
    argv: ['-a', './', 'u@h::m/'],
    file: plain,
    password: 'secret',
  });
  // strtok(buffer, "\n\r"): leading line ends are skipped, a CR ends it
  assert.equal(passwordInEnv(argv(file('crlf', '\r\n\nsé cret\r\n')), me)?.password, 'sé cret');
  assert.equal(passwordInEnv(['-a', './', 'u@h::m/'], me), null, 'no password file');
  assert.equal(passwordInEnv(argv(join(work.path, 'missing')), me), null, 'rsync says it is missing');
  assert.equal(passwordInEnv(argv(file('others', 'secret\n', 0o604)), me), null, 'rsync refuses it');
  assert.equal(passwordInEnv(argv(file('empty', '\n\n')), me), null, 'rsync finds no password');
  assert.equal(passwordInEnv(argv(file('latin1', Buffer.from([0x73, 0xe9, 0x0a]))), me), null, 'not UTF-8');
  if (me === 0) {
    const theirs = file('theirs', 'secret\n');
    chownSync(theirs, 65534, 65534);
    assert.equal(passwordInEnv(argv(theirs), 0), null, 'rsync run as root refuses a file not root owns');
  }
});
