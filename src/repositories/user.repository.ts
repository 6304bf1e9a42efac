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
