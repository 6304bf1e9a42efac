import type SQLite from 'better-sqlite3';

/** Prepared statements kept per SQLite connection (least recently used dropped first). */
const STATEMENT_CACHE = 500;

/**
 * Keeps the connection's prepared statements by SQL text: Kysely's SQLite
 * driver prepares every query anew, and preparing is a good part of a small
 * query's time (on the event loop for the writer). Used by the writer's
 * connection and by each reader thread's. A statement is safe to reuse: both
 * run it to the end at once, and SQLite re-prepares it after a schema change.
 */
export function cacheStatements(sqlite: SQLite.Database, max = STATEMENT_CACHE): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
    } else {
      stmt = prepare(source);
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, stmt);
    return stmt;
  }) as typeof sqlite.prepare;
}
