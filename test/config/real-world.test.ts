/**
 * Real-world confxml.xml shapes (test/fixtures/real-world, sources in its README): each loads, reads
 * its tree as sersync did, and says exactly these warnings. Every file was also run through
 * sersync's own parser (XMLParser 2.41), which accepted each one.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/real-world', import.meta.url));

interface Shape {
  readonly file: string;
  /** The first tree and its remotes: `watch → id, id` (`<dir>`: the fixture directory). */
  readonly tree: string;
  /** `line:column: message`, in document order. */
  readonly warnings: readonly string[];
}

const CORPUS: readonly Shape[] = [
  {
    file: 'ansible-rendered-unquoted-start.xml',
    tree: '/tmp → 127.0.0.1::data1',
    warnings: [
      '33:15: the value of start= on <timeout> has no quotes: read as "false" (as sersync did); write start="false"',
      '36:11: the fail log /tmp/rsync_fail_log.sh lies inside the watched tree /tmp: it is not replicated, and writing it is not a change (sersync replicated it like any file, so that while a remote was down each failure wrote it again and was one more failure)',
    ],
  },
  {
    file: 'ansible-template-unrendered.xml',
    tree: '<dir>/{{ sersync_watch }} → {{ host }}::{{ sersync_rsync.name }}',
    warnings: [
      '5:17: xfs="{{ sersync_xfs }}" means false: only the exact string "true" enables',
      '5:22: template syntax ({{ … }} or {% … %}): this looks like a template that was never rendered',
      '6:1: text "{% if sersync_exclude %}" inside <head> ignored',
      '8:1: text "{% for i in sersync_exclude %}" inside <filter> ignored',
      '13:5: duplicate <filter> ignored: the first one (line 7) is used',
      '21:10: start="{{ sersync_inotify_delete | ternary(\'true\', \'false\') }}" means false: only the exact string "true" enables',
      '33:1: text "{% for host in sersync_host_list %}" inside <localpath> ignored',
      '34:14: ip="{{ host }}" holds a space or quote: sersync pasted it into a shell command, where it was split into several words; sersync-ts passes the destination to rsync as one argument, "{{ host }}::{{ sersync_rsync.name }}"',
      '34:30: name="{{ sersync_rsync.name }}" holds a space or quote: sersync pasted it into a shell command, where it was split into several words; sersync-ts passes the destination to rsync as one argument, "{{ host }}::{{ sersync_rsync.name }}"',
      '43:15: the value of start= on <timeout> has no quotes: read as "{{" (as sersync did); write start="{{"',
      '43:15: start="{{" means false: only the exact string "true" enables',
      '43:24: attribute "sersync_rsync_start" on <timeout> has no value: ignored (sersync stopped when it read one)',
      '43:44: attribute "}}" on <timeout> has no value: ignored (sersync stopped when it read one)',
      '43:47: time="{{ sersync_rsync_timeout }}" must be a whole number >= 0 (ignored: this part is not enabled)',
      '47:11: start="{{ sersync_crontab }}" means false: only the exact string "true" enables',
    ],
  },
  {
    file: 'gbk-comments.xml',
    tree: '/home/www → 127.0.0.1::tongbu1',
    warnings: [
      '1:1: the file is not UTF-8: read as ISO-8859-1; non-ASCII paths in it may not match the disk',
    ],
  },
  {
    file: 'mangled-addresses.xml',
    tree: '/www → 1726.10.5::/tmp/www',
    warnings: [
      '24:30: text "# 同步的目录" inside <localpath> ignored',
      '25:14: ip="1726.10.5" is not an IPv4 address (a typo?): every sync to it will fail',
      '25:29: name="/tmp/www" starts with "/": rsync refuses the daemon destination 1726.10.5::/tmp/www (the remote path must start with a module name), so every sync to it will fail, as with sersync; name the module as rsyncd.conf does (name="www" for a module [www]), or set <ssh start="true"/> if /tmp/www is a directory on the ssh host',
    ],
  },
  {
    file: 'minimal-utf8.xml',
    tree: '/data/sync → 192.168.1.100::backup',
    warnings: [],
  },
  {
    file: 'module-name-as-path.xml',
    tree: '/opt/tongbu → 172.16.1.41::/data',
    warnings: [
      '3:1: text "# 主机" inside <head> ignored',
      '25:1: text "# 要监控的目录" inside <sersync> ignored',
      '27:1: text "# rsync 服务器的配置参数" inside <localpath> ignored',
      '28:31: name="/data" starts with "/": rsync refuses the daemon destination 172.16.1.41::/data (the remote path must start with a module name), so every sync to it will fail, as with sersync; name the module as rsyncd.conf does (name="data" for a module [data]), or set <ssh start="true"/> if /data is a directory on the ssh host',
      '34:6: text "# auth start 参数改为 true" inside <rsync> ignored',
    ],
  },
  {
    file: 'placeholders-as-hosts.xml',
    tree: '/syncdir → {TARGET_HOST}::syncdir',
    warnings: [
      '25:14: ip="{TARGET_HOST}" is not a host name or address (a placeholder left in?): every sync to it will fail',
    ],
  },
  {
    file: 'shell-comments-as-text.xml',
    tree: '/data → 172.16.1.41::web_data',
    warnings: [
      '3:51: text "#本机ip地址和端口" inside <head> ignored',
      '13:6: text "#inotify 监控的动作" inside <inotify> ignored',
      '25:50: text "#监控的目录" inside <localpath> ignored',
      '31:44: text "#rsync的参数" inside <rsync> ignored',
      '37:2: text "#错误日志存储路径" inside <sersync> ignored',
      '57:50: text "#监控的目录" inside <localpath> ignored',
    ],
  },
  {
    file: 'utf8-bom.xml',
    tree: '/var/www/html → 127.0.0.1::tongbu1',
    warnings: [],
  },
  {
    file: 'values-with-spaces.xml',
    tree: '/srv/web site → 10.0.0.5::mod x',
    warnings: [
      '25:14: the spaces around the value of ip= on <remote> are dropped: read as "10.0.0.5"',
      '25:29: name="mod x" holds a space or quote: sersync pasted it into a shell command, where it was split into several words; sersync-ts passes the destination to rsync as one argument, "10.0.0.5::mod x"',
    ],
  },
  {
    file: 'zh-comments-iso8859-declaration.xml',
    tree: '/data → 172.16.1.41::data',
    warnings: [],
  },
];

for (const shape of CORPUS) {
  test(`real-world config loads as sersync read it: ${shape.file}`, () => {
    const config = loadConfig(`${DIR}/${shape.file}`);
    const [tree] = config.localpaths;
    assert.ok(tree !== undefined);
    assert.equal(
      `${tree.watch.replace(DIR, '<dir>')} → ${tree.remotes.map((r) => r.id).join(', ')}`,
      shape.tree,
    );
    assert.deepEqual(
      config.warnings
        // the password file these configs name (/etc/rsync.pas…) is on their hosts, not on this one
        .filter((w) => !/^passwordfile \S+ cannot be read/.test(w.message))
        .map((w) => `${w.line}:${w.column}: ${w.message}`),
      shape.warnings,
    );
  });
}
