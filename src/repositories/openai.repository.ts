import { sql } from 'kysely';
import type { Db } from './db.js';
import type { VoiceConsentsTable } from './schema.js';
import type { VoiceWithOwner } from './voice.repository.js';

export type VoiceConsentRow = VoiceConsentsTable;

/** A voice found by name, with how the viewer may use it. */
export type NamedVoice = VoiceWithOwner & { shared_with_viewer: number | boolean };

/**
 * Queries of the OpenAI-compatible API: voices by name and for listing,
 * consent recordings, per-user speech settings. No access rules here beyond
 * the visibility filter passed in.
 */
export class OpenAiRepository {
  constructor(private readonly db: Db) {}

  /**
   * Ready voices named `name` (case-insensitive) that `viewerId` may use: own,
   * shared with them, or public (public only when `viewerId` is undefined).
   * At most `limit` rows.
   */
  async usableVoices(
    viewerId: string | undefined,
    opts: { name?: string; limit: number },
  ): Promise<NamedVoice[]> {
    let q = this.db
      .selectFrom('voices')
      .innerJoin('users', 'users.id', 'voices.created_by')
      .selectAll('voices')
      .select('users.username as owner_username')
      .where('voices.status', '=', 'ready');
    if (viewerId === undefined) {
      q = q.where('voices.is_public', '=', 1);
    } else {
      q = q.where((eb) =>
        eb.or([
          eb('voices.is_public', '=', 1),
          eb('voices.created_by', '=', viewerId),
          eb(
            'voices.id',
            'in',
            eb
              .selectFrom('voice_shares')
              .select('voice_shares.voice_id')
              .where('voice_shares.user_id', '=', viewerId),
          ),
        ]),
      );
    }
    if (opts.name !== undefined) {
      q = q.where(sql<boolean>`lower(voices.voice_name) = lower(${opts.name})`);
    }
    return q
      .select((eb) =>
        viewerId === undefined
          ? sql<number>`0`.as('shared_with_viewer')
          : eb
              .exists(
                eb
                  .selectFrom('voice_shares')
                  .select('voice_shares.voice_id')
                  .whereRef('voice_shares.voice_id', '=', 'voices.id')
                  .where('voice_shares.user_id', '=', viewerId),
              )
              .as('shared_with_viewer'),
      )
      .orderBy('voices.created_at', 'asc')
      .orderBy('voices.id', 'asc')
      .limit(opts.limit)
      .execute();
  }

  async insertConsent(row: VoiceConsentRow): Promise<void> {
    await this.db.insertInto('voice_consents').values(row).execute();
  }

  findConsent(id: string): Promise<VoiceConsentRow | undefined> {
    return this.db.selectFrom('voice_consents').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listConsents(userId: string, limit: number): Promise<VoiceConsentRow[]> {
    return this.db
      .selectFrom('voice_consents')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  async deleteConsent(id: string): Promise<void> {
    await this.db.deleteFrom('voice_consents').where('id', '=', id).execute();
  }

  async defaultVoiceId(userId: string): Promise<string | null> {
    const r = await this.db
      .selectFrom('user_speech_settings')
      .select('default_voice_id')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return r?.default_voice_id ?? null;
  }

  async setDefaultVoice(userId: string, voiceId: string | null, nowIso: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('user_speech_settings').where('user_id', '=', userId).execute();
      await trx
        .insertInto('user_speech_settings')
        .values({ user_id: userId, default_voice_id: voiceId, updated_at: nowIso })
        .execute();
    });
  }
}
