/**
 * Cascading replication (docs/operations.md, Cascading replication): tier 1's sersync2 sends to
 * rsync daemon A; a second sersync2 watches A's module directory and forwards to daemon B. Every
 * change reaches the last tier; rsync's receiver temp files on A (`.name.XXXXXX`) are never
 * forwarded (daemon B's transfer log); the lag to B is about two hops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { converged } from '../helpers/lab.js';
import { sersyncConfigXml, startSersync, writeConfig, type SersyncProcess } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';

/** rsync's receiver writes `.name.XXXXXX` and renames it into place. */
const RSYNC_TEMP = /(^|\/)\.[^/]+\.[A-Za-z0-9]{6}$/;

/** When `file` has `content` (polled: the replicas are other processes' work). */
async function arrival(file: string, content: string): Promise<number> {
  await eventually(() => existsSync(file) && readFileSync(file, 'utf8') === content, 30_000, file);
  return performance.now();
}

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

test('two tiers: every change reaches the last one, no temp file is forwarded, lag about two hops', async (t) => {
  const work = await tempDir('sersync-cascade-');
  const daemons: RsyncDaemon[] = [];
  const procs: SersyncProcess[] = [];
  try {
    const a = await startRsyncDaemon();
    daemons.push(a);
    const b = await startRsyncDaemon();
    daemons.push(b);
    const src = join(work.path, 'src');
    mkdirSync(src);
    const tier = async (name: string, watch: string, to: RsyncDaemon): Promise<void> => {
      const base = join(work.path, name);
      mkdirSync(base);
      const xml = sersyncConfigXml({ watch, daemons: [to], failLog: join(base, 'fail.sh') });
      procs.push(await startSersync(writeConfig(base, xml), [], join(base, 'state')));
    };
    await tier('tier1', src, a); // the source → A
    await tier('tier2', a.dir, b); // A's module directory → B

    // Lag: files written one at a time, their arrival on A (one hop) and on B (two hops).
    const hop1: number[] = [];
    const hop2: number[] = [];
    for (let i = 0; i < 8; i++) {
      const content = `lag probe ${i}\n`;
      const written = performance.now();
      writeFileSync(join(src, `probe${i}.txt`), content);
      const [onA, onB] = await Promise.all([
        arrival(join(a.dir, `probe${i}.txt`), content),
        arrival(join(b.dir, `probe${i}.txt`), content),
      ]);
      hop1.push(onA - written);
      hop2.push(onB - written);
    }
    t.diagnostic(`median lag: A ${median(hop1).toFixed(0)} ms, B ${median(hop2).toFixed(0)} ms`);
    assert.ok(median(hop2) > median(hop1), 'B is one hop further than A');
    assert.ok(
      median(hop2) < 2.5 * median(hop1) + 500,
      `the second hop costs about what the first does (A ${median(hop1)} ms, B ${median(hop2)} ms)`,
    );

    // Every kind of change, large files included (their temp file lives on A for a while).
    mkdirSync(join(src, 'dir', 'deep'), { recursive: true });
    writeFileSync(join(src, 'dir', 'deep', 'big.bin'), Buffer.alloc(8 << 20, 7));
    writeFileSync(join(src, 'dir', 'small.txt'), 'small');
    writeFileSync(join(src, 'probe0.txt'), 'rewritten');
    rmSync(join(src, 'probe1.txt'));
    renameSync(join(src, 'dir'), join(src, 'moved'));
    writeFileSync(join(src, 'moved', 'after-move.txt'), 'after');
    await converged(src, a.dir, { ms: 60_000 });
    await converged(src, b.dir, { ms: 60_000 });

    const forwarded = await b.received();
    assert.ok(
      forwarded.some((p) => p.endsWith('big.bin')),
      forwarded.join('\n'),
    );
    assert.deepEqual(
      forwarded.filter((p) => RSYNC_TEMP.test(p)),
      [],
      'rsync temp files from A were forwarded to B',
    );
  } finally {
    for (const p of procs) assert.equal(await p.stop(), 0, p.stderr());
    for (const d of daemons) await disposeRsyncDaemon(d);
    await work.remove();
  }
});
