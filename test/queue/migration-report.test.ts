import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { migrationReport } from '../../src/queue/migration-report.js';
import { tempDir } from '../helpers/tmp.js';
import { testConfig, type TestConfigOptions } from './helpers/config.js';

async function reportIds(o: Partial<TestConfigOptions>): Promise<string[]> {
  const d = await tempDir();
  try {
    const config = testConfig(d.path, { watch: '/W', failLog: join(d.path, 'fail.sh'), ...o });
    const report = migrationReport(config);
    for (const item of report) {
      assert.ok(item.change.length > 0 && item.why.length > 0 && !item.change.includes('\n'), item.id);
    }
    return report.map((r) => r.id);
  } finally {
    await d.remove();
  }
}

const ALWAYS = ['no-sysctl', 'fail-log-mirror', 'stop-queues', 'batched-runs'];

test('the shipped default config: only what concerns every sersync user, dot-files, TCP_NODELAY and files never closed', async () => {
  assert.deepEqual(
    (await reportIds({})).sort(),
    [...ALWAYS, 'dot-files', 'tcp-nodelay', 'unclosed-files', 'update-event-syncs'].sort(),
  );
});

test('each config-dependent difference is reported exactly when it applies', async () => {
  const cases: [Partial<TestConfigOptions>, string[]][] = [
    [
      { headXml: '<filter start="true"><exclude expression="(.*)\\.gz"/></filter>' },
      ['filter-path-forms', 'filter-full-syncs', 'filter-new-dir-contents'],
    ],
    [{ headXml: '<filter start="true"></filter>' }, []],
    [{ ssh: true, auth: { users: 'root', passwordFile: '/etc/rsync.pas' } }, ['ssh-password-file']],
    [{ ssh: true }, []],
    [
      { moreLocalpaths: '<localpath watch="/W2"><remote ip="127.0.0.1" name="m2"/></localpath>' },
      ['several-localpaths'],
    ],
    [
      { moreLocalpaths: '<localpath watch="/W2"><remote ip="2001:db8::5" name="m2"/></localpath>' },
      ['several-localpaths', 'ipv6-bracketed'],
    ],
    [
      { moreLocalpaths: '<localpath watch="/W2"><remote ip="[2001:db8::5]" name="m2"/></localpath>' },
      ['several-localpaths'],
    ],
    [{ inotifyXml: '<attrib start="true"/>' }, ['attrib-sync']],
    [{ inotifyXml: '<createFolder start="false"/>' }, ['new-dirs-watched']],
    [{ headXml: '<filter start="false" ignoreDotFiles="true"></filter>' }, []],
    [{ failLog: '/W/rsync_fail_log.sh' }, ['fail-log-in-tree']],
    [
      {
        sersyncXml: '<plugin start="true" name="socket"/>',
        headXml:
          '<plugin name="socket"><localpath watch="/W"><deshost ip="127.0.0.1" port="8009"/></localpath></plugin>',
      },
      ['plugin-root'],
    ],
    [
      {
        sersyncXml: '<plugin start="true" name="command"/>',
        headXml: '<plugin name="command"><param prefix="/bin/sh" suffix="" ignoreError="true"/></plugin>',
      },
      ['command-runs-tree-files'],
    ],
    [
      {
        sersyncXml: '<plugin start="true" name="command"/>',
        headXml: '<plugin name="command"><param prefix="/opt/hooks/on-change"/></plugin>',
      },
      [],
    ],
  ];
  const base = new Set(await reportIds({}));
  for (const [options, expected] of cases) {
    const ids = await reportIds(options);
    const added = ids.filter((id) => !base.has(id));
    assert.deepEqual(added, expected, JSON.stringify(options));
  }
  // Dropping differences: dot-files off with ignoreDotFiles, TCP_NODELAY only for daemon targets.
  assert.ok(
    !(await reportIds({ headXml: '<filter start="false" ignoreDotFiles="true"></filter>' })).includes(
      'dot-files',
    ),
  );
  assert.ok(!(await reportIds({ ssh: true })).includes('tcp-nodelay'));
  // Files never closed: not held with closeWrite off; nothing differs when modify and createFile send them anyway.
  assert.ok(!(await reportIds({ inotifyXml: '<closeWrite start="false"/>' })).includes('unclosed-files'));
  assert.ok(
    !(await reportIds({ inotifyXml: '<modify start="true"/><createFile start="true"/>' })).includes(
      'unclosed-files',
    ),
  );
});
