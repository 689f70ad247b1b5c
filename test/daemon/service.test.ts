/**
 * The Service's reload rules with stand-in engines (the real engine's reloads run end to end in
 * daemon.test.ts): what is refused, what falls back, what is asked during a switch, what is kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Config } from '../../src/config/types.js';
import { askDaemon, ControlServer } from '../../src/daemon/control.js';
import { Service, type Engine, type EngineFactory } from '../../src/daemon/service.js';
import { ConfigError, SersyncError } from '../../src/errors.js';
import type { TreeStatus } from '../../src/sync/replicator.js';
import { testConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/tmp.js';
import { watched } from './status-fixture.js';

const ROOT = '/srv/www';

function config(stateDir: string | null = null, id = 'A::m'): Config {
  return testConfig([{ watch: ROOT, remotes: [{ id, target: { kind: 'local', path: '/r' } }] }], {
    overrides: { stateDir, file: '/etc/sersync2/confxml.xml' },
  });
}

/** An engine that reports `events` seen on its one tree and records its stop. */
function engine(cfg: Config, events: number, log: string[]): Engine {
  const tree: TreeStatus = { root: ROOT, ...watched(), events, pending: 0, lanes: [] };
  return {
    config: cfg,
    watchStats: [{ directories: 1, readyMs: 1, backend: 'inotify' }],
    status: () => [tree],
    resync: () => undefined,
    retriesByLane: () => [],
    failLogTrouble: () => null,
    nextFullSyncAt: () => null,
    outstanding: () => [],
    verifyStatus: () => null,
    plugin: () => null,
    repair: () => 0,
    stop: () => {
      log.push(`stop ${cfg.localpaths[0]?.remotes[0]?.id ?? ''}`);
      return Promise.resolve();
    },
  };
}

interface Rig {
  readonly service: Service;
  readonly logLines: string[];
  readonly socket: string;
  close(): Promise<void>;
}

async function rig(opts: { factory: EngineFactory; next: () => Config }): Promise<Rig> {
  const dir = await tempDir('sersync-service-');
  const socket = join(dir.path, 'control.sock');
  const control = await ControlServer.claim(socket, '/etc/sersync2/confxml.xml');
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
  const service = new Service({
    control,
    pool: { inFlight: 0, maxConcurrent: 1, started: 0, cannotStart: null },
    log,
    startEngine: opts.factory,
    loadConfig: opts.next,
  });
  return {
    service,
    logLines,
    socket,
    close: async () => {
      await service.stop();
      await control.close();
      await dir.remove();
    },
  };
}

test('service: a config that cannot be read, or that the loader refuses for the running one, is refused', async () => {
  const calls: string[] = [];
  let next: () => Config = () => {
    throw new ConfigError('/etc/sersync2/confxml.xml', 7, 3, 'malformed XML');
  };
  const r = await rig({
    factory: (c) => {
      calls.push('start');
      return Promise.resolve(engine(c, 0, calls));
    },
    next: () => next(),
  });
  try {
    await r.service.start(config(), false);
    await r.service.reload();
    next = () => {
      throw new SersyncError('ERR_SERSYNC_RELOAD', 'the state directory would move from /a to /b');
    };
    await r.service.reload();
    assert.deepEqual(calls, ['start'], 'the running engine was never stopped');
    const refusals = r.logLines.filter((l) => l.includes('reload refused'));
    assert.equal(refusals.length, 2);
    assert.match(refusals[0] ?? '', /confxml\.xml:7:3: malformed XML/);
    assert.match(refusals[1] ?? '', /state directory would move from \/a to \/b/);
    assert.equal(r.service.status().reloads, 0);
  } finally {
    await r.close();
  }
});

test('service: a new config that cannot start gives way to the previous one; if that fails too, reload rejects', async () => {
  const calls: string[] = [];
  let failures = new Set(['B::m']);
  const r = await rig({
    factory: (c, opts) => {
      const id = c.localpaths[0]?.remotes[0]?.id ?? '';
      calls.push(`start ${id}${opts.reload ? ' (reload, full sync)' : ''}`);
      if (failures.has(id)) return Promise.reject(new Error(`cannot start ${id}`));
      return Promise.resolve(engine(c, 0, calls));
    },
    next: () => config(null, 'B::m'),
  });
  try {
    await r.service.start(config(), false);
    await r.service.reload();
    assert.deepEqual(calls, [
      'start A::m',
      'stop A::m',
      'start B::m (reload, full sync)',
      'start A::m (reload, full sync)',
    ]);
    assert.ok(r.logLines.some((l) => l.includes('cannot start B::m') && l.includes('going back')));
    assert.equal(r.service.status().remotes.length, 0);
    assert.equal(r.service.status().configFile, '/etc/sersync2/confxml.xml');

    failures = new Set(['A::m', 'B::m']);
    await assert.rejects(r.service.reload(), /cannot start A::m/);
  } finally {
    await r.close();
  }
});

test('service: during a switch, status says it is reloading; counters carry over; reloads run one at a time', async () => {
  let release: () => void = () => undefined;
  let starts = 0;
  let concurrent = 0;
  let most = 0;
  const calls: string[] = [];
  const r = await rig({
    factory: async (c) => {
      concurrent++;
      most = Math.max(most, concurrent);
      const n = starts++;
      if (n === 1) await new Promise<void>((resolve) => (release = resolve));
      concurrent--;
      return engine(c, 10 * (n + 1), calls);
    },
    next: () => config(),
  });
  try {
    await r.service.start(config(), false);
    const first = r.service.reload();
    const second = r.service.reload();
    await new Promise((resolve) => setImmediate(resolve));
    try {
      assert.throws(() => r.service.status(), /reloading its config/);
      await assert.rejects(askDaemon(r.socket, { op: 'status' }), /reloading its config/);
    } finally {
      release(); // or stop() would wait for the switch forever
    }
    await Promise.all([first, second]);
    assert.equal(most, 1, 'never two engines starting at once');
    const s = r.service.status();
    assert.equal(s.reloads, 2);
    assert.equal(s.trees[0]?.events, 10 + 20 + 30, 'events of every engine so far');
  } finally {
    await r.close();
  }
});
