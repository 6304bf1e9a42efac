import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, MysqlDialect, SqliteDialect, sql, type LogEvent } from 'kysely';
import { createRequire } from 'node:module';
import type { Config } from '../config.js';
import type { Database } from './schema.js';
import { SqliteReaderDialect } from './sqlite-reader.js';
import { cacheStatements } from './statement-cache.js';

export type Db = Kysely<Database>;
export type Dialect = Config['database']['dialect'];

export interface DbHandle {
  db: Db;
  /**
   * Where the slow reads go (the voice listing and keyword search). On a
   * SQLite file: read-only connections in worker threads
   * ({@link SqliteReaderDialect}), so those reads never hold the event loop;
   * elsewhere (MySQL is asynchronous already, an in-memory SQLite has no file
   * to share, or SQLITE_READ_THREADS=0): `db` itself. Reads only.
   */
  reader: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

/** Reader threads when the caller does not say (tests, tools). */
const DEFAULT_READ_THREADS = 2;

/**
 * Opens the configured database. `onQuery` receives every query's duration
 * (for the database-operation metric).
 */
export function openDatabase(
  database: Config['database'],
  onQuery?: (event: LogEvent) => void,
): DbHandle {
  const log = onQuery ? (e: LogEvent) => onQuery(e) : undefined;
  if (database.dialect === 'sqlite') {
    if (database.path !== ':memory:')
      mkdirSync(path.dirname(path.resolve(database.path)), { recursive: true });
    const sqlite = new SQLite(database.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('synchronous = NORMAL');
    cacheStatements(sqlite);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }), log });
    const threads = database.readThreads ?? DEFAULT_READ_THREADS;
    if (database.path === ':memory:' || threads === 0) {
      return { db, reader: db, dialect: 'sqlite', close: () => db.destroy() };
    }
    const reader = new Kysely<Database>({
      dialect: new SqliteReaderDialect({ path: path.resolve(database.path), threads }),
      log,
    });
    return {
      db,
      reader,
      dialect: 'sqlite',
      // The readers first: the writer's close then checkpoints and removes the WAL.
      close: async () => {
        await reader.destroy();
        await db.destroy();
      },
    };
  }
  // mysql2 loads only when MySQL is configured (start-up time on SQLite).
  const { createPool } = createRequire(import.meta.url)('mysql2') as typeof import('mysql2');
  const pool = createPool({
    uri: database.url,
    connectionLimit: 10,
    timezone: 'Z',
    charset: 'utf8mb4',
    supportBigNumbers: true,
  });
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }), log });
  return { db, reader: db, dialect: 'mysql', close: () => db.destroy() };
}

/**
 * Refreshes the planner's statistics where the engine does not do it by
 * itself. SQLite: `PRAGMA optimize` with the 0x10000 flag analyses every
 * table whose statistics are missing or stale (sampled, so cheap); without
 * statistics SQLite sorts every visible voice to list one page (measured in
 * bench/voices). MySQL/InnoDB keeps its statistics up to date on its own.
 */
export async function optimizeDatabase(handle: DbHandle): Promise<void> {
  if (handle.dialect === 'sqlite') await sql`PRAGMA optimize=0x10002`.execute(handle.db);
}

/** True when `err` is a unique-constraint violation in either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return (
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.code === 'ER_DUP_ENTRY'
  );
}
