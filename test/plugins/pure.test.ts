import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RefreshCdnPluginSettings } from '../../src/config/types.js';
import { fromUtf8 } from '../../src/paths.js';
import { encodeUrlPath, formBody } from '../../src/plugins/encode.js';
import { absolutePath, inotifyMask, pathUnderWatch } from '../../src/plugins/event.js';
import { cdnUrl, genericPurgeUrl, parseChinaCacheReply } from '../../src/plugins/refresh-cdn.js';

test('absolute path joins root and path as bytes, whatever slashes the root ends with', () => {
  const ev = { path: fromUtf8('sub/é.txt'), isDir: false, op: 'sync' } as const;
  assert.equal(absolutePath({ ...ev, root: '/W' }), fromUtf8('/W/sub/é.txt'));
  assert.equal(absolutePath({ ...ev, root: '/W/' }), fromUtf8('/W/sub/é.txt'));
  assert.equal(absolutePath({ ...ev, root: '/' }), fromUtf8('/sub/é.txt'));
  // A non-UTF-8 byte survives.
  assert.equal(Buffer.from(absolutePath({ ...ev, root: '/W', path: '\xff' }), 'latin1').at(-1), 0xff);
});

test('path under the plugin watch keeps its leading slash (sersync cuts the watch off)', () => {
  assert.equal(pathUnderWatch('/W/a/b', '/W'), '/a/b');
  assert.equal(pathUnderWatch('/W/a/b', '/W/'), '/a/b');
  assert.equal(pathUnderWatch('/WX/a', '/W'), null);
  assert.equal(pathUnderWatch('/other/a', '/W'), null);
});

test('inotify masks as sersync plugins saw them', () => {
  // IN_CLOSE_WRITE 0x8, IN_CREATE 0x100, IN_DELETE 0x200, IN_ISDIR 0x40000000 (linux/inotify.h).
  assert.equal(inotifyMask({ isDir: false, op: 'sync' }), 8);
  assert.equal(inotifyMask({ isDir: true, op: 'sync' }), 1073742080);
  assert.equal(inotifyMask({ isDir: false, op: 'delete' }), 512);
  assert.equal(inotifyMask({ isDir: true, op: 'delete' }), 1073742336);
});

test('URL path encoding leaves ordinary names alone and encodes the rest byte by byte', () => {
  assert.equal(encodeUrlPath('/cms/a-b_c.d~e/f.txt'), '/cms/a-b_c.d~e/f.txt');
  assert.equal(encodeUrlPath('/a b&c#d%e?f+g'), '/a%20b%26c%23d%25e%3Ff%2Bg');
  assert.equal(encodeUrlPath(fromUtf8('/é')), '/%C3%A9');
  assert.equal(encodeUrlPath('/\xff'), '/%FF');
});

test('form bodies decode back to the exact values', () => {
  const body = formBody([
    ['p', '/W/a b&c=d+e%f.txt'],
    ['q', 'é'],
  ]);
  assert.equal(body, 'p=/W/a+b%26c%3Dd%2Be%25f.txt&q=%C3%A9');
  const decoded = new URLSearchParams(body);
  assert.equal(decoded.get('p'), '/W/a b&c=d+e%f.txt');
  assert.equal(decoded.get('q'), 'é');
  assert.equal(formBody([['r', Buffer.from([0xff, 0x2f])]]), 'r=%FF/');
});

const cdn: RefreshCdnPluginSettings = {
  watch: '/data0/htdocs/cms.xoyo.com/site/',
  domainName: 'ccms.chinacache.com',
  port: 80,
  username: 'u',
  password: 'p',
  baseUrl: 'http://pic.xoyo.com/cms',
  regex: false,
  match: 'cms.xoyo.com/site([/a-zA-Z0-9]*).xoyo.com/images',
  mode: 'chinacache',
  method: 'PURGE',
  urlTemplate: '{url}',
};

test('CDN URL without regex: base + the path below the plugin watch', () => {
  assert.equal(
    cdnUrl(cdn, null, '/data0/htdocs/cms.xoyo.com/site/a/b.jpg'),
    'http://pic.xoyo.com/cms/a/b.jpg',
  );
  assert.equal(
    cdnUrl(cdn, null, '/data0/htdocs/cms.xoyo.com/site/a b.jpg'),
    'http://pic.xoyo.com/cms/a%20b.jpg',
  );
  assert.equal(cdnUrl(cdn, null, '/elsewhere/b.jpg'), null);
});

test('CDN URL with regex: base + group 1 + what follows the match; no match, no URL', () => {
  const re = new RegExp(cdn.match);
  // The match is `cms.xoyo.com/site/pic.xoyo.com/images`, group 1 `/pic`, the rest `/2011/a.jpg`.
  assert.equal(
    cdnUrl(cdn, re, '/data0/htdocs/cms.xoyo.com/site/pic.xoyo.com/images/2011/a.jpg'),
    'http://pic.xoyo.com/cms/pic/2011/a.jpg',
  );
  assert.equal(cdnUrl(cdn, re, '/data0/htdocs/cms.xoyo.com/site/other/a.jpg'), null);
  // No capture group: group 1 counts as empty, as Boost's what[1] did.
  assert.equal(cdnUrl(cdn, /site/, '/data0/htdocs/cms.xoyo.com/site/x y'), 'http://pic.xoyo.com/cms/x%20y');
});

test('generic purge URL: {url} as is where it is the URL, encoded where it is a query value', () => {
  assert.equal(genericPurgeUrl('{url}', 'http://h/a b'), 'http://h/a b');
  assert.equal(
    genericPurgeUrl('https://api/purge?u={url}&again={url}', 'http://h/a?b'),
    'https://api/purge?u=http%3A%2F%2Fh%2Fa%3Fb&again=http%3A%2F%2Fh%2Fa%3Fb',
  );
});

test('ChinaCache reply: status line and the whatsup line', () => {
  const r = parseChinaCacheReply(Buffer.from('HTTP/1.0 200 OK\r\nX: y\r\n\r\n<p>whatsup: succeed</p>\r\n'));
  assert.equal(r.status, 'HTTP/1.0 200 OK');
  assert.equal(r.whatsup, 'whatsup: succeed</p>');
  assert.equal(parseChinaCacheReply(Buffer.from('HTTP/1.0 200 OK\r\n\r\n')).whatsup, null);
});
