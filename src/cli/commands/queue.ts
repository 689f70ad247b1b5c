import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Config } from '../../config/types.js';
import { lockWatchRoots, RootHeldError } from '../../daemon/root-lock.js';
import { SersyncError, UsageError } from '../../errors.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { displayPath, fromUtf8 } from '../../paths.js';
import { sersyncCommandFor } from '../../queue/fail-log.js';
import { openQueueForConfig } from '../../queue/open.js';
import { queueTable, rowDetails, rowJson, statsText } from '../../queue/present.js';
import type { QueueRow, QueueStore } from '../../queue/types.js';
import { runQueuedNow } from '../../sync/run-now.js';
import { loadConfigFor } from '../config-for.js';
import { globalOptions } from '../program.js';

/** Options every `queue` subcommand takes (`-o` and `--state-dir` are the program's global options). */
export interface QueueCommonOptions {
  readonly json?: boolean;
}

/** What a subcommand needs: the config, its queue, a logger, the time. */
export interface QueueContext {
  readonly config: Config;
  readonly store: QueueStore;
  readonly file: string;
  readonly log: Logger;
  readonly now: number;
  readonly json: boolean;
}

function write(text: string): void {
  process.stdout.write(text);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Runs `fn` with this config's queue open. `mirror` keeps the sersync fail log in step (commands
 * that change rows); looking (`list`, `show`, `stats`) never writes it.
 */
async function withQueue(
  cmd: Command,
  mirror: boolean,
  fn: (ctx: QueueContext) => Promise<void> | void,
): Promise<void> {
  const config = loadConfigFor(cmd);
  const log = createLogger({ level: config.debug ? 'debug' : 'info', file: null });
  const { store, file } = openQueueForConfig(config, {
    stateDirFlag: globalOptions(cmd).stateDir,
    log,
    mirrorFailLog: mirror,
    readOnly: !mirror,
    daemonsQueue: true,
  });
  try {
    const json = cmd.opts<QueueCommonOptions>().json === true;
    await fn({ config, store, file, log, now: Date.now(), json });
  } finally {
    store.close();
  }
}

function parseLimit(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--limit wants a positive whole number, not ${value}`);
  return Number(value);
}

function parseRowId(id: string, verb: string): number {
  if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`${verb}: ${id} is not a row id`);
  return Number(id);
}

/** Row ids from the command line, or `all`; exactly one of the two must be given. */
export function selectIds(ids: readonly string[], all: boolean | undefined, verb: string): number[] | 'all' {
  if (all === true && ids.length > 0) throw new UsageError(`${verb}: give row ids or --all, not both`);
  if (all === true) return 'all';
  if (ids.length === 0)
    throw new UsageError(`${verb}: name the rows (ids from "sersync2 queue list") or --all`);
  return ids.map((id) => parseRowId(id, verb));
}

/** The rows behind `ids`, or an error naming the ids that are not queued (then nothing is changed). */
function existingRows(ctx: QueueContext, ids: readonly number[]): QueueRow[] {
  const rows = ids.map((id) => ctx.store.get(id));
  const missing = ids.filter((_, i) => rows[i] === null);
  if (missing.length > 0) {
    throw new SersyncError('ERR_SERSYNC_QUEUE_NO_ROW', `no queued row ${missing.join(', ')} in ${ctx.file}`);
  }
  return rows.filter((r): r is QueueRow => r !== null);
}

export function queueList(
  ctx: QueueContext,
  filter: { readonly remote?: string; readonly path?: string; readonly limit?: number },
): string {
  const rows = ctx.store.list({
    ...(filter.remote === undefined ? {} : { remoteId: filter.remote }),
    ...(filter.path === undefined ? {} : { pathPrefix: fromUtf8(filter.path) }),
    ...(filter.limit === undefined ? {} : { limit: filter.limit }),
  });
  if (ctx.json) return json(rows.map(rowJson));
  return rows.length === 0 ? `the retry queue is empty (${ctx.file})\n` : queueTable(rows, ctx.now);
}

export function queueShow(ctx: QueueContext, id: string): string {
  const [row] = existingRows(ctx, [parseRowId(id, 'show')]);
  if (row === undefined) throw new UsageError('show: name one row id');
  const command = sersyncCommandFor(ctx.config, row);
  if (ctx.json) return json({ ...rowJson(row), sersyncCommand: displayPath(command) });
  return rowDetails(row, ctx.now, command);
}

export function queueStats(ctx: QueueContext): string {
  const stats = ctx.store.stats();
  return ctx.json ? json(stats) : statsText(stats, ctx.now);
}

/** `retry`: rows become due now; a running daemon picks them up at its next look at the queue. */
export function queueRetry(ctx: QueueContext, ids: number[] | 'all'): string {
  if (ids !== 'all') existingRows(ctx, ids);
  const n = ctx.store.makeDue(ids, ctx.now);
  if (ctx.json) return json({ due: n });
  return (
    `${n} row(s) due now; a running sersync2 sends them at its next look at the queue ` +
    `(or run "sersync2 queue retry --now")\n`
  );
}

/**
 * `retry --now`: sends the rows from this process, holding the config's watch roots meanwhile
 * (lanes of its own beside a running daemon's could send a path's changes out of order). Refused
 * while a daemon holds them: it sends due rows within a second. Exit status 1 when any still fails.
 */
export async function queueRetryNow(ctx: QueueContext, ids: number[] | 'all'): Promise<string> {
  const rows = ids === 'all' ? ctx.store.list().filter((r) => r.state === 'retry') : existingRows(ctx, ids);
  const roots = ctx.config.localpaths.map((lp) => lp.watch).filter((r) => existsSync(r));
  const locks = await lockWatchRoots(roots, ctx.config.file).catch((err: unknown) => {
    if (!(err instanceof RootHeldError) || err.holder === null) throw err;
    throw new SersyncError(
      'ERR_SERSYNC_RUNNING',
      `queue retry --now: sersync2 (pid ${err.holder.pid}) is running for ${err.root} and sends queued ` +
        `rows itself; run "sersync2 queue retry ${ids === 'all' ? '--all' : ids.join(' ')}" (without --now): ` +
        `it sends them within a second, and "sersync2 queue list" shows the outcome`,
    );
  });
  const results = await runQueuedNow(ctx.config, ctx.store, rows, ctx.log).finally(() => locks.release());
  if (results.some((r) => !r.ok)) process.exitCode = 1;
  if (ctx.json) return json(results);
  return results.map((r) => `${r.id}  ${r.ok ? 'ok' : 'FAILED'}  ${r.message}\n`).join('');
}

/** Asks on the terminal; refuses outright when there is none. */
async function confirmDrop(count: number): Promise<boolean> {
  // isTTY is undefined (not false) on pipes and files, whatever the typings say.
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UsageError(
      `refusing to drop ${count} queued row(s) without --yes: there is no terminal to ask for confirmation`,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      `Drop ${count} queued row(s) for good? Those changes will not reach their remotes until the next full sync. [y/N] `,
    );
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function queueDrop(ctx: QueueContext, ids: number[] | 'all', yes: boolean): Promise<string> {
  const stats = ctx.store.stats();
  const count = ids === 'all' ? stats.inflight + stats.retry : existingRows(ctx, ids).length;
  if (count === 0) return ctx.json ? json({ dropped: 0 }) : 'the retry queue is empty\n';
  if (!yes && !(await confirmDrop(count))) return ctx.json ? json({ dropped: 0 }) : 'nothing dropped\n';
  const dropped = ctx.store.drop(ids);
  return ctx.json ? json({ dropped }) : `dropped ${dropped} row(s)\n`;
}

function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print JSON');
}

/** `sersync2 queue <list|show|retry|drop|stats>`: what has not reached which remote, and what to do about it. */
export function registerQueueCommand(program: Command): void {
  const queue = program
    .command('queue')
    .description('inspect the retry queue: changes that have not reached their remote yet')
    .usage(
      '<list|show ID|retry [ID...|--all]|drop [ID...|--all]|stats> [--json]   (-o, --state-dir: global)',
    );

  withJson(queue.command('list'))
    .description('queued rows, newest failures first')
    .option('--remote <id>', 'only this remote (e.g. 127.0.0.1::tongbu1)')
    .option('--path <prefix>', 'only paths starting with this')
    .option('--limit <n>', 'at most n rows', parseLimit)
    .action(async (o: { remote?: string; path?: string; limit?: number }, cmd: Command) => {
      await withQueue(cmd, false, (ctx) => {
        write(queueList(ctx, o));
      });
    });

  withJson(queue.command('show'))
    .description('one row in full')
    .argument('<id>', 'row id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await withQueue(cmd, false, (ctx) => {
        write(queueShow(ctx, id));
      });
    });

  withJson(queue.command('stats'))
    .description('counts per remote and per rsync exit code, oldest failure')
    .action(async (_o: unknown, cmd: Command) => {
      await withQueue(cmd, false, (ctx) => {
        write(queueStats(ctx));
      });
    });

  withJson(queue.command('retry'))
    .description('make rows due now (the running daemon sends them), or send them here with --now')
    .argument('[ids...]', 'row ids')
    .option('--all', 'every queued row')
    .option('--now', 'send them from this process and wait for the outcome')
    .action(async (ids: string[], o: { all?: boolean; now?: boolean }, cmd: Command) => {
      const which = selectIds(ids, o.all, 'retry');
      await withQueue(cmd, true, async (ctx) => {
        write(o.now === true ? await queueRetryNow(ctx, which) : queueRetry(ctx, which));
      });
    });

  withJson(queue.command('drop'))
    .description('forget rows for good (asks first unless --yes)')
    .argument('[ids...]', 'row ids')
    .option('--all', 'every queued row')
    .option('-y, --yes', 'do not ask')
    .action(async (ids: string[], o: { all?: boolean; yes?: boolean }, cmd: Command) => {
      const which = selectIds(ids, o.all, 'drop');
      await withQueue(cmd, true, async (ctx) => {
        write(await queueDrop(ctx, which, o.yes === true));
      });
    });
}
