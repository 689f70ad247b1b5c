import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { queueFileFor, resolveStateDir, stateDirToAsk } from '../../src/queue/state-dir.js';
import { tempDir } from '../helpers/tmp.js';

async function inTemp(fn: (dir: string) => void): Promise<void> {
  const d = await tempDir();
  try {
    fn(d.path);
  } finally {
    await d.remove();
  }
}

const mode = (p: string): number => statSync(p).mode & 0o777;

test('--state-dir wins over <state dir>, which wins over the defaults; both are created 0700', async () => {
  await inTemp((dir) => {
    const defaults = { systemDir: join(dir, 'system'), xdgStateHome: null, home: dir };
    const flag = join(dir, 'flag', 'nested');
    assert.equal(resolveStateDir(flag, join(dir, 'conf'), defaults), flag);
    assert.equal(mode(flag), 0o700);
    assert.equal(resolveStateDir(null, join(dir, 'conf'), defaults), join(dir, 'conf'));
    assert.equal(mode(join(dir, 'conf')), 0o700);
  });
});

test('without a named dir: the system dir when usable, else $XDG_STATE_HOME, else ~/.local/state', async () => {
  await inTemp((dir) => {
    const system = join(dir, 'var', 'lib', 'sersync2');
    assert.equal(resolveStateDir(null, null, { systemDir: system, xdgStateHome: null, home: dir }), system);
    assert.equal(mode(system), 0o700);

    writeFileSync(join(dir, 'not-a-dir'), '');
    const unusable = join(dir, 'not-a-dir', 'sersync2');
    const xdg = join(dir, 'xdg');
    assert.equal(
      resolveStateDir(null, null, { systemDir: unusable, xdgStateHome: xdg, home: dir }),
      join(xdg, 'sersync2'),
    );
    assert.equal(
      resolveStateDir(null, null, { systemDir: unusable, xdgStateHome: null, home: dir }),
      join(dir, '.local', 'state', 'sersync2'),
    );
    assert.equal(mode(join(dir, '.local', 'state', 'sersync2')), 0o700);
  });
});

test('the dir to ask a daemon in is the one it would use, and asking creates nothing', async () => {
  await inTemp((dir) => {
    const named = join(dir, 'named');
    assert.equal(stateDirToAsk(named, join(dir, 'conf')), named);
    assert.equal(stateDirToAsk(null, named), named);
    const system = join(dir, 'var', 'lib', 'sersync2');
    const xdg = join(dir, 'xdg');
    // resolveStateDir could not make it (no parent here): this user's own
    assert.equal(
      stateDirToAsk(null, null, { systemDir: system, xdgStateHome: xdg, home: dir }),
      join(xdg, 'sersync2'),
    );
    mkdirSync(join(dir, 'var', 'lib'), { recursive: true });
    assert.equal(stateDirToAsk(null, null, { systemDir: system, xdgStateHome: xdg, home: dir }), system);
    writeFileSync(join(dir, 'not-a-dir'), '');
    assert.equal(
      stateDirToAsk(null, null, { systemDir: join(dir, 'not-a-dir'), xdgStateHome: null, home: dir }),
      join(dir, '.local', 'state', 'sersync2'),
    );
    for (const made of [named, system, join(xdg, 'sersync2'), join(dir, '.local')])
      assert.equal(existsSync(made), false, made);
  });
});

test('a named state dir that cannot be used is an error, not a silent fallback', async () => {
  await inTemp((dir) => {
    writeFileSync(join(dir, 'file'), '');
    assert.throws(() => resolveStateDir(join(dir, 'file', 'sub'), null), {
      code: 'ERR_SERSYNC_STATE_DIR',
      message: /cannot use state directory .*file\/sub/,
    });
  });
});

test('one queue file per config: named after the file, told apart by its absolute path', () => {
  const a = queueFileFor('/var/lib/sersync2', '/etc/sersync/confxml.xml');
  const hash = createHash('sha256').update('/etc/sersync/confxml.xml').digest('hex').slice(0, 8);
  assert.equal(a, `/var/lib/sersync2/queue-confxml.xml-${hash}.sqlite`);
  assert.notEqual(a, queueFileFor('/var/lib/sersync2', '/etc/other/confxml.xml'));
  const rel = relative(process.cwd(), '/etc/sersync/confxml.xml');
  assert.equal(
    queueFileFor('/var/lib/sersync2', rel),
    a,
    'a relative name of the same file gives the same queue',
  );
  assert.equal(basename(queueFileFor('/s', '/etc/my conf;$(x).xml')).includes(' '), false);
});
