import type { Db } from './db.js';
import type { FilesTable } from './schema.js';

export type FileRow = FilesTable;
export type FileWithOwner = FileRow & { owner_username: string };

/** File rows. Visibility rules live in services/access.ts, not here. */
export class FileRepository {
  constructor(private readonly db: Db) {}

  async insert(row: FileRow): Promise<void> {
    await this.db.insertInto('files').values(row).execute();
  }

  findById(id: string): Promise<FileRow | undefined> {
    return this.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async update(id: string, patch: Partial<Omit<FileRow, 'id' | 'owner_id'>>): Promise<void> {
    await this.db.updateTable('files').set(patch).where('id', '=', id).execute();
  }

  /** Swaps in a new blob only if the row still points at `oldKey` (no lost update). */
  async replaceContent(
    id: string,
    oldKey: string,
    patch: Partial<Omit<FileRow, 'id' | 'owner_id'>>,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('files')
      .set(patch)
      .where('id', '=', id)
      .where('storage_key', '=', oldKey)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('files').where('id', '=', id).execute();
  }

  /** A page of files visible to `viewerId`: public ones plus theirs (or only theirs). */
  async list(opts: {
    viewerId: string;
    onlyMine: boolean;
    offset: number;
    limit: number;
  }): Promise<{ rows: FileWithOwner[]; total: number }> {
    const base = this.db
      .selectFrom('files')
      .innerJoin('users', 'users.id', 'files.owner_id')
      .where('files.origin', '!=', 'rendition')
      .where((eb) =>
        opts.onlyMine
          ? eb('files.owner_id', '=', opts.viewerId)
          : eb.or([eb('files.is_public', '=', 1), eb('files.owner_id', '=', opts.viewerId)]),
      );
    const [rows, count] = await Promise.all([
      base
        .selectAll('files')
        .select('users.username as owner_username')
        .orderBy('files.created_at', 'desc')
        .orderBy('files.id', 'desc')
        .limit(opts.limit)
        .offset(opts.offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  /** The rendition `variant` made from `fileId`. */
  findDerived(fileId: string, variant: string): Promise<FileRow | undefined> {
    return this.db
      .selectFrom('files')
      .selectAll()
      .where('derived_from', '=', fileId)
      .where('variant', '=', variant)
      .executeTakeFirst();
  }

  /** Every rendition made from `fileId`. */
  derivedOf(fileId: string): Promise<Pick<FileRow, 'id' | 'storage_key'>[]> {
    return this.db
      .selectFrom('files')
      .select(['id', 'storage_key'])
      .where('derived_from', '=', fileId)
      .execute();
  }

  /**
   * The first voice that uses the file as its sample or audition clip;
   * with `createdBy`, only that user's voices that are not revoked.
   */
  usedByVoice(
    fileId: string,
    createdBy?: string,
  ): Promise<{ id: string; voice_name: string } | undefined> {
    let q = this.db
      .selectFrom('voices')
      .select(['id', 'voice_name'])
      .where((eb) =>
        eb.or([eb('sample_file_id', '=', fileId), eb('audition_file_id', '=', fileId)]),
      );
    if (createdBy) q = q.where('created_by', '=', createdBy).where('status', '!=', 'revoked');
    return q.limit(1).executeTakeFirst();
  }

  /** Every file of a user (account deletion). */
  allOf(ownerId: string): Promise<FileRow[]> {
    return this.db.selectFrom('files').selectAll().where('owner_id', '=', ownerId).execute();
  }

  /** Which of `keys` some row points to (for the orphan sweeper). */
  async knownKeys(keys: string[]): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const rows = await this.db
      .selectFrom('files')
      .select('storage_key')
      .where('storage_key', 'in', keys)
      .execute();
    return new Set(rows.map((r) => r.storage_key));
  }

  /** Rows in id order, a page at a time (for the missing-blob check). */
  page(afterId: string, limit: number): Promise<Pick<FileRow, 'id' | 'storage_key'>[]> {
    return this.db
      .selectFrom('files')
      .select(['id', 'storage_key'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }
}
