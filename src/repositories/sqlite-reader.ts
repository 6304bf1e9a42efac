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
import { moduleUrl } from '../paths.js';
import { busyError, isQueueFull, workerExecArgv } from '../workers/cpu-pool.js';
import type { SqliteReadResult, SqliteReadTask } from '../workers/sqlite-read-tasks.js';

export interface SqliteReaderOptions {
  /** The database file; it must exist and be in WAL mode (the writer sets it). */
  path: string;
  /** Reader threads, each with its own read-only connection. */
  threads: number;
  /** Reads that may wait for a thread; past it a read fails with 503 (default 128 per thread). */
  maxQueue?: number;
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
  return moduleUrl('workers/sqlite-read-tasks');
}

/** Reads that may wait per reader thread before a request is answered 503. */
const READS_QUEUED_PER_THREAD = 128;

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
      // Reads wait in a bounded queue; past it the request is told to retry.
      maxQueue: this.options.maxQueue ?? this.options.threads * READS_QUEUED_PER_THREAD,
      execArgv: workerExecArgv(filename),
    });
  }

  private async run<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.pool) throw new Error('the SQLite reader is closed');
    let result: SqliteReadResult;
    try {
      result = await this.pool.run({
        path: this.options.path,
        sql: query.sql,
        parameters: query.parameters,
      });
    } catch (err) {
      if (isQueueFull(err)) {
        throw busyError('Too many database reads are waiting: try again shortly.', 2, err);
      }
      throw err;
    }
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
