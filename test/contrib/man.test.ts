/**
 * man/sersync2.1: valid roff that renders without a warning, and it covers the command line as
 * the program itself prints it (every option of `sersync2 --help`, every command), the signals and
 * the files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI } from '../helpers/sersync.js';

const PAGE = join(import.meta.dirname, '..', '..', '..', 'man', 'sersync2.1');

function groffMissing(): string | false {
  return spawnSync('groff', ['--version']).error === undefined ? false : 'groff is not installed here';
}

/** The page as man shows it, and groff's warnings (all of them enabled). */
function render(): { text: string; warnings: string } {
  const r = spawnSync('groff', ['-man', '-Tutf8', '-P-bcou', '-ww', '-rLL=200n', PAGE], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
  });
  assert.equal(r.status, 0, r.stderr);
  // Plain text (-P-bcou: no bold, no underline); groff prints '-' as the hyphen U+2010.
  return { text: r.stdout.replace(/\u2010/g, '-'), warnings: r.stderr };
}

test(
  'the man page renders without warnings and covers every option, command and signal',
  { skip: groffMissing() },
  () => {
    const { text, warnings } = render();
    assert.equal(warnings, '');
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout;
    const options = [...help.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1] ?? '');
    const commands = [...(help.split('Commands:')[1] ?? '').matchAll(/^\s{2}(\w+)/gm)].map((m) => m[1] ?? '');
    assert.ok(options.length >= 9 && commands.length >= 6, help);
    for (const word of [
      ...options,
      ...commands,
      'SIGTERM',
      'SIGHUP',
      'SIGUSR1',
      '/var/lib/sersync2',
      'confxml.xml',
    ])
      assert.ok(text.includes(word), `the man page does not mention ${word}`);
    for (const heading of ['NAME', 'SYNOPSIS', 'OPTIONS', 'COMMANDS', 'SIGNALS', 'FILES', 'EXIT STATUS'])
      assert.match(text, new RegExp(`^${heading}$`, 'm'));
  },
);
