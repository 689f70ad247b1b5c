/**
 * `sersync2 -m PLUGIN` through the real CLI (G28–G30, and the http plugin sersync advertised but
 * never built): no rsync, each event handed to the plugin in order, against real listeners.
 * The same three changes each time: `echo > W/m.txt; mkdir W/dd; rm W/m.txt`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginName } from '../../src/config/types.js';
import { startHttpCapture, startTcpCapture } from '../plugins/helpers.js';
import { sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';
import { watchesDirectory } from './helpers.js';

let work: { path: string; remove: () => Promise<void> };
before(async () => {
  work = await tempDir('sersync-plugin-only-');
});
after(async () => {
  await work.remove();
});

let runs = 0;
/**
 * Runs `sersync2 -m NAME` on a config whose plugin section `section(W)` gives, makes the three
 * changes one at a time (each once the plugin has delivered the previous one), then stops it.
 */
async function pluginOnly(
  name: PluginName,
  section: (watch: string) => string,
  delivered: () => number,
): Promise<string> {
  const base = join(work.path, `run${++runs}`);
  const watch = join(base, 'W');
  mkdirSync(watch, { recursive: true });
  const shipped = sersyncConfigXml({
    watch,
    localTargets: [join(base, 'replica')],
    failLog: join(base, 'fail.sh'),
  });
  const own = new RegExp(`<plugin name="${name}">[\\s\\S]*?</plugin>`);
  const xml = own.test(shipped)
    ? shipped.replace(own, section(watch))
    : shipped.replace('</head>', `${section(watch)}\n</head>`);
  const proc = await startSersync(writeConfig(base, xml), ['-m', name], join(base, 'state'), {
    ready: /^watch path is: /m,
  });
  try {
    const pid = proc.child.pid ?? 0;
    // sersync2 prints nothing once a plugin's watch is set: ask the kernel.
    await eventually(() => watchesDirectory(pid, watch), 10_000, 'the watch on W');
    const steps = [
      () => {
        writeFileSync(join(watch, 'm.txt'), '\n');
      },
      () => {
        mkdirSync(join(watch, 'dd'));
      },
      () => {
        rmSync(join(watch, 'm.txt'));
      },
    ];
    for (const [i, step] of steps.entries()) {
      step();
      await eventually(() => delivered() >= i + 1, 10_000, `event ${i + 1} delivered`);
    }
    // not even created: plugin-only mode has no replica
    assert.equal(existsSync(join(base, 'replica')), false, 'no rsync in plugin-only mode');
  } finally {
    assert.equal(await proc.stop(), 0, proc.stderr());
  }
  return watch;
}

test('G28: -m command runs prefix, the absolute path, suffix for each event, in order', async () => {
  const dir = join(work.path, 'command');
  mkdirSync(dir);
  const out = join(dir, 'calls');
  const script = join(dir, 'record.sh');
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${out}\n`);
  chmodSync(script, 0o755);
  const calls = (): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1) : []);
  const watch = await pluginOnly(
    'command',
    () =>
      `<plugin name="command"><param prefix="${script} CMD" suffix="END" ignoreError="false"/><filter start="false"/></plugin>`,
    () => calls().length,
  );
  assert.deepEqual(calls(), [`CMD ${watch}/m.txt END`, `CMD ${watch}/dd END`, `CMD ${watch}/m.txt END`]);
});

test('G29: -m socket opens one connection per event carrying exactly the absolute path', async () => {
  const server = await startTcpCapture();
  try {
    const watch = await pluginOnly(
      'socket',
      (w) =>
        `<plugin name="socket"><localpath watch="${w}"><deshost ip="127.0.0.1" port="${server.port}"/></localpath></plugin>`,
      () => server.received.length,
    );
    assert.deepEqual(
      server.received.map((b) => b.toString('latin1')),
      [`${watch}/m.txt`, `${watch}/dd`, `${watch}/m.txt`],
    );
  } finally {
    await server.close();
  }
});

test('G30: -m refreshCDN sends the ChinaCache HEAD request per event (watch written with a trailing slash)', async () => {
  const server = await startTcpCapture({
    reply: 'HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>whatsup: succeed\r\n</html>\r\n',
  });
  try {
    await pluginOnly(
      'refreshCDN',
      (w) =>
        `<plugin name="refreshCDN"><localpath watch="${w}/">` +
        `<cdninfo domainname="127.0.0.1" port="${server.port}" username="xxxx" passwd="xxxx"/>` +
        '<sendurl base="http://pic.xoyo.com/cms"/>' +
        '<regexurl regex="false" match="cms.xoyo.com/site([/a-zA-Z0-9]*).xoyo.com/images"/>' +
        '</localpath></plugin>',
      () => server.received.length,
    );
    const head = (q: string): string =>
      `HEAD /index.jsp?user=xxxx&pswd=xxxx&ok=ok&${q} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`;
    assert.deepEqual(
      server.received.map((b) => b.toString('latin1')),
      [
        head('urls=http://pic.xoyo.com/cms/m.txt'),
        head('dirs=http://pic.xoyo.com/cms/dd/'),
        head('urls=http://pic.xoyo.com/cms/m.txt'),
      ],
    );
  } finally {
    await server.close();
  }
});

test("-m http posts the fields of sersync's http plugin source, one request per event", async () => {
  const server = await startHttpCapture();
  try {
    const watch = await pluginOnly(
      'http',
      (w) =>
        `<plugin name="http"><localpath watch="${w}"><deshost url="${server.url}/hook"/></localpath></plugin>`,
      () => server.requests.length,
    );
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.url} ${r.body.toString('latin1')}`),
      [
        `POST /hook watchroot=${watch}&isdir=0&inotifyPath=${watch}/m.txt&mask=8`, // IN_CLOSE_WRITE
        `POST /hook watchroot=${watch}&isdir=1&inotifyPath=${watch}/dd&mask=1073742080`, // IN_CREATE|IN_ISDIR
        `POST /hook watchroot=${watch}&isdir=0&inotifyPath=${watch}/m.txt&mask=512`, // IN_DELETE
      ],
    );
  } finally {
    await server.close();
  }
});
