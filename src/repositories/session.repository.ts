import type { Db } from './db.js';
import type { SessionsTable } from './schema.js';

export type SessionRow = SessionsTable;

/** Login sessions. Rotation and reuse rules live in the auth service. */
export class SessionRepository {
  constructor(private readonly db: Db) {}

  async insert(row: SessionRow): Promise<void> {
    await this.db.insertInto('sessions').values(row).execute();
  }

  findById(id: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Live sessions of a user, newest first. */
  listLive(userId: string, nowIso: string): Promise<SessionRow[]> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', nowIso)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  /**
   * Moves the session to a new refresh token only if `oldJti` is still the
   * current one and the session is live: of two concurrent uses of one
   * refresh token, exactly one wins.
   */
  async rotate(id: string, oldJti: string, newJti: string, nowIso: string): Promise<boolean> {
    const r = await this.db
      .updateTable('sessions')
      .set({ refresh_jti: newJti, last_used_at: nowIso })
      .where('id', '=', id)
      .where('refresh_jti', '=', oldJti)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', nowIso)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async revoke(id: string, nowIso: string): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: nowIso })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** Revokes every live session of a user except `keepId`; returns the ids revoked. */
  async revokeAllOf(userId: string, nowIso: string, keepId?: string): Promise<string[]> {
    let q = this.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (keepId) q = q.where('id', '!=', keepId);
    const ids = (await q.execute()).map((r) => r.id);
    if (ids.length) {
      await this.db
        .updateTable('sessions')
        .set({ revoked_at: nowIso })
        .where('id', 'in', ids)
        .where('revoked_at', 'is', null)
        .execute();
    }
    return ids;
  }

  /** Every session id of a user, revoked or not (account deletion). */
  async idsOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.id);
  }

  async deleteAllOf(userId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  /** Drops sessions that ended (revoked or expired) before `beforeIso`. */
  async purgeEnded(beforeIso: string): Promise<void> {
    await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<', beforeIso), eb('revoked_at', '<', beforeIso)]))
      .execute();
  }
}
