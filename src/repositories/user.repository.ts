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

  /** Whether the user exists and is disabled (one primary-key lookup). */
  async isDisabled(id: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('users')
      .select('disabled_at')
      .where('id', '=', id)
      .executeTakeFirst();
    return !!r?.disabled_at;
  }

  /** Sets or clears `disabled_at`; false when there is no such user. */
  async setDisabled(id: string, at: string | null): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({ disabled_at: at, updated_at: at ?? new Date().toISOString() })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A page of users, oldest first (operators' listing). */
  page(offset: number, limit: number): Promise<UserRow[]> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .offset(offset)
      .limit(limit)
      .execute();
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
