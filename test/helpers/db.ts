import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import type { Config } from '../../src/config.js';
import { openDatabase, type DbHandle, type Dialect } from '../../src/repositories/db.js';
import { migrateToLatest } from '../../src/repositories/migrate.js';

/** The server that MySQL-path tests use; each test file gets its own database on it. */
export const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDb extends DbHandle {
  database: Config['database'];
  /** Closes the handle and drops the database (or removes the SQLite file). */
  drop(): Promise<void>;
}

let mysqlReachable: Promise<boolean> | undefined;

/** Whether MariaDB answers. In CI an unreachable server is an error, never a skip. */
export function mysqlAvailable(): Promise<boolean> {
  mysqlReachable ??= createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 2000 })
    .then(async (c) => {
      await c.end();
      return true;
    })
    .catch((err: unknown) => {
      if (process.env.CI) throw new Error(`MariaDB is required in CI: ${String(err)}`);
      process.stderr.write(`MariaDB unreachable at ${MYSQL_ADMIN_URL}: MySQL-path tests skipped\n`);
      return false;
    });
  return mysqlReachable;
}

/** The dialects to run a suite on: SQLite always, MySQL when reachable (always in CI). */
export async function testDialects(): Promise<Dialect[]> {
  return (await mysqlAvailable()) ? ['sqlite', 'mysql'] : ['sqlite'];
}

/** A fresh, migrated database of `dialect`, private to the caller. */
export async function createTestDb(dialect: Dialect): Promise<TestDb> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'timbre-db-'));
    const database = { dialect: 'sqlite' as const, path: path.join(dir, 'test.db') };
    const handle = openDatabase(database);
    await migrateToLatest(handle.db);
    return {
      ...handle,
      database,
      drop: async () => {
        await handle.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `timbre_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${name}`;
  const database = { dialect: 'mysql' as const, url: url.toString() };
  const handle = openDatabase(database);
  await migrateToLatest(handle.db);
  return {
    ...handle,
    database,
    drop: async () => {
      await handle.close();
      const a = await createConnection({ uri: MYSQL_ADMIN_URL });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.end();
    },
  };
}
