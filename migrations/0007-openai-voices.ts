import type { Kysely } from 'kysely';

/**
 * For the OpenAI-compatible API: `voice_consents` (consent recordings, kept
 * as files of their owner) and `user_speech_settings` (the voice OpenAI's
 * built-in names speak with for this user).
 */
// any: migrations run against the database as it was, not today's typed schema
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('voice_consents')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('language', 'varchar(35)', (c) => c.notNull())
    .addColumn('file_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('voice_consents_user_created')
    .on('voice_consents')
    .columns(['user_id', 'created_at'])
    .execute();
  await db.schema
    .createTable('user_speech_settings')
    .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey().references('users.id'))
    .addColumn('default_voice_id', 'varchar(36)')
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('user_speech_settings').execute();
  await db.schema.dropTable('voice_consents').execute();
}
