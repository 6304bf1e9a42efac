import SQLite from 'better-sqlite3';

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

interface Reader {
  conn: SQLite.Database;
  statements: Map<string, SQLite.Statement>;
}

/** This thread's read-only connections, one per database file, opened on first use. */
const readers = new Map<string, Reader>();

function readerOf(file: string): Reader {
  let reader = readers.get(file);
  if (!reader) {
    // WAL mode (set by the writer) lets this connection read beside the writer's
    // transactions: it sees what was committed when each statement starts.
    const conn = new SQLite(file, { readonly: true, fileMustExist: true });
    conn.pragma('busy_timeout = 5000');
    reader = { conn, statements: new Map() };
    readers.set(file, reader);
  }
  return reader;
}

/**
 * Runs one query on this thread's read-only connection to `task.path`.
 * Throws for a statement that returns no rows (the reader never writes) and
 * passes SQLite's own errors through.
 */
export default function read(task: SqliteReadTask): SqliteReadResult {
  const reader = readerOf(task.path);
  let stmt = reader.statements.get(task.sql);
  if (!stmt) {
    stmt = reader.conn.prepare(task.sql);
    if (!stmt.reader) throw new Error('the SQLite reader runs only statements that return rows');
    if (reader.statements.size >= STATEMENTS_KEPT) reader.statements.clear();
    reader.statements.set(task.sql, stmt);
  }
  // Bound as one array, as Kysely's own SQLite driver does.
  return { rows: stmt.all(task.parameters) as Record<string, unknown>[] };
}
