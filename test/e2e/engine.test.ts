/**
 * The real-time engine end to end (issue: filter, coalesce, batch, dispatch): the real CLI, a
 * real daemon, real files. The daemon's transfer log shows what travelled; the replicator's
 * JSON log lines (`synced … rsyncRuns`) show how many rsync runs it took.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { converged as convergedTo, useLab } from '../helpers/lab.js';
import type { SersyncConfigSpec, SersyncProcess } from '../helpers/sersync.js';
import { eventually } from '../helpers/trees.js';

const lab = useLab('sersync-engine-');

const withSersync = (
  spec: Partial<SersyncConfigSpec>,
  body: (src: string, proc: SersyncProcess, base: string) => Promise<void>,
): Promise<void> => lab.withSersync({ spec }, (run) => body(run.src, run.proc, run.base));

const converged = (src: string, replica = lab.daemon.dir): Promise<void> => convergedTo(src, replica);

/** rsync runs reported by the replicator's `synced` log lines so far. */
function rsyncRuns(proc: SersyncProcess): number {
  return proc
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"msg":"synced"') || l.includes('"msg":"sync failed'))
    .reduce((n, l) => n + ((JSON.parse(l) as { rsyncRuns?: number }).rsyncRuns ?? 0), 0);
}

const TEMP = /(^|\/)(sed[A-Za-z0-9]{6})$/;

test('engine: sed -i on 200 files during a 5,000-file burst sends no temp file', async () => {
  await withSersync({}, async (src) => {
    mkdirSync(join(src, 'edit'));
    for (let i = 0; i < 200; i++) writeFileSync(join(src, 'edit', `t${i}.txt`), `line alpha ${i}\n`);
    await converged(src);
    const burst = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs'),p=require('path');for(let d=0;d<50;d++){fs.mkdirSync(p.join(process.argv[1],'b'+d));for(let f=0;f<100;f++)fs.writeFileSync(p.join(process.argv[1],'b'+d,'f'+f),'x');}`,
        src,
      ],
      { stdio: 'inherit' },
    );
    const files = Array.from({ length: 200 }, (_, i) => join(src, 'edit', `t${i}.txt`));
    for (let i = 0; i < files.length; i += 50) {
      const r = spawnSync('sed', ['-i', 's/alpha/ALPHA/', ...files.slice(i, i + 50)]);
      assert.equal(r.status, 0);
    }
    await new Promise((resolve) => burst.once('exit', resolve));
    await converged(src);
    assert.deepEqual(
      (await lab.daemon.received()).filter((p) => TEMP.test(p)),
      [],
    );
  });
});

test('engine: a directory renamed while files are still written into it', async () => {
  await withSersync({}, async (src) => {
    mkdirSync(join(src, 'live'));
    for (let i = 0; i < 100; i++) writeFileSync(join(src, 'live', `early${i}`), `e${i}`);
    await converged(src);
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs'),p=require('path');let dir=p.join(process.argv[1],'live');
         for(let i=0;i<400;i++){ if(i===150){const n=p.join(process.argv[1],'renamed');fs.renameSync(dir,n);dir=n;}
           fs.writeFileSync(p.join(dir,'late'+i),'l'+i); }`,
        src,
      ],
      { stdio: 'inherit' },
    );
    await new Promise((resolve) => writer.once('exit', resolve));
    await converged(src);
    assert.equal(existsSync(join(lab.daemon.dir, 'live')), false);
  });
});

test('engine: rm -rf of a 10,000-file tree is a handful of rsync runs, not 10,000', async () => {
  await withSersync({}, async (src, proc) => {
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(src, 'big', `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(src, 'big', `d${d}`, `f${f}`), '');
    }
    await converged(src);
    const before = rsyncRuns(proc);
    rmSync(join(src, 'big'), { recursive: true });
    await converged(src);
    await eventually(() => rsyncRuns(proc) > before);
    assert.ok(rsyncRuns(proc) - before <= 10, `${rsyncRuns(proc) - before} rsync runs for one rm -rf`);
  });
});

test('engine: a file created and deleted within a millisecond never reaches the replica', async () => {
  await withSersync({}, async (src) => {
    for (let i = 0; i < 50; i++) {
      const p = join(src, `blink${i}`);
      writeFileSync(p, 'now you see me');
      unlinkSync(p);
    }
    writeFileSync(join(src, 'marker'), 'm');
    await converged(src);
    assert.deepEqual(
      (await lab.daemon.received()).filter((p) => p.startsWith('blink')),
      [],
    );
  });
});

test('engine: with two remotes and one of them down, the other converges', async () => {
  const local = join(lab.work, 'local-replica');
  mkdirSync(local, { recursive: true });
  await withSersync({ localTargets: [local] }, async (src) => {
    await lab.daemon.stop();
    try {
      mkdirSync(join(src, 'd'));
      for (let i = 0; i < 100; i++) writeFileSync(join(src, 'd', `f${i}`), `${i}`);
      renameSync(join(src, 'd'), join(src, 'e'));
      await converged(src, local);
    } finally {
      await lab.daemon.restart();
    }
    await converged(src);
  });
});

test('engine: hostile names replicate byte-exact through the CLI and nothing runs', async () => {
  const names = [
    '`touch INJECTED`',
    '$(touch INJECTED2)',
    'x; touch PWNED',
    '-rf',
    '--delete',
    'a"b\'c',
    'new\nline',
    '#c',
    ' lead',
  ];
  await withSersync({}, async (src, _proc, base) => {
    for (const n of names) writeFileSync(join(src, n), n);
    mkdirSync(join(src, '--dir with space'));
    writeFileSync(join(src, '--dir with space', '-f'), 'f');
    writeFileSync(Buffer.concat([Buffer.from(`${src}/`), Buffer.from([0x66, 0xe9, 0xff])]), 'latin');
    await converged(src);
    for (const where of [src, lab.daemon.dir, base, process.cwd()]) {
      for (const f of ['INJECTED', 'INJECTED2', 'PWNED'])
        assert.equal(existsSync(join(where, f)), false, `${where}/${f}`);
    }
  });
});
