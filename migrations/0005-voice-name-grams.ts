import { MysqlAdapter, sql, type Kysely } from 'kysely';
import { nameGrams } from '../src/repositories/voice-name-grams.js';

/**
 * Keyword search through an index instead of a scan: every distinct 2- and
 * 3-character piece of each voice's (lower-cased) name, on both dialects, so
 * a keyword of two characters or more (a two-character Chinese name included)
 * finds its voices through the index. And a covering index for deep pages of
 * the public listing, so skipping pages reads index entries only.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: migrations see the schema as it was
export async function up(db: Kysely<any>): Promise<void> {
  const isMysql = runsOnMysql(db);
  await db.schema
    .createTable('voice_name_grams')
    // Bytes on MySQL: the grams are lower-cased by Timbre, and "ab" and "AB",
    // "é" and "e", or "ce" and "ce " (PAD SPACE collations) must stay different keys.
    .addColumn('gram', isMysql ? sql`varbinary(12)` : 'varchar(3)', (c) => c.notNull())
    .addColumn('voice_id', 'varchar(36)', (c) =>
      c.notNull().references('voices.id').onDelete('cascade'),
    )
    .addPrimaryKeyConstraint('voice_name_grams_pk', ['gram', 'voice_id'])
    .execute();
  await db.schema
    .createIndex('voice_name_grams_voice')
    .on('voice_name_grams')
    .column('voice_id')
    .execute();
  await db.schema
    .createIndex('voices_public_status_created_id')
    .on('voices')
    .columns(['is_public', 'status', 'created_at', 'id'])
    .execute();

  // Existing voices, in batches.
  let after = '';
  for (;;) {
    const batch: { id: string; voice_name: string }[] = await db
      .selectFrom('voices')
      .select(['id', 'voice_name'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(1000)
      .execute();
    if (batch.length === 0) break;
    const rows = batch.flatMap((v) =>
      nameGrams(v.voice_name).map((gram) => ({ gram, voice_id: v.id })),
    );
    for (let i = 0; i < rows.length; i += 500) {
      await db
        .insertInto('voice_name_grams')
        .values(rows.slice(i, i + 500))
        .execute();
    }
    after = batch[batch.length - 1]!.id;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  const drop = db.schema.dropIndex('voices_public_status_created_id');
  await (runsOnMysql(db) ? drop.on('voices') : drop).execute();
  await db.schema.dropTable('voice_name_grams').ifExists().execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
function runsOnMysql(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof MysqlAdapter;
}
