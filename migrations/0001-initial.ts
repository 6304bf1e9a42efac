import type { Kysely } from 'kysely';

/**
 * The initial schema. Portable across SQLite and MySQL/MariaDB: ids are
 * UUID strings, timestamps ISO-8601 strings, booleans small integers.
 */
// any: migrations run against the database as it was, not today's typed schema
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('username', 'varchar(18)', (c) => c.notNull())
    .addColumn('phone', 'varchar(20)', (c) => c.unique())
    .addColumn('email', 'varchar(255)', (c) => c.unique())
    .addColumn('password_hash', 'varchar(100)', (c) => c.notNull())
    .addColumn('avatar_url', 'varchar(512)')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('captchas')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('identifier', 'varchar(255)', (c) => c.notNull())
    .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('consumed_at', 'varchar(30)')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('captchas_identifier_created')
    .on('captchas')
    .columns(['identifier', 'created_at'])
    .execute();

  await db.schema
    .createTable('files')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('owner_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
    .addColumn('file_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('storage_key', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('mime_type', 'varchar(100)', (c) => c.notNull())
    .addColumn('kind', 'varchar(10)', (c) => c.notNull())
    .addColumn('ext', 'varchar(10)', (c) => c.notNull())
    .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('description', 'text')
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('audio_duration', 'double precision')
    .addColumn('audio_codec', 'varchar(50)')
    .addColumn('audio_sample_rate', 'integer')
    .addColumn('audio_channels', 'integer')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('files_owner_created')
    .on('files')
    .columns(['owner_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('files_public_created')
    .on('files')
    .columns(['is_public', 'created_at'])
    .execute();

  await db.schema
    .createTable('voices')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('voice_name', 'varchar(50)', (c) => c.notNull())
    .addColumn('voice_gender', 'varchar(10)', (c) => c.notNull())
    .addColumn('voice_description', 'text', (c) => c.notNull())
    .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sample_file_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('audition_file_id', 'varchar(36)')
    .addColumn('call_name', 'varchar(255)')
    .addColumn('provider', 'varchar(30)', (c) => c.notNull())
    .addColumn('target_model', 'varchar(60)', (c) => c.notNull())
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('error_info', 'text')
    .addColumn('quality', 'text')
    .addColumn('created_by', 'varchar(36)', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  // The library's listing: public ready voices, oldest first (get_voices).
  await db.schema
    .createIndex('voices_public_status_created')
    .on('voices')
    .columns(['is_public', 'status', 'created_at'])
    .execute();
  // A user's own voices (my_voices, created_by_current_user).
  await db.schema
    .createIndex('voices_owner_created')
    .on('voices')
    .columns(['created_by', 'created_at'])
    .execute();
  // Is this file in use by a voice? (file delete guard)
  await db.schema.createIndex('voices_sample_file').on('voices').column('sample_file_id').execute();
  await db.schema
    .createIndex('voices_audition_file')
    .on('voices')
    .column('audition_file_id')
    .execute();

  await db.schema
    .createTable('voice_shares')
    .addColumn('voice_id', 'varchar(36)', (c) =>
      c.notNull().references('voices.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'varchar(36)', (c) =>
      c.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addPrimaryKeyConstraint('voice_shares_pk', ['voice_id', 'user_id'])
    .execute();
  await db.schema.createIndex('voice_shares_user').on('voice_shares').column('user_id').execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(50)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('state', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('run_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('locked_by', 'varchar(100)')
    .addColumn('locked_until', 'varchar(30)')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'varchar(30)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(30)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('jobs_status_run_at')
    .on('jobs')
    .columns(['status', 'run_at'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['jobs', 'voice_shares', 'voices', 'files', 'captchas', 'users']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
