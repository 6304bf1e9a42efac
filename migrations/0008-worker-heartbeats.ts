import type { Kysely } from 'kysely';

/**
 * `worker_heartbeats`: one row per running job worker, refreshed every few
 * seconds, so any process can tell how many workers are alive (health,
 * metrics, and whether `create_voice` can be accepted at all).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: migrations see the schema as it was
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('worker_heartbeats')
    .addColumn('id', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('queue', 'varchar(20)', (c) => c.notNull())
    .addColumn('started_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('seen_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('worker_heartbeats_seen_at')
    .on('worker_heartbeats')
    .column('seen_at')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('worker_heartbeats').ifExists().execute();
}
