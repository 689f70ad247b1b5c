import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lsyncdConfig, luaString } from './lsyncd-config.js';

test('luaString: quotes, backslashes, control and non-ASCII bytes become decimal escapes', () => {
  assert.equal(luaString('/tmp/a b'), '"/tmp/a b"');
  assert.equal(luaString('say "hi"'), '"say \\034hi\\034"');
  assert.equal(luaString('a\\b'), '"a\\092b"');
  assert.equal(luaString('line\nnext'), '"line\\010next"');
  assert.equal(luaString('é'), '"\\195\\169"');
});

test('lsyncdConfig: the measured baseline (default.rsync, foreground, insist) with the given delay', () => {
  const conf = lsyncdConfig({
    source: '/src',
    target: 'rsync://u@127.0.0.1:873/m',
    passwordFile: '/p',
    delay: 0,
    logFile: '/l',
    statusFile: '/s',
  });
  assert.match(conf, /sync \{\n {2}default\.rsync,/);
  assert.match(conf, /nodaemon = true/);
  assert.match(conf, /insist = true/);
  assert.match(conf, /delay = 0,/);
  assert.match(conf, /target = "rsync:\/\/u@127\.0\.0\.1:873\/m"/);
  assert.match(conf, /rsync = \{ password_file = "\/p" \}/);
});
