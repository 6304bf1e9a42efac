import SQLite from 'better-sqlite3';
import { cacheStatements } from '../repositories/statement-cache.js';

/** One read, as the reader pool's threads receive it. */
export interface SqliteReadTask {
  /** The database file (the writer's own; opened here read-only). */
  path: string;
  sql: string;
  parameters: readonly unknown[];
}

export interface SqliteReadResult {
  rows: Record<string, unknown>[];
}

/** Prepared statements kept per connection (the listing uses a handful of shapes). */
const STATEMENTS_KEPT = 200;

/** This thread's read-only connections, one per database file, opened on first use. */
const readers = new Map<string, SQLite.Database>();

function readerOf(file: string): SQLite.Database {
  let conn = readers.get(file);
  if (!conn) {
    // WAL mode (set by the writer) lets this connection read beside the writer's
    // transactions: it sees what was committed when each statement starts.
    conn = new SQLite(file, { readonly: true, fileMustExist: true });
    conn.pragma('busy_timeout = 5000');
    cacheStatements(conn, STATEMENTS_KEPT);
    readers.set(file, conn);
  }
  return conn;
}

/**
 * Runs one query on this thread's read-only connection to `task.path`.
 * Throws for a statement that returns no rows (the reader never writes) and
 * passes SQLite's own errors through.
 */
export default function read(task: SqliteReadTask): SqliteReadResult {
  const stmt = readerOf(task.path).prepare(task.sql);
  if (!stmt.reader) throw new Error('the SQLite reader runs only statements that return rows');
  // Bound as one array, as Kysely's own SQLite driver does.
  return { rows: stmt.all(task.parameters) as Record<string, unknown>[] };
}
