import { MysqlAdapter, sql, type Kysely } from 'kysely';

/**
 * The keyword index in listing order: each gram row carries its voice's
 * `created_at`, and (gram, created_at, voice_id) is indexed, so a keyword
 * whose grams are all common is answered by walking one gram's voices in
 * listing order (skipping a deep page's offset in that index) instead of the
 * whole listing.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: migrations see the schema as it was
export async function up(db: Kysely<any>): Promise<void> {
  const isMysql = runsOnMysql(db);
  // NOT NULL needs a default to be added to filled tables (SQLite refuses it
  // otherwise); the rows get their real value just below.
  await db.schema
    .alterTable('voice_name_grams')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull().defaultTo(''))
    .execute();

  // Existing rows, a batch of voices at a time: on MySQL each UPDATE commits
  // on its own (no transactional DDL), so no statement holds millions of row
  // locks and undo records. Only grams of existing voices are touched, so
  // the copied value is never NULL.
  let after = '';
  for (;;) {
    const batch: { id: string }[] = await db
      .selectFrom('voices')
      .select('id')
      .where('id', '>', after)
      .orderBy('id')
      .limit(BACKFILL_BATCH)
      .execute();
    if (batch.length === 0) break;
    const ids = batch.map((v) => v.id);
    await db
      .updateTable('voice_name_grams')
      .set((eb) => ({
        created_at: eb
          .selectFrom('voices')
          .select('voices.created_at')
          .whereRef('voices.id', '=', 'voice_name_grams.voice_id'),
      }))
      .where('voice_id', 'in', ids)
      .execute();
    after = ids[ids.length - 1]!;
  }

  // Built once the rows are filled (one sorted build, not 20 million updates of it).
  await db.schema
    .createIndex('voice_name_grams_gram_created')
    .on('voice_name_grams')
    .columns(['gram', 'created_at', 'voice_id'])
    .execute();
  // MySQL: from now on a writer that leaves the column out is refused, not
  // filed under ''. SQLite cannot drop a default without rebuilding the table.
  if (isMysql) {
    await sql`alter table voice_name_grams alter column created_at drop default`.execute(db);
  }
}

/** Voices per backfill UPDATE (about 20 gram rows each). */
const BACKFILL_BATCH = 1000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  const drop = db.schema.dropIndex('voice_name_grams_gram_created');
  // MySQL names the table of an index; SQLite refuses the clause.
  await (runsOnMysql(db) ? drop.on('voice_name_grams') : drop).execute();
  await db.schema.alterTable('voice_name_grams').dropColumn('created_at').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
function runsOnMysql(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof MysqlAdapter;
}
