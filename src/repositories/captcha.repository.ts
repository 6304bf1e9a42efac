import type { Db } from './db.js';
import type { CaptchasTable } from './schema.js';

export type CaptchaRow = Omit<CaptchasTable, 'attempts'> & { attempts: number };

export class CaptchaRepository {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<CaptchaRow, 'attempts'>): Promise<void> {
    await this.db.insertInto('captchas').values(row).execute();
  }

  /** The newest unconsumed, unexpired code for an identifier. */
  latestUsable(identifier: string, nowIso: string): Promise<CaptchaRow | undefined> {
    return this.db
      .selectFrom('captchas')
      .selectAll()
      .where('identifier', '=', identifier)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', nowIso)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Marks a code used; false when somebody else consumed it first. */
  async consume(id: string, nowIso: string): Promise<boolean> {
    const r = await this.db
      .updateTable('captchas')
      .set({ consumed_at: nowIso })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async countAttempt(id: string): Promise<void> {
    await this.db
      .updateTable('captchas')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  /** Deletes codes that expired before `beforeIso`. */
  async purgeExpired(beforeIso: string): Promise<void> {
    await this.db.deleteFrom('captchas').where('expires_at', '<', beforeIso).execute();
  }

  async deleteFor(identifier: string): Promise<void> {
    await this.db.deleteFrom('captchas').where('identifier', '=', identifier).execute();
  }
}
