/**
 * One replicator per watched directory, whatever path leads to it: the same config through a
 * symlink to it or to its directory, with another `--state-dir`, or another config whose watch
 * path is a symlink to the same tree. The second is refused (exit 1, the first named), the first
 * goes on replicating, and a `kill -9` of the first frees the tree at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useLab, converged } from '../helpers/lab.js';
import { sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { runCli } from './cli-run.js';

const lab = useLab('sersync-instance-lock-');

test('a second replicator of the same tree is refused however it is reached; kill -9 frees it', async () => {
  await lab.withSersync({}, async (run) => {
    const config = join(run.base, 'confxml.xml');
    const state = join(run.base, 'state');
    const pid = run.proc.child.pid ?? 0;
    symlinkSync(config, join(run.base, 'link.xml'));
    symlinkSync(run.base, join(lab.work, `${run.base.split('/').pop() ?? ''}-dirlink`));
    symlinkSync(run.src, join(run.base, 'W-link'));
    const other = join(run.base, 'other');
    mkdirSync(other);
    const otherConfig = writeConfig(
      other,
      sersyncConfigXml({ watch: join(run.base, 'W-link'), daemons: [lab.daemon], failLog: join(other, 'f') }),
    );
    const seconds: Record<string, readonly string[]> = {
      'a symlink to the config': ['-o', join(run.base, 'link.xml'), '--state-dir', state],
      'a symlinked directory': [
        '-o',
        join(lab.work, `${run.base.split('/').pop() ?? ''}-dirlink`, 'confxml.xml'),
        '--state-dir',
        state,
      ],
      'another --state-dir': ['-o', config, '--state-dir', join(run.base, 'state2')],
      'another config watching a symlink to the tree': [
        '-o',
        otherConfig,
        '--state-dir',
        join(other, 'state'),
      ],
    };
    for (const [how, args] of Object.entries(seconds)) {
      const second = await runCli(args, 30_000); // one that runs is stopped
      assert.equal(second.code, 1, `${how}: the second one ran:\n${second.stdout}\n${second.stderr}`);
      assert.match(
        second.stderr,
        new RegExp(`another sersync2 \\(pid ${pid}, config ${config}\\) already watches ${run.src}`),
        how,
      );
      assert.doesNotMatch(second.stdout, /^watching /m, `${how}: it watched`);
    }
    writeFileSync(join(run.src, 'after.txt'), 'the first one still replicates');
    await converged(run.src, run.replica);
  });
});

test('kill -9 of the holder frees the tree for the next start at once', async () => {
  const base = join(lab.work, 'killed');
  const src = join(base, 'W');
  mkdirSync(src, { recursive: true });
  const config = writeConfig(
    base,
    sersyncConfigXml({ watch: src, daemons: [lab.daemon], failLog: join(base, 'f') }),
  );
  const first = await startSersync(config, [], join(base, 'state'));
  first.child.kill('SIGKILL');
  await first.stop();
  const next = await startSersync(config, [], join(base, 'state2'));
  assert.equal(await next.stop(), 0, next.stderr());
});

test('a second start on a deploy symlink after a switch is refused: the path as written is held too', async () => {
  const base = join(lab.work, 'deploy');
  const [r1, r2] = [join(base, 'releases', '1'), join(base, 'releases', '2')];
  for (const r of [r1, r2]) mkdirSync(r, { recursive: true });
  const current = join(base, 'current');
  symlinkSync(r1, current);
  const config = writeConfig(
    base,
    sersyncConfigXml({ watch: current, daemons: [lab.daemon], failLog: join(base, 'f') }),
  );
  const first = await startSersync(config, [], join(base, 'state'));
  try {
    symlinkSync(r2, join(base, 'next')); // the deploy's switch, atomic
    renameSync(join(base, 'next'), current);
    const second = await runCli(['-o', config, '--state-dir', join(base, 'state2')], 30_000);
    assert.equal(second.code, 1, `the second one ran:\n${second.stdout}\n${second.stderr}`);
    assert.match(
      second.stderr,
      new RegExp(
        `another sersync2 \\(pid ${first.child.pid ?? 0}, config ${config}\\) already watches ${current}`,
      ),
    );
  } finally {
    assert.equal(await first.stop(), 0, first.stderr());
  }
});

test('a replicator of a tree inside another one, or containing it, says so at start; both run', async () => {
  const base = join(lab.work, 'nested');
  const outer = join(base, 'W');
  const inner = join(outer, 'www');
  mkdirSync(inner, { recursive: true });
  const configOf = (name: string, watch: string): string => {
    mkdirSync(join(base, name));
    return writeConfig(
      join(base, name),
      sersyncConfigXml({ watch, daemons: [lab.daemon], failLog: join(base, name, 'f') }),
    );
  };
  const [outerConfig, innerConfig] = [configOf('outer', outer), configOf('inner', inner)];
  const said = (p: { stdout(): string; stderr(): string }): string => p.stdout() + p.stderr();
  const started: { stop(): Promise<number | null> }[] = [];
  const start = async (config: string, name: string): Promise<Awaited<ReturnType<typeof startSersync>>> => {
    const p = await startSersync(config, [], join(base, name, 'state'));
    started.push(p);
    return p;
  };
  try {
    const first = await start(outerConfig, 'outer');
    const second = await start(innerConfig, 'inner');
    assert.match(
      said(second),
      new RegExp(
        `WARNING: another sersync2 \\(pid ${first.child.pid ?? 0}, config ${outerConfig}\\) watches ${outer}, which contains ${inner}`,
      ),
    );
    assert.doesNotMatch(said(first), /WARNING: another sersync2/, 'the first one had nobody to compare with');
    assert.equal(await first.stop(), 0, first.stderr());
    const again = await start(outerConfig, 'outer');
    assert.match(
      said(again),
      new RegExp(
        `WARNING: another sersync2 \\(pid ${second.child.pid ?? 0}, config ${innerConfig}\\) watches ${inner}, inside ${outer}`,
      ),
    );
    assert.equal(await again.stop(), 0, again.stderr());
    assert.equal(await second.stop(), 0, second.stderr());
  } finally {
    await Promise.all(started.map((p) => p.stop())); // after a failed assertion
  }
});
