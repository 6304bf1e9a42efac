import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDb, testDialects } from '../helpers/db.js';
import { migrateDownAll, migrateToLatest } from '../../src/repositories/migrate.js';
import { optimizeDatabase } from '../../src/repositories/db.js';

const dialects = await testDialects();

describe.each(dialects)('migrations on %s', (dialect) => {
  it('apply, roll back completely and apply again', async () => {
    const t = await createTestDb(dialect);
    try {
      await migrateDownAll(t.db);
      await expect(sql`select count(*) from users`.execute(t.db)).rejects.toThrow();
      const again = await migrateToLatest(t.db);
      expect(again.results?.every((r) => r.status === 'Success')).toBe(true);
      expect(again.results?.length).toBeGreaterThanOrEqual(2);
      const none = await migrateToLatest(t.db);
      expect(none.results).toEqual([]);
    } finally {
      await t.drop();
    }
  });
});

describe('planner statistics', () => {
  it('are gathered on SQLite so listings walk the created_at index', async () => {
    const t = await createTestDb('sqlite');
    try {
      const now = new Date().toISOString();
      await t.db
        .insertInto('users')
        .values({
          id: 'u1',
          username: 'u',
          phone: null,
          email: 'u@example.com',
          password_hash: 'x',
          avatar_url: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await optimizeDatabase(t);
      const stats = await sql<{ n: number }>`select count(*) as n from sqlite_stat1`.execute(t.db);
      expect(Number(stats.rows[0]?.n)).toBeGreaterThan(0);
    } finally {
      await t.drop();
    }
  });
});
