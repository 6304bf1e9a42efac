import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseSetupError, ensureDatabase } from '../../src/repositories/ensure-database.js';
import { MYSQL_ADMIN_URL, mysqlAvailable } from '../helpers/db.js';

const canRun = await mysqlAvailable();
const HOSTS = ['%', 'localhost', '127.0.0.1'];

async function admin<T>(fn: (c: Awaited<ReturnType<typeof createConnection>>) => Promise<T>) {
  const c = await createConnection({ uri: MYSQL_ADMIN_URL });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function urlFor(database: string, user?: { name: string; password: string }): string {
  const u = new URL(MYSQL_ADMIN_URL);
  u.pathname = `/${database}`;
  if (user) {
    u.username = user.name;
    u.password = user.password;
  }
  return u.toString();
}

describe.skipIf(!canRun)('MariaDB set-up at start', () => {
  const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const created = `timbre_new_${suffix}`;
  const forbidden = `timbre_nope_${suffix}`;
  const limited = { name: `tnc_${randomBytes(4).toString('hex')}`, password: 'limited-pass-1' };

  beforeAll(async () => {
    await admin(async (c) => {
      for (const h of HOSTS) {
        await c.query(`CREATE USER '${limited.name}'@'${h}' IDENTIFIED BY '${limited.password}'`);
      }
    });
  });
  afterAll(async () => {
    await admin(async (c) => {
      for (const h of HOSTS) await c.query(`DROP USER IF EXISTS '${limited.name}'@'${h}'`);
      await c.query(`DROP DATABASE IF EXISTS \`${created}\``);
      await c.query(`DROP DATABASE IF EXISTS \`${forbidden}\``);
    });
  });

  it('creates a missing database in utf8mb4 when the user may', async () => {
    expect(await ensureDatabase({ dialect: 'mysql', url: urlFor(created) })).toBe(true);
    const [rows] = await admin((c) =>
      c.query(
        'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [created],
      ),
    );
    expect(rows).toEqual([{ cs: 'utf8mb4', co: 'utf8mb4_bin' }]);
    // Present now: nothing to do.
    expect(await ensureDatabase({ dialect: 'mysql', url: urlFor(created) })).toBe(false);
  });

  it('names the database and the SQL to run when the user may not create it', async () => {
    const err = await ensureDatabase({ dialect: 'mysql', url: urlFor(forbidden, limited) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatabaseSetupError);
    const msg = (err as Error).message;
    expect(msg).toContain(forbidden);
    expect(msg).toContain(
      `CREATE DATABASE IF NOT EXISTS \`${forbidden}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;`,
    );
    expect(msg).toContain(`GRANT ALL PRIVILEGES ON \`${forbidden}\`.* TO '${limited.name}'@'%';`);
    const [rows] = await admin((c) =>
      c.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [forbidden]),
    );
    expect(rows).toEqual([]);
  });

  it('leaves SQLite alone', async () => {
    expect(await ensureDatabase({ dialect: 'sqlite', path: ':memory:' })).toBe(false);
  });
});
