import { Migrator, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations/index.js';
import type { Db } from './db.js';

/** Brings the schema to the newest migration; throws with the failing step. */
export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed`, { cause: result.error });
  }
  return result;
}

/** Rolls back every migration (used by tests of the down path). */
export async function migrateDownAll(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  for (;;) {
    const r = await migrator.migrateDown();
    if (r.error) throw new Error('migration down failed', { cause: r.error });
    if (!r.results?.length) return;
  }
}
