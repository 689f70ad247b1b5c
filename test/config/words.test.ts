/** commonParams and plugin prefixes split into words as /bin/sh would, refusing what needs a shell. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitWords } from '../../src/config/words.js';

const SPLITS: readonly (readonly [string, readonly string[]])[] = [
  ['', []],
  ['  ', []],
  ['-artuz', ['-artuz']],
  ['-artuz  --delay-updates', ['-artuz', '--delay-updates']],
  ["--rsh='ssh -p 2222'", ['--rsh=ssh -p 2222']],
  ['"a b" c\\ d', ['a b', 'c d']],
  ['--exclude=*.tmp --include=[ab]?', ['--exclude=*.tmp', '--include=[ab]?']],
  ["'$HOME' '`x`' '; | >'", ['$HOME', '`x`', '; | >']],
  ['a\\;b', ['a;b']],
  ['--filter="- *.o"', ['--filter=- *.o']],
];

for (const [text, words] of SPLITS) {
  test(`split ${JSON.stringify(text)}`, () => {
    assert.deepEqual(splitWords(text), { ok: true, words });
  });
}

const REFUSED: readonly (readonly [string, string])[] = [
  [
    '-a; rm -rf /',
    'the shell operator ";" is not supported (sersync-ts runs no shell); quote it if it is meant literally',
  ],
  [
    '-a | tee x',
    'the shell operator "|" is not supported (sersync-ts runs no shell); quote it if it is meant literally',
  ],
  [
    '-a > /tmp/x',
    'the shell operator ">" is not supported (sersync-ts runs no shell); quote it if it is meant literally',
  ],
  [
    '-a && b',
    'the shell operator "&&" is not supported (sersync-ts runs no shell); quote it if it is meant literally',
  ],
  ['-a # note', '"# note" would be a shell comment; quote the # if it is meant literally'],
  ['--password-file=$HOME/p', 'the variable $HOME would need a shell to expand it; write its value'],
  ['"--password-file=${HOME}"', 'the variable $HOME would need a shell to expand it; write its value'],
  ['--x=`id`', 'command substitution would need a shell; write the value'],
  ['"--x=$(id)"', 'command substitution would need a shell; write the value'],
  ["-a 'b", "unterminated ' quote"],
  ['-a "b', 'unterminated " quote'],
];

for (const [text, problem] of REFUSED) {
  test(`refuse ${JSON.stringify(text)}`, () => {
    assert.deepEqual(splitWords(text), { ok: false, problem });
  });
}
