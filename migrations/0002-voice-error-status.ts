import { MysqlAdapter, type Kysely } from 'kysely';

/**
 * `voices.error_status`: the HTTP status a failed creation maps to (422 for an
 * unusable sample, 502/503 when the provider is down), so a caller waiting on
 * the job gets the same answer the job reached. Plus an index on created_at
 * for the library's oldest-first listing.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: migrations see the schema as it was
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('voices').addColumn('error_status', 'integer').execute();
  await db.schema
    .createIndex('voices_created')
    .on('voices')
    .columns(['created_at', 'id'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  // MySQL names the table in DROP INDEX; SQLite must not.
  const drop = db.schema.dropIndex('voices_created');
  await (db.getExecutor().adapter instanceof MysqlAdapter ? drop.on('voices') : drop).execute();
  await db.schema.alterTable('voices').dropColumn('error_status').execute();
}
