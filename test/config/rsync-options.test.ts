import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkFollowingOption, localFilesNamed, remoteShellValues } from '../../src/config/rsync-options.js';

test('the options that make rsync follow symlinks are found in clusters, not in option values', () => {
  const cases: [string[], string | null][] = [
    [['-artuz'], null],
    [['-artuzL'], '-L'],
    [['-avk'], '-k'],
    [['--copy-links'], '--copy-links'],
    [['--copy-dirlinks'], '--copy-dirlinks'],
    [['-az', '--copy-unsafe-links'], '--copy-unsafe-links'],
    [['--safe-links', '-K', '-l'], null],
    [['-e', 'ssh -L 8022:h:22'], null],
    [['-azT/tmp/Lk'], null],
    [['-az@1', '-L'], '-L'],
    [['--rsh=ssh -L 1:h:2'], null],
  ];
  for (const [words, found] of cases) assert.equal(linkFollowingOption(words), found, words.join(' '));
});

test("the files options name for this side's rsync to read, and no other path", () => {
  const cases: [string[], string[]][] = [
    [['-artuz'], []],
    [
      ['--exclude-from=/etc/x', '--include-from', '/etc/i'],
      ['/etc/x', '/etc/i'],
    ],
    [
      ['--filter=merge /etc/y', '-f', '. /etc/z', '-f- /tmp/*.o'],
      ['/etc/y', '/etc/z'],
    ],
    [
      ['-T/var/tmp', '--temp-dir', '/tmp', '--link-dest=/srv/prev', '--files-from=/etc/list'],
      ['/var/tmp', '/tmp', '/srv/prev', '/etc/list'],
    ],
    [['-e', 'ssh -i /root/.ssh/k -F /root/.ssh/config'], []],
    [
      [
        '--rsh=ssh -i /k',
        '--rsync-path=/opt/bin/rsync',
        '--remote-option=--log-file=/var/log/r',
        '--log-file=/var/log/l',
      ],
      [],
    ],
    [['--exclude', '/etc/not-a-file'], []],
  ];
  for (const [words, paths] of cases) assert.deepEqual(localFilesNamed(words), paths, words.join(' '));
});

test('a remote shell is found where rsync reads it: after -e or --rsh, in a cluster, never in another option value', () => {
  const shellOf = (words: string[]): string[] =>
    remoteShellValues(words).map(({ word, at }) => (words[word] ?? '').slice(at));
  const cases: [string[], string[]][] = [
    [['-artuz'], []],
    [['-artuz', '-e', 'ssh -p 2222', 'src/', 'h:/d'], ['ssh -p 2222']],
    [['-avze', 'ssh'], ['ssh']],
    [['-avzessh -i /k'], ['ssh -i /k']],
    [['-essh'], ['ssh']],
    [['--rsh=ssh -p 22'], ['ssh -p 22']],
    [['--rsh', 'ssh'], ['ssh']],
    [['-aTe'], []],
    [['-T', '-e'], []],
    [['--exclude', '-e', '-a'], []],
    [['--exclude=-e'], []],
    [
      ['-e', 'rsh', '-a', '--rsh=ssh'],
      ['rsh', 'ssh'],
    ],
    [['-e'], []],
  ];
  for (const [words, shells] of cases) assert.deepEqual(shellOf(words), shells, words.join(' '));
});
