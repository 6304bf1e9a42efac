import type { Kysely } from 'kysely';

/**
 * Sessions (one per login; the refresh token in use is `refresh_jti`), API
 * keys (stored as a keyed hash), and the consent a cloner attested when the
 * sample was someone else's recording.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: migrations see the schema as it was
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) =>
      c.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('device', 'varchar(255)', (c) => c.notNull())
    .addColumn('refresh_jti', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('last_used_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(30)')
    .execute();
  await db.schema
    .createIndex('sessions_user_created')
    .on('sessions')
    .columns(['user_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) =>
      c.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('prefix', 'varchar(16)', (c) => c.notNull())
    .addColumn('key_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('last_used_at', 'varchar(30)')
    .execute();
  await db.schema
    .createIndex('api_keys_user_created')
    .on('api_keys')
    .columns(['user_id', 'created_at'])
    .execute();

  await db.schema.alterTable('voices').addColumn('consent_at', 'varchar(30)').execute();
  await db.schema.alterTable('voices').addColumn('consent_statement', 'text').execute();
  await db.schema.alterTable('voices').addColumn('sample_owner_id', 'varchar(36)').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('voices').dropColumn('sample_owner_id').execute();
  await db.schema.alterTable('voices').dropColumn('consent_statement').execute();
  await db.schema.alterTable('voices').dropColumn('consent_at').execute();
  await db.schema.dropTable('api_keys').ifExists().execute();
  await db.schema.dropTable('sessions').ifExists().execute();
}
