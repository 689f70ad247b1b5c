/** The rsync password file is checked as rsync checks it, and reported as a positioned warning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { passwordFileProblem, passwordProblem } from '../../src/config/password-file.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = 0;
const USER = 1000;

test('others may read it: rsync refuses it; the fix is chmod 600 (quoted for the shell)', () => {
  assert.match(
    passwordFileProblem('/etc/rsync.pas', { mode: 0o100644, uid: ROOT }, ROOT) ?? '',
    /can be read by others \(mode 0644\): rsync refuses it.*fix: chmod 600 \/etc\/rsync\.pas$/,
  );
  assert.match(
    passwordFileProblem("/etc/my pass's", { mode: 0o100604, uid: USER }, USER) ?? '',
    /fix: chmod 600 '\/etc\/my pass'\\''s'$|fix: chmod 600 "\/etc\/my pass's"$/,
  );
});

test('its group may read it: not private; owned by another user while running as root: refused', () => {
  assert.match(
    passwordFileProblem('/p', { mode: 0o640, uid: ROOT }, ROOT) ?? '',
    /read by its group \(mode 0640\)/,
  );
  assert.match(
    passwordFileProblem('/p', { mode: 0o600, uid: USER }, ROOT) ?? '',
    /owned by uid 1000.*chown root \/p/,
  );
  assert.equal(passwordFileProblem('/p', { mode: 0o600, uid: USER }, USER), null);
  assert.equal(passwordFileProblem('/p', { mode: 0o400, uid: ROOT }, ROOT), null);
});

const xml = (auth: string, ssh = 'false'): string => `<head><sersync>
  <localpath watch="/w"><remote ip="10.0.0.1" name="m"/></localpath>
  <rsync>
    ${auth}
    <ssh start="${ssh}"/>
  </rsync>
</sersync></head>`;

test('the warning points at the passwordfile attribute; parsing alone never looks at the disk', () => {
  const inspect = {
    passwordFile: (p: string) => `bad ${p}`,
    realPath: (p: string) => p,
    isDirectory: () => true,
  };
  const auth = '<auth start="true" users="u" passwordfile="/etc/rsync.pas"/>';
  const [w] = parseConfig(xml(auth), '/c.xml', inspect).warnings;
  const column = (xml(auth).split('\n')[3] ?? '').indexOf('passwordfile=') + 1;
  assert.deepEqual(w, { line: 4, column, message: 'bad /etc/rsync.pas' });
  assert.deepEqual(parseConfig(xml(auth), '/c.xml').warnings, []);
  assert.deepEqual(
    parseConfig(xml(auth.replace('true', 'false')), '/c.xml', inspect).warnings,
    [],
    'auth off',
  );
  assert.ok(
    parseConfig(xml(auth, 'true'), '/c.xml', inspect).warnings.every((x) => !x.message.startsWith('bad')),
    'ssh mode does not use it',
  );
});

test('loadConfig checks the real file', async () => {
  const dir = await tempDir();
  try {
    const pass = join(dir.path, 'rsync.pass');
    writeFileSync(pass, 'secret\n', { mode: 0o644 });
    chmodSync(pass, 0o644);
    const file = join(dir.path, 'c.xml');
    writeFileSync(file, xml(`<auth start="true" users="u" passwordfile="${pass}"/>`));
    assert.match(
      loadConfig(file)
        .warnings.map((w) => w.message)
        .join('\n'),
      /read by others.*chmod 600/,
    );
    chmodSync(pass, 0o600);
    assert.deepEqual(loadConfig(file).warnings, []);
    rmSync(pass);
    assert.match(
      loadConfig(file)
        .warnings.map((w) => w.message)
        .join('\n'),
      /cannot be read \(it does not exist\): rsync stops at "could not open password file".*fix: write/,
    );
  } finally {
    await dir.remove();
  }
});

test('the password in it, read as rsync reads it: the daemon secrets-file form "user:password", or none at all', () => {
  const problem = (text: string, user = 'backup'): string | null =>
    passwordProblem('/etc/rsync.pas', Buffer.from(text, 'latin1'), user);
  assert.match(
    problem('backup:s3cret\n') ?? '',
    /holds "backup:…", the form of the daemon's secrets file: rsync sends the whole line as the password.*auth failed.*keep only the password/,
  );
  assert.equal(problem('s3cret\n'), null);
  assert.equal(problem('\r\n\ns3cret\n'), null, 'rsync skips empty lines (strtok on CR and LF)');
  assert.equal(problem('other:s3cret\n'), null, 'a password may hold a colon');
  assert.equal(problem('backup:s3cret\n', ''), null, 'no user, nothing to compare');
  for (const empty of ['', '\n', '\r\n\r\n'])
    assert.match(problem(empty) ?? '', /holds no password: rsync stops at "failed to read a password"/);
});

test('loadConfig reads the password the file holds, for the configured user', async () => {
  const dir = await tempDir();
  try {
    const pass = join(dir.path, 'rsync.pass');
    writeFileSync(pass, 'u:secret\n', { mode: 0o600 });
    const file = join(dir.path, 'c.xml');
    writeFileSync(file, xml(`<auth start="true" users="u" passwordfile="${pass}"/>`));
    assert.match(
      loadConfig(file)
        .warnings.map((w) => w.message)
        .join('\n'),
      /holds "u:…", the form of the daemon's secrets file/,
    );
    writeFileSync(pass, 'secret\n');
    assert.deepEqual(loadConfig(file).warnings, []);
  } finally {
    await dir.remove();
  }
});
