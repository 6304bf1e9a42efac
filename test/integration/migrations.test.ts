import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDb, testDialects } from '../helpers/db.js';
import { migrateDownAll, migrateToLatest } from '../../src/repositories/migrate.js';

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
