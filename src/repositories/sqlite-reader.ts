import {
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import { Piscina } from 'piscina';
import { workerExecArgv } from '../workers/cpu-pool.js';
import type { SqliteReadResult, SqliteReadTask } from '../workers/sqlite-read-tasks.js';

export interface SqliteReaderOptions {
  /** The database file; it must exist and be in WAL mode (the writer sets it). */
  path: string;
  /** Reader threads, each with its own read-only connection. */
  threads: number;
}

/**
 * A Kysely dialect whose queries run on read-only better-sqlite3 connections
 * in worker threads, so a slow read (a keyword search over a million voices)
 * never holds the event loop: better-sqlite3 is synchronous, and on the main
 * thread every query blocks it for its whole duration. WAL mode lets these
 * readers run beside the writer's connection; each statement sees what was
 * committed when it started.
 *
 * Reads only: a statement that returns no rows, and any transaction, is
 * refused. The threads start on the first query and stop on `destroy()`.
 */
export class SqliteReaderDialect implements Dialect {
  constructor(private readonly options: SqliteReaderOptions) {}

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createDriver(): Driver {
    return new SqliteReaderDriver(this.options);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

function taskModule(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`../workers/sqlite-read-tasks.${ext}`, import.meta.url);
}

class SqliteReaderDriver implements Driver {
  private pool: Piscina<SqliteReadTask, SqliteReadResult> | undefined;
  private readonly connection: DatabaseConnection;

  constructor(private readonly options: SqliteReaderOptions) {
    // Stateless: every query is one task, so one connection object serves all
    // callers at once and the pool spreads them over its threads.
    this.connection = {
      executeQuery: <R>(query: CompiledQuery) => this.run<R>(query),
      streamQuery: () => {
        throw new Error('the SQLite reader does not stream');
      },
    };
  }

  async init(): Promise<void> {
    const filename = taskModule();
    this.pool = new Piscina<SqliteReadTask, SqliteReadResult>({
      filename: filename.href,
      // One thread at first; more start only when reads queue up.
      minThreads: 1,
      maxThreads: this.options.threads,
      // A thread keeps its connection and prepared statements: it is not retired when idle.
      idleTimeout: Number.POSITIVE_INFINITY,
      execArgv: workerExecArgv(filename),
    });
  }

  private async run<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.pool) throw new Error('the SQLite reader is closed');
    const result = await this.pool.run({
      path: this.options.path,
      sql: query.sql,
      parameters: query.parameters,
    });
    return { rows: result.rows as R[] };
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }

  async beginTransaction(): Promise<void> {
    throw new Error('the SQLite reader runs no transactions');
  }

  async commitTransaction(): Promise<void> {
    throw new Error('the SQLite reader runs no transactions');
  }

  async rollbackTransaction(): Promise<void> {
    throw new Error('the SQLite reader runs no transactions');
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close({ force: true });
  }
}
