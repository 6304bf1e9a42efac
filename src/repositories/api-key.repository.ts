import type { Db } from './db.js';
import type { ApiKeysTable } from './schema.js';

export type ApiKeyRow = ApiKeysTable;

/** API keys, looked up by the keyed hash of the presented key. */
export class ApiKeyRepository {
  constructor(private readonly db: Db) {}

  async insert(row: ApiKeyRow): Promise<void> {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  findByHash(hash: string): Promise<ApiKeyRow | undefined> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', hash)
      .executeTakeFirst();
  }

  findById(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listOf(userId: string): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  async touch(id: string, nowIso: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ last_used_at: nowIso })
      .where('id', '=', id)
      .execute();
  }

  /** Deletes the key if it belongs to `userId`; false when there was no such key. */
  async delete(id: string, userId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('api_keys')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async idsOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .select('id')
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.id);
  }

  async deleteAllOf(userId: string): Promise<void> {
    await this.db.deleteFrom('api_keys').where('user_id', '=', userId).execute();
  }
}
