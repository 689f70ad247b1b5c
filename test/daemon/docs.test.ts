/**
 * docs/operations.md against the program: every sersync2 command it shows exists with the options
 * it shows, every other command it shows is checked against what it relies on, the file names it
 * prints are the real ones, and its metrics table is the real list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlSocketFile } from '../../src/daemon/control.js';
import { watchLimitWarning } from '../../src/daemon/inotify-usage.js';
import { renderMetrics } from '../../src/daemon/metrics.js';
import { buildStatus } from '../../src/daemon/status.js';
import { stateFileFor } from '../../src/queue/state-dir.js';
import { runCli } from './cli-run.js';
import { parsePrometheusText } from './prometheus-text.js';
import { failingPlugin, inputs } from './status-fixture.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
const UNIT = readFileSync(join(ROOT, 'contrib', 'sersync2.service'), 'utf8');
/** The example config and state directory the document uses throughout. */
const EXAMPLE = { config: '/etc/sersync2/confxml.xml', stateDir: '/var/lib/sersync2' };

/** `$ …` lines of the ```console blocks, without their trailing `# comment`. */
function consoleCommands(md: string): string[] {
  const blocks = [...md.matchAll(/^```console\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  return blocks.flatMap((b) =>
    b
      .split('\n')
      .filter((l) => l.startsWith('$ '))
      .map((l) =>
        l
          .slice(2)
          .replace(/\s+#\s.*$/, '')
          .trim(),
      ),
  );
}

/** Inline `sersync2 …` code spans. */
function inlineSersync(md: string): string[] {
  return [...md.matchAll(/`(sersync2 [^`]*)`/g)].map((m) => m[1] ?? '');
}

/** Command path (`queue list`) and options (`--json`) of a documented sersync2 line. */
function parseSersync(line: string): { path: string[]; options: string[] } {
  const words = line
    .replace(/ \| .*$/, '')
    .replace(/[[\]]/g, ' ')
    .split(/\s+/)
    .slice(1)
    .filter((w) => w !== '' && w !== '…');
  const firstNonWord = words.findIndex((w) => !/^[a-z]+$/.test(w));
  const path = firstNonWord < 0 ? words : words.slice(0, firstNonWord);
  return { path, options: words.filter((w) => w.startsWith('-')) };
}

/** The program's options that every command takes (program.ts `globalOptions`); the rest start the replicator. */
const GLOBAL_OPTIONS = new Set(['-o', '--config', '--state-dir']);

test('docs: every sersync2 command shown exists and takes the options shown', async () => {
  const lines = [...consoleCommands(DOC), ...inlineSersync(DOC)].filter((l) => l.startsWith('sersync2 '));
  assert.ok(lines.length > 10, 'the commands were found');
  const byPath = new Map<string, Set<string>>();
  for (const line of lines) {
    const { path, options } = parseSersync(line);
    const key = path.join(' ');
    byPath.set(key, new Set([...(byPath.get(key) ?? []), ...options]));
  }
  await Promise.all(
    [...byPath].map(async ([path, options]) => {
      const args = [...(path === '' ? [] : path.split(' ')), '--help'];
      const help = await runCli(args);
      assert.equal(help.code, 0, `sersync2 ${path} is a command: ${help.stderr}`);
      for (const option of options) {
        if (path !== '' && GLOBAL_OPTIONS.has(option)) continue;
        assert.match(
          help.stdout,
          new RegExp(`(^|[\\s,])${option}\\b`, 'm'),
          `sersync2 ${path} takes ${option}`,
        );
      }
    }),
  );
});

/** What each other command shown relies on, checked; a command without an entry fails the test. */
const OTHER_COMMANDS: readonly [RegExp, (m: RegExpExecArray) => void][] = [
  [
    /^cp contrib\/(\S+) \/etc\/systemd\/system\/$/,
    (m) => assert.ok(existsSync(join(ROOT, 'contrib', m[1] ?? ''))),
  ],
  [
    // the unit is named after the file; reload is its ExecReload (SIGHUP: daemon.test.ts)
    /^systemctl (?:daemon-reload && systemctl enable --now|reload) (\S+)$/,
    (m) => {
      assert.ok(existsSync(join(ROOT, 'contrib', `${m[1] ?? ''}.service`)));
      assert.match(UNIT, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    },
  ],
  [/^journalctl -u (\S+) -f$/, (m) => assert.ok(existsSync(join(ROOT, 'contrib', `${m[1] ?? ''}.service`)))],
  [
    /^kill -HUP "\$\(cat (\S+)\)"$/,
    (m) => assert.equal(m[1], stateFileFor(EXAMPLE.stateDir, EXAMPLE.config, 'sersync2', 'pid')),
  ],
  [
    // the file to install there, as logrotate reads it; a real rotation of a running daemon: contrib.test.ts
    /^logrotate -d (\/etc\/logrotate\.d\/sersync2)$/,
    (m) => {
      const file = join(ROOT, 'contrib', 'logrotate');
      assert.ok(readFileSync(file, 'utf8').startsWith(`# ${m[1] ?? ''} `));
      const dry = spawnSync('logrotate', ['-d', file], { encoding: 'utf8' });
      if (dry.error === undefined) assert.equal(dry.status, 0, dry.stderr);
    },
  ],
  // one watch per directory, root included: inotify-limit.test.ts (9 + 1 directories, 10 watches)
  [/^find \S+ -type d \| wc -l$/, () => undefined],
  [
    /^(?:sysctl(?: -w)? |echo )fs\.inotify\.max_user_watches(?:=\d+)?(?: > (\S+))?$/,
    (m) => {
      const warning = watchLimitWarning({ ours: 9, userTotal: 9, limit: 10 }) ?? '';
      assert.match(warning, /sysctl -w fs\.inotify\.max_user_watches=/);
      if (m[1] !== undefined) assert.ok(warning.includes(m[1]), `the warning names ${m[1]}`);
    },
  ],
  [
    /^curl -s http:\/\/127\.0\.0\.1:8008\/metrics \| grep (\w+)$/,
    (m) => assert.ok(parsePrometheusText(renderMetrics(buildStatus(inputs()))).has(m[1] ?? '')),
  ],
];

test('docs: every other command shown is checked against what it relies on', () => {
  const others = consoleCommands(DOC).filter((l) => !l.startsWith('sersync2 '));
  assert.ok(others.length > 5);
  for (const line of others) {
    const entry = OTHER_COMMANDS.map(([re, check]) => [re.exec(line), check] as const).find(
      ([m]) => m !== null,
    );
    assert.ok(entry !== undefined, `no check for the documented command: ${line}`);
    const [m, check] = entry;
    if (m !== null) check(m);
  }
});

test('docs: the state file names shown are the ones used for /etc/sersync2/confxml.xml', () => {
  const shown = new Set(DOC.match(/\/var\/lib\/sersync2\/[a-z0-9]+-confxml\.xml-[0-9a-f]{8}\.[a-z]+/g));
  assert.ok(shown.size >= 3);
  const real = new Set([
    stateFileFor(EXAMPLE.stateDir, EXAMPLE.config, 'sersync2', 'log'),
    stateFileFor(EXAMPLE.stateDir, EXAMPLE.config, 'sersync2', 'pid'),
    controlSocketFile(EXAMPLE.stateDir, EXAMPLE.config),
  ]);
  for (const name of shown) assert.ok(real.has(name), `${name} is what sersync2 uses`);
});

test('docs: the metrics table lists exactly the metrics served', () => {
  const verify = { lastRunAt: 1, lastSuccessAt: 1, nextAt: 2, lanes: [] }; // <verify start="true">
  const plugin = failingPlugin(); // <plugin start="true">
  const served = [
    ...parsePrometheusText(renderMetrics(buildStatus(inputs({ verify, plugin })))).keys(),
  ].sort();
  const section = DOC.slice(DOC.indexOf('## Metrics'), DOC.indexOf('## inotify limits'));
  const documented = [...new Set(section.match(/sersync_\w+/g))].sort();
  assert.deepEqual(documented, served);
});
