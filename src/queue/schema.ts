import type { Database } from 'better-sqlite3';
import { SersyncError } from '../errors.js';

/**
 * The queue database's schema, as an append-only list of migrations. `PRAGMA user_version`
 * holds how many have been applied; opening a database applies the missing ones, each in its own
 * transaction, so a database written by any earlier release upgrades in place. Never edit a
 * migration that has shipped: add the next one (e.g. `ALTER TABLE work ADD COLUMN …`).
 */
const MIGRATIONS: readonly { readonly description: string; readonly sql: string }[] = [
  {
    description: 'work rows per (remote, root, path) and a key/value meta table',
    sql: `
      CREATE TABLE work (
        id               INTEGER PRIMARY KEY,
        remote           TEXT    NOT NULL,
        root             TEXT    NOT NULL,
        path             BLOB    NOT NULL,   -- the path's bytes (names need not be UTF-8)
        kind             TEXT    NOT NULL CHECK (kind IN ('sync', 'tree', 'delete', 'move', 'full')),
        is_dir           INTEGER NOT NULL DEFAULT 0,
        from_path        BLOB,               -- 'move' only
        state            TEXT    NOT NULL CHECK (state IN ('inflight', 'retry')),
        batch            INTEGER NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        first_failure_at INTEGER,
        last_failure_at  INTEGER,
        exit_code        INTEGER,
        last_error       TEXT,
        next_attempt_at  INTEGER,
        UNIQUE (remote, root, path)
      );
      CREATE INDEX work_due ON work (state, next_attempt_at);
      CREATE INDEX work_batch ON work (batch);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('last_batch', 0);
      -- a new database has no previous run that could have stopped uncleanly
      INSERT INTO meta (key, value) VALUES ('clean_stop', 'new database');
    `,
  },
  {
    description: 'a row that took over the row of a removal or a move owes that removal',
    // Rows written before this knew nothing of it: they are taken to owe one (the old behaviour).
    sql: `ALTER TABLE work ADD COLUMN owes_removal INTEGER NOT NULL DEFAULT 1;`,
  },
  {
    description: 'when the oldest change of a row was seen, so the lag of retried work counts from it',
    // Rows written before this have none: their lag counts from their first failure, as it did.
    sql: `ALTER TABLE work ADD COLUMN seen_at INTEGER;`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database up to `SCHEMA_VERSION`; refuses one written by a newer release. */
export function migrate(db: Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new SersyncError(
      'ERR_SERSYNC_QUEUE_VERSION',
      `${file}: retry-queue schema version ${current} is newer than this sersync-ts understands ` +
        `(${SCHEMA_VERSION}); run the newer release or move the file aside`,
    );
  }
  MIGRATIONS.slice(current).forEach((m, i) => {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${current + i + 1}`);
    })();
  });
}
