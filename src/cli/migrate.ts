import { databaseReadyOrExit } from '../boot.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../repositories/db.js';
import { migrateToLatest } from '../repositories/migrate.js';

/** `npm run migrate`: brings the configured database to the newest schema. */
const config = loadConfig();
await databaseReadyOrExit(config);
const db = openDatabase(config.database);
try {
  const r = await migrateToLatest(db.db);
  const applied =
    r.results?.filter((x) => x.status === 'Success').map((x) => x.migrationName) ?? [];
  process.stdout.write(
    applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n',
  );
} finally {
  await db.close();
}
