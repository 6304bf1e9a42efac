import type { Db } from './db.js';
import type { UsersTable } from './schema.js';

export type UserRow = UsersTable;

/** Users by id or login identifier. No business rules here. */
export class UserRepository {
  constructor(private readonly db: Db) {}

  async insert(row: UserRow): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByIdentifier(type: 'phone' | 'email', identifier: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where(type, '=', identifier).executeTakeFirst();
  }

  async updatePassword(id: string, passwordHash: string, nowIso: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: nowIso })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('users').where('id', '=', id).execute();
  }

  /** Users by id, for joining usernames onto listings. */
  async usernames(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const rows = await this.db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('id', 'in', [...new Set(ids)])
      .execute();
    return new Map(rows.map((r) => [r.id, r.username]));
  }
}
