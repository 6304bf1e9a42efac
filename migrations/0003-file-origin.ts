import type { Kysely } from 'kysely';

/**
 * `files.origin`: `upload` for what people upload, `audition` for clips
 * Timbre generates, so clients can tell a voice's audition clip from a
 * sample without cross-referencing voices.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: migrations see the schema as it was
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('files')
    .addColumn('origin', 'varchar(12)', (c) => c.notNull().defaultTo('upload'))
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('files').dropColumn('origin').execute();
}
