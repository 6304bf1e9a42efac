import { MysqlAdapter, type Kysely } from 'kysely';

/**
 * Sample renditions: a copy of a sample transcoded to what a voice provider
 * takes, stored as a file row of origin `rendition` that points at its
 * sample (`derived_from`) and names what it is (`variant`, which carries the
 * sample's content hash, so a replaced sample never reuses a stale copy).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: migrations see the schema as it was
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('files').addColumn('derived_from', 'varchar(36)').execute();
  await db.schema.alterTable('files').addColumn('variant', 'varchar(96)').execute();
  await db.schema
    .createIndex('files_derived_from')
    .on('files')
    .columns(['derived_from', 'variant'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  const drop = db.schema.dropIndex('files_derived_from');
  // MySQL names the table of an index; SQLite refuses the clause.
  await (db.getExecutor().adapter instanceof MysqlAdapter ? drop.on('files') : drop).execute();
  await db.schema.alterTable('files').dropColumn('variant').execute();
  await db.schema.alterTable('files').dropColumn('derived_from').execute();
}
