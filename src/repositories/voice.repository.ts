import { sql, type ExpressionBuilder } from 'kysely';
import type { Db } from './db.js';
import type { Database, VoicesTable, VoiceStatus } from './schema.js';
import { keywordGrams, nameGrams, nameMatches } from './voice-name-grams.js';

/**
 * A keyword whose rarest gram is held by fewer voices than this is answered
 * from those voices (read whole and sorted here); past it, the keyword is
 * common and a walk of one gram's voices in listing order meets its matches
 * soon. Each of a keyword's grams is counted up to this many index entries
 * (a 3-gram keyword of 8 characters has 6), so it bounds both the counting
 * and the sort; 1000 keeps either to a few milliseconds on both databases.
 */
export const KEYWORD_CANDIDATES = 1000;

/** A listing position's key. */
type Key = { created_at: string; id: string };

/**
 * A viewer's own and shared voices that are not public ready, up to this
 * many, are merged with the public listing here (one index walk for any
 * page); past it the database merges them.
 */
const SMALL_SET = 2000;

const byListingOrder = (a: Key, b: Key) =>
  a.created_at < b.created_at
    ? -1
    : a.created_at > b.created_at
      ? 1
      : a.id < b.id
        ? -1
        : a.id > b.id
          ? 1
          : 0;

export type VoiceRow = VoicesTable;
/** What may change of a voice: neither its id, its owner nor when it was created. */
export type VoicePatch = Partial<Omit<VoiceRow, 'id' | 'created_by' | 'created_at'>>;
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

export interface VoiceRepositoryOptions {
  /**
   * Where the listing's reads run (`DbHandle.reader`: on SQLite, worker
   * threads, so a slow search never holds the event loop). Default: `db`.
   */
  reader?: Db;
  /** See KEYWORD_CANDIDATES; tests lower it to reach the common-keyword path. */
  keywordCandidates?: number;
  /** See SMALL_SET; tests lower it to reach the database merge. */
  smallSet?: number;
}

/** Voice rows and shares. Visibility rules are passed in, not decided here. */
export class VoiceRepository {
  /** The listing's connection: reads only, never inside a transaction. */
  private readonly reader: Db;
  private readonly keywordCandidates: number;
  private readonly smallSet: number;

  constructor(
    private readonly db: Db,
    opts: VoiceRepositoryOptions = {},
  ) {
    this.reader = opts.reader ?? db;
    this.keywordCandidates = opts.keywordCandidates ?? KEYWORD_CANDIDATES;
    this.smallSet = opts.smallSet ?? SMALL_SET;
  }

  /** Inserts the voice with its keyword grams, in one transaction. */
  async insert(row: VoiceRow): Promise<void> {
    await this.db.transaction().execute((trx) => insertVoice(trx, row));
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

  /** `created_at` is not among what changes: the keyword index holds a copy of it. */
  async update(id: string, patch: VoicePatch): Promise<void> {
    const name = patch.voice_name;
    if (name === undefined) {
      await this.db.updateTable('voices').set(patch).where('id', '=', id).execute();
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('voices').set(patch).where('id', '=', id).execute();
      await trx.deleteFrom('voice_name_grams').where('voice_id', '=', id).execute();
      const v = await trx
        .selectFrom('voices')
        .select('created_at')
        .where('id', '=', id)
        .executeTakeFirst();
      if (v) await writeGrams(trx, { id, voice_name: name, created_at: v.created_at });
    });
  }

  /** Updates only while the voice is in one of `from` (a guarded state transition). */
  async transition(id: string, from: VoiceStatus[], patch: VoicePatch): Promise<boolean> {
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
      await trx.deleteFrom('voice_name_grams').where('voice_id', '=', id).execute();
      await trx.deleteFrom('voices').where('id', '=', id).execute();
    });
  }

  /**
   * The library listing: oldest first (newest with `order: 'desc'`). Without `onlyMine`: public ready
   * voices, the viewer's own (any status) and ready voices shared with them.
   *
   * The page's ids are chosen first, by the cheapest path for the query
   * (see `pageIds`), then joined with their owners. Every query runs on the
   * reader (see VoiceRepositoryOptions.reader).
   */
  async list(q: VoiceListQuery): Promise<VoiceWithOwner[]> {
    const ids = await this.pageIds(q);
    if (ids.length === 0) return [];
    const rows = await this.reader
      .selectFrom('voices as v')
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
      .where('v.id', 'in', ids)
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * The ids of one listing page, in order:
   * - a keyword of two characters or more whose rarest gram is held by fewer
   *   than `keywordCandidates` voices: those voices, checked and sorted here;
   * - a keyword made only of common grams: a walk of one gram's voices in
   *   listing order (its (gram, created_at, voice_id) index), filtered by LIKE
   *   (common means matches come soon, and the gram's voices are a small part
   *   of the listing);
   * - a keyword of one character (no gram), or any keyword in the viewer's
   *   own voices only: a walk of the listing in order, filtered by LIKE (own
   *   voices through the (created_by, created_at) index: one user's voices
   *   are fewer than a common gram's);
   * - no keyword: each source of the visible set (public ready, own, shared)
   *   read in index order up to the page's end, merged, then cut.
   */
  private async pageIds(q: VoiceListQuery): Promise<string[]> {
    if (q.keyword) {
      const rarest = await this.rarestGram(keywordGrams(q.keyword), q.order ?? 'asc');
      if (!rarest) return this.scanPage(q);
      if (rarest.n < this.keywordCandidates) {
        return this.keywordPageFromGram(q, q.keyword, rarest.gram);
      }
      if (q.onlyMine) return this.scanPage(q);
      return this.gramWalkPage(q, q.keyword, rarest.gram);
    }
    if (q.onlyMine) return this.scanPage(q);
    return this.visiblePage(q);
  }

  /**
   * The gram held by the fewest voices, each counted up to
   * `keywordCandidates`. When every gram reaches that cap, the one whose
   * first `keywordCandidates` voices (in the page's direction) reach furthest
   * into the listing: it is the sparsest there, so a walk of it meets the
   * keyword's matches soonest (a two-word keyword's rarer word, not the first
   * common one). Undefined for no grams.
   */
  private async rarestGram(
    grams: string[],
    dir: 'asc' | 'desc',
  ): Promise<{ gram: string; n: number } | undefined> {
    // Counted at once: on SQLite the reader threads share them out.
    const counts = await Promise.all(
      grams.map(async (gram) => {
        const r = await this.reader
          .selectFrom((eb) =>
            eb
              .selectFrom('voice_name_grams')
              .select('created_at')
              .where('gram', '=', gram)
              .orderBy('created_at', dir)
              .orderBy('voice_id', dir)
              .limit(this.keywordCandidates)
              .as('g'),
          )
          .select((eb) => [
            eb.fn.countAll<number | string>().as('n'),
            (dir === 'asc' ? eb.fn.max('g.created_at') : eb.fn.min('g.created_at')).as('reach'),
          ])
          .executeTakeFirstOrThrow();
        return { gram, n: Number(r.n), reach: r.reach ?? '' };
      }),
    );
    const further = (a: string, b: string) => (dir === 'asc' ? a > b : a < b);
    let best: (typeof counts)[number] | undefined;
    for (const c of counts) {
      if (c.n === 0) return c;
      if (!best || c.n < best.n || (c.n === best.n && further(c.reach, best.reach))) best = c;
    }
    return best;
  }

  private async keywordPageFromGram(
    q: VoiceListQuery,
    keyword: string,
    gram: string,
  ): Promise<string[]> {
    let candidates = this.reader
      .selectFrom('voice_name_grams as g')
      .innerJoin('voices', 'voices.id', 'g.voice_id')
      .select(['voices.id', 'voices.voice_name', 'voices.created_at'])
      .where('g.gram', '=', gram);
    candidates = candidates.where((eb) => this.visibleTo(eb, q));
    if (q.gender) candidates = candidates.where('voices.voice_gender', '=', q.gender);
    const rows = await candidates.execute();
    return rows
      .filter((r) => nameMatches(r.voice_name, keyword))
      .sort(q.order === 'desc' ? (a, b) => byListingOrder(b, a) : byListingOrder)
      .slice(q.offset, q.offset + q.limit)
      .map((r) => r.id);
  }

  /**
   * A common keyword's page: the voices holding `gram`, walked in listing
   * order through its (gram, created_at, voice_id) index, each looked up in
   * voices by key for the filters; the database stops at the page's end. A
   * deep page costs about (offset + limit) / (share of the gram's voices that
   * are visible and match) index entries and lookups, not a walk of the
   * whole listing as a LIKE scan would.
   */
  private async gramWalkPage(q: VoiceListQuery, keyword: string, gram: string): Promise<string[]> {
    let page = this.reader
      .selectFrom('voice_name_grams as g')
      .innerJoin('voices', 'voices.id', 'g.voice_id')
      .select('voices.id')
      .where('g.gram', '=', gram)
      .where((eb) => this.visibleTo(eb, q))
      .where(nameLike(keyword));
    if (q.gender) page = page.where('voices.voice_gender', '=', q.gender);
    const dir = q.order ?? 'asc';
    const rows = await page
      .orderBy('g.created_at', dir)
      .orderBy('g.voice_id', dir)
      .limit(q.limit)
      .offset(q.offset)
      .execute();
    return rows.map((r) => r.id);
  }

  /** A walk of the listing in order, with the filters as SQL (own voices, or LIKE). */
  private async scanPage(q: VoiceListQuery): Promise<string[]> {
    let page = this.reader.selectFrom('voices').select('voices.id');
    page = page.where((eb) => this.visibleTo(eb, q));
    if (q.gender) page = page.where('voices.voice_gender', '=', q.gender);
    if (q.keyword) page = page.where(nameLike(q.keyword));
    const dir = q.order ?? 'asc';
    const rows = await page
      .orderBy('voices.created_at', dir)
      .orderBy('voices.id', dir)
      .limit(q.limit)
      .offset(q.offset)
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * The visible set without a keyword. It is the public ready voices (P,
   * through the covering (is_public, status, created_at, id) index) merged
   * with the viewer's own and shared voices that are not public ready (S,
   * usually few). When S is small, one index walk of P serves any page:
   * P's rows from offset `off − |S|` on are read, the position of the first
   * of them in the merged listing is known from S alone, and the merge with
   * S is done here, so a deep page costs a walk of P's index only. A viewer
   * with many private or shared voices gets the SQL merge ({@link mergedPage}).
   */
  private async visiblePage(q: VoiceListQuery): Promise<string[]> {
    const dir = q.order ?? 'asc';
    const cmp = dir === 'desc' ? (a: Key, b: Key) => byListingOrder(b, a) : byListingOrder;
    const { pub, own, shared } = this.sources(q, true);
    const [ownRows, sharedRows] = await Promise.all([
      own.limit(this.smallSet + 1).execute(),
      shared.limit(this.smallSet + 1).execute(),
    ]);
    const byId = new Map<string, Key>();
    for (const r of [...ownRows, ...sharedRows]) byId.set(r.id, r);
    if (byId.size > this.smallSet) return this.mergedPage(q);
    const small = [...byId.values()].sort(cmp);

    const start = Math.max(0, q.offset - small.length);
    const window = await pub
      .orderBy('voices.created_at', dir)
      .orderBy('voices.id', dir)
      .limit(q.limit + small.length)
      .offset(start)
      .execute();
    // Past the end of P: where P ends in the listing is not known from here.
    if (start > 0 && window.length === 0) return this.mergedPage(q);

    // Position of the first row merged below: window[0] is preceded by
    // `start` rows of P and by the rows of S before it.
    let s = 0;
    if (start > 0) while (s < small.length && cmp(small[s]!, window[0]!) < 0) s++;
    let position = start + s;
    const page: string[] = [];
    let w = 0;
    const end = q.offset + q.limit;
    while (position < end && (w < window.length || s < small.length)) {
      const takeSmall = w >= window.length || (s < small.length && cmp(small[s]!, window[w]!) < 0);
      const next = takeSmall ? small[s++]! : window[w++]!;
      if (position >= q.offset) page.push(next.id);
      position++;
    }
    return page;
  }

  /**
   * The visible set's sources as (id, created_at) queries: public ready
   * voices, the viewer's own (any status) and ready voices shared with them;
   * with `outsidePublic`, own and shared leave out what is public and ready.
   */
  private sources(q: VoiceListQuery, outsidePublic: boolean) {
    let pub = this.reader
      .selectFrom('voices')
      .select(['voices.id', 'voices.created_at'])
      .where('voices.is_public', '=', 1)
      .where('voices.status', '=', 'ready');
    let own = this.reader
      .selectFrom('voices')
      .select(['voices.id', 'voices.created_at'])
      .where('voices.created_by', '=', q.viewerId);
    let shared = this.reader
      .selectFrom('voice_shares')
      .innerJoin('voices', 'voices.id', 'voice_shares.voice_id')
      .select(['voices.id', 'voices.created_at'])
      .where('voice_shares.user_id', '=', q.viewerId)
      .where('voices.status', '=', 'ready');
    if (outsidePublic) {
      own = own.where((eb) =>
        eb.not(eb.and([eb('voices.is_public', '=', 1), eb('voices.status', '=', 'ready')])),
      );
      shared = shared.where('voices.is_public', '!=', 1);
    }
    if (q.gender) {
      pub = pub.where('voices.voice_gender', '=', q.gender);
      own = own.where('voices.voice_gender', '=', q.gender);
      shared = shared.where('voices.voice_gender', '=', q.gender);
    }
    return { pub, own, shared };
  }

  /** The same page as {@link visiblePage}, merged by the database (for large S). */
  private async mergedPage(q: VoiceListQuery): Promise<string[]> {
    const end = q.offset + q.limit;
    const { pub, own, shared } = this.sources(q, false);
    const dir = q.order ?? 'asc';
    const firstUpToEnd = <T extends typeof pub>(b: T) =>
      b.orderBy('voices.created_at', dir).orderBy('voices.id', dir).limit(end);
    const merged = this.reader
      .selectFrom(firstUpToEnd(pub).as('p'))
      .selectAll()
      .union(this.reader.selectFrom(firstUpToEnd(own).as('o')).selectAll())
      .union(
        this.reader.selectFrom(firstUpToEnd(shared as unknown as typeof pub).as('s')).selectAll(),
      );
    const rows = await this.reader
      .selectFrom(merged.as('u'))
      .select('u.id')
      .orderBy('u.created_at', dir)
      .orderBy('u.id', dir)
      .limit(q.limit)
      .offset(q.offset)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Who may see a voice in the listing (the rule itself lives in services/access.ts). */
  private visibleTo(eb: ExpressionBuilder<Database, 'voices'>, q: VoiceListQuery) {
    if (q.onlyMine) return eb('voices.created_by', '=', q.viewerId);
    return eb.or([
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
    ]);
  }

  /** All of one user's voices, newest first. */
  /** How many of the owner's voices are still being created (pending or processing). */
  async countInProgress(ownerId: string): Promise<number> {
    const r = await this.db
      .selectFrom('voices')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('created_by', '=', ownerId)
      .where('status', 'in', ['pending', 'processing'])
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  listByOwner(ownerId: string): Promise<VoiceWithOwner[]> {
    return this.withOwner()
      .where('voices.created_by', '=', ownerId)
      .orderBy('voices.created_at', 'desc')
      .orderBy('voices.id', 'desc')
      .execute();
  }

  /** Every voice made from a file (its sample), oldest first, with creators' names. */
  madeFrom(fileId: string): Promise<VoiceWithOwner[]> {
    return this.withOwner()
      .where('voices.sample_file_id', '=', fileId)
      .orderBy('voices.created_at', 'asc')
      .orderBy('voices.id', 'asc')
      .execute();
  }

  async deleteSharesTo(userId: string): Promise<void> {
    await this.db.deleteFrom('voice_shares').where('user_id', '=', userId).execute();
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

/**
 * Whether the voice's name holds `keyword`, as SQL. Case-insensitive on both
 * dialects: SQLite's LIKE folds ASCII case, but MySQL's follows the column
 * collation (binary in some databases).
 */
function nameLike(keyword: string) {
  return sql<boolean>`lower(voices.voice_name) like lower(${'%' + escapeLike(keyword) + '%'}) escape ${'\\'}`;
}

/**
 * A voice row and its keyword index rows, on `db` (the caller's transaction):
 * the one way a voice is written, for the repository and the importer alike.
 */
export async function insertVoice(db: Db, row: VoiceRow): Promise<void> {
  await db.insertInto('voices').values(row).execute();
  await writeGrams(db, row);
}

/**
 * The keyword index rows of one voice: its name's grams, each with the
 * voice's `created_at` (the listing order). Every writer of voices goes
 * through here (the importer of the original database too).
 */
async function writeGrams(
  db: Db,
  v: Pick<VoiceRow, 'id' | 'voice_name' | 'created_at'>,
): Promise<void> {
  const rows = nameGrams(v.voice_name).map((gram) => ({
    gram,
    voice_id: v.id,
    created_at: v.created_at,
  }));
  if (rows.length > 0) await db.insertInto('voice_name_grams').values(rows).execute();
}
