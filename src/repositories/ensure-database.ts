import type { Config } from '../config.js';

/** The database is missing and this user may not create it (or may not use it). */
export class DatabaseSetupError extends Error {
  override readonly name = 'DatabaseSetupError';
}

/** Character set and collation of a database Timbre creates (the tests use the same). */
export const MYSQL_CHARSET = 'utf8mb4';
export const MYSQL_COLLATION = 'utf8mb4_bin';

/**
 * MySQL/MariaDB: creates the configured database when it is missing and the
 * user may (utf8mb4, utf8mb4_bin); otherwise throws DatabaseSetupError whose
 * message names the database and the SQL an administrator should run.
 * Returns whether it created the database. SQLite needs nothing (the file is
 * created on open).
 */
export async function ensureDatabase(database: Config['database']): Promise<boolean> {
  if (database.dialect !== 'mysql') return false;
  const url = new URL(database.url);
  const name = decodeURIComponent(url.pathname.slice(1));
  const user = decodeURIComponent(url.username) || 'root';
  const { createConnection } = await import('mysql2/promise');
  // What an administrator runs: IF NOT EXISTS, since MariaDB will not tell a
  // user without rights whether the database exists.
  const adminSql =
    `  CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET ${MYSQL_CHARSET} COLLATE ${MYSQL_COLLATION};\n` +
    `  GRANT ALL PRIVILEGES ON \`${name}\`.* TO '${user}'@'%';`;

  try {
    const conn = await createConnection({ uri: database.url, connectTimeout: 5000 });
    await conn.end();
    return false;
  } catch (err) {
    // Missing (bad database), or not ours to see (access denied: MariaDB says
    // that for a missing database too when the user has no rights on it).
    const code = (err as { code?: string }).code;
    if (code !== 'ER_BAD_DB_ERROR' && code !== 'ER_DBACCESS_DENIED_ERROR') throw err;
  }

  const server = new URL(database.url);
  server.pathname = '/';
  const conn = await createConnection({ uri: server.toString(), connectTimeout: 5000 });
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET ${MYSQL_CHARSET} COLLATE ${MYSQL_COLLATION}`,
    );
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
      throw new DatabaseSetupError(
        `database '${name}' is missing (or user '${user}' may not use it), and '${user}' ` +
          `may not create it. As an administrator, run:\n${adminSql}`,
      );
    }
    throw err;
  } finally {
    await conn.end();
  }
}
