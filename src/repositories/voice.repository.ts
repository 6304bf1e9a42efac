import { sql } from 'kysely';
import type { Db } from './db.js';
import type { VoicesTable, VoiceStatus } from './schema.js';

export type VoiceRow = VoicesTable;
export type VoiceWithOwner = VoiceRow & {
  owner_username: string;
  /** Set by listings: whether the voice is shared with the viewer (1/0 or boolean). */
  shared_with_viewer?: number | boolean;
};

export interface VoiceListQuery {
  viewerId: string;
  onlyMine: boolean;
  keyword?: string;
  gender?: 'male' | 'female' | 'other';
  offset: number;
  limit: number;
  /** Creation order; oldest first unless `desc`. */
  order?: 'asc' | 'desc';
}

/** Escapes LIKE wildcards so a keyword matches literally. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Voice rows and shares. Visibility rules are passed in, not decided here. */
export class VoiceRepository {
  constructor(private readonly db: Db) {}

  async insert(row: VoiceRow): Promise<void> {
    await this.db.insertInto('voices').values(row).execute();
  }

  /** Voices joined with their owner's username. */
  private withOwner() {
    return this.db
      .selectFrom('voices')
      .innerJoin('users', 'users.id', 'voices.created_by')
      .selectAll('voices')
      .select('users.username as owner_username');
  }

  findById(id: string): Promise<VoiceWithOwner | undefined> {
    return this.withOwner().where('voices.id', '=', id).executeTakeFirst();
  }

  async update(id: string, patch: Partial<Omit<VoiceRow, 'id' | 'created_by'>>): Promise<void> {
    await this.db.updateTable('voices').set(patch).where('id', '=', id).execute();
  }

  /** Updates only while the voice is in one of `from` (a guarded state transition). */
  async transition(
    id: string,
    from: VoiceStatus[],
    patch: Partial<Omit<VoiceRow, 'id' | 'created_by'>>,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('voices')
      .set(patch)
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('voice_shares').where('voice_id', '=', id).execute();
      await trx.deleteFrom('voices').where('id', '=', id).execute();
    });
  }

  /**
   * The library listing: oldest first (or newest with `order: 'desc'`). Without `onlyMine`: public ready
   * voices, the viewer's own (any status) and ready voices shared with them.
   */
  async list(q: VoiceListQuery): Promise<VoiceWithOwner[]> {
    // Pick the page of voices first, then join the owners: the planner can walk
    // the created_at index in order and stop after the page, instead of
    // joining every visible voice to users and sorting them all.
    let page = this.db.selectFrom('voices').selectAll('voices');
    if (q.onlyMine) {
      page = page.where('voices.created_by', '=', q.viewerId);
    } else {
      page = page.where((eb) =>
        eb.or([
          eb.and([eb('voices.is_public', '=', 1), eb('voices.status', '=', 'ready')]),
          eb('voices.created_by', '=', q.viewerId),
          eb.and([
            eb('voices.status', '=', 'ready'),
            eb(
              'voices.id',
              'in',
              eb
                .selectFrom('voice_shares')
                .select('voice_shares.voice_id')
                .where('voice_shares.user_id', '=', q.viewerId),
            ),
          ]),
        ]),
      );
    }
    if (q.gender) page = page.where('voices.voice_gender', '=', q.gender);
    if (q.keyword) {
      // Case-insensitive on both dialects: SQLite's LIKE folds ASCII case, but
      // MySQL's follows the column collation (binary in some databases).
      page = page.where(
        sql<boolean>`lower(voices.voice_name) like lower(${'%' + escapeLike(q.keyword) + '%'}) escape ${'\\'}`,
      );
    }
    const dir = q.order ?? 'asc';
    const inner = page
      .orderBy('voices.created_at', dir)
      .orderBy('voices.id', dir)
      .limit(q.limit)
      .offset(q.offset)
      .as('v');
    return this.db
      .selectFrom(inner)
      .innerJoin('users', 'users.id', 'v.created_by')
      .selectAll('v')
      .select('users.username as owner_username')
      .select((eb) =>
        eb
          .exists(
            eb
              .selectFrom('voice_shares')
              .select('voice_shares.voice_id')
              .whereRef('voice_shares.voice_id', '=', 'v.id')
              .where('voice_shares.user_id', '=', q.viewerId),
          )
          .as('shared_with_viewer'),
      )
      .orderBy('v.created_at', dir)
      .orderBy('v.id', dir)
      .execute();
  }

  /** All of one user's voices, newest first. */
  listByOwner(ownerId: string): Promise<VoiceWithOwner[]> {
    return this.withOwner()
      .where('voices.created_by', '=', ownerId)
      .orderBy('voices.created_at', 'desc')
      .orderBy('voices.id', 'desc')
      .execute();
  }

  async isSharedWith(voiceId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('voice_shares')
      .select('voice_id')
      .where('voice_id', '=', voiceId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return !!r;
  }

  async share(voiceId: string, userId: string, nowIso: string): Promise<void> {
    await this.db
      .insertInto('voice_shares')
      .values({ voice_id: voiceId, user_id: userId, created_at: nowIso })
      .execute();
  }

  async unshare(voiceId: string, userId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('voice_shares')
      .where('voice_id', '=', voiceId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  shares(voiceId: string): Promise<{ user_id: string; username: string; created_at: string }[]> {
    return this.db
      .selectFrom('voice_shares')
      .innerJoin('users', 'users.id', 'voice_shares.user_id')
      .select(['voice_shares.user_id', 'users.username', 'voice_shares.created_at'])
      .where('voice_shares.voice_id', '=', voiceId)
      .orderBy('voice_shares.created_at')
      .execute();
  }
}
