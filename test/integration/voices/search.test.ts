import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type Kysely } from 'kysely';
import { migrations } from '../../../migrations/index.js';
import { openDatabase } from '../../../src/repositories/db.js';
import type { VoicesTable } from '../../../src/repositories/schema.js';
import {
  VoiceRepository,
  type VoiceListQuery,
} from '../../../src/repositories/voice.repository.js';
import {
  keywordGrams,
  nameGrams,
  nameMatches,
} from '../../../src/repositories/voice-name-grams.js';
import { createTestDb, testDialects, type TestDb } from '../../helpers/db.js';

const dialects = await testDialects();

const ALICE = '00000000-0000-7000-8000-0000000000a1';
const BOB = '00000000-0000-7000-8000-0000000000b2';

function voice(n: number, over: Partial<VoicesTable> = {}): VoicesTable {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  return {
    id: `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`,
    voice_name: `voice ${n}`,
    voice_gender: 'female',
    voice_description: '',
    is_public: 1,
    sample_file_id: 'f',
    audition_file_id: null,
    call_name: null,
    provider: 'offline',
    target_model: 'm',
    status: 'ready',
    error_info: null,
    quality: null,
    created_by: BOB,
    created_at: at,
    updated_at: at,
    ...over,
  } as VoicesTable;
}

async function addUsers(t: TestDb) {
  const now = new Date().toISOString();
  for (const [id, username] of [
    [ALICE, 'alice'],
    [BOB, 'bob'],
  ]) {
    await t.db
      .insertInto('users')
      .values({
        id: id!,
        username: username!,
        phone: null,
        email: `${username}@example.com`,
        password_hash: 'x',
        avatar_url: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }
}

describe('the gram pieces of a name', () => {
  it('are the distinct 2- and 3-character pieces of the lower-cased name', () => {
    expect(nameGrams('AbAb').sort()).toEqual(['ab', 'aba', 'ba', 'bab'].sort());
    expect(nameGrams('小明')).toEqual(['小明']);
    expect(nameGrams('x')).toEqual([]);
  });

  it('ask a keyword for its 3-grams, or its one 2-gram, or nothing for one character', () => {
    expect(keywordGrams('Narr').sort()).toEqual(['arr', 'nar']);
    expect(keywordGrams('王五')).toEqual(['王五']);
    expect(keywordGrams('a')).toEqual([]);
  });
});

describe.each(dialects)('keyword search and deep pages on %s', (dialect) => {
  let t: TestDb;
  let repo: VoiceRepository;
  const list = async (q: Partial<VoiceListQuery>, r = repo) =>
    (await r.list({ viewerId: ALICE, onlyMine: false, offset: 0, limit: 50, ...q })).map(
      (v) => v.voice_name,
    );

  beforeAll(async () => {
    t = await createTestDb(dialect);
    await addUsers(t);
    repo = new VoiceRepository(t.db, { reader: t.reader });
    const names = [
      'Gentle Narrator',
      'Calm narrator 2',
      '王小明',
      '小明的声音',
      'ce x',
      'Zed',
      'private narrator',
      'Naïve Élan',
    ];
    for (const [i, name] of names.entries()) {
      await repo.insert(
        voice(i + 1, {
          voice_name: name,
          is_public: name.startsWith('private') ? 0 : 1,
        }),
      );
    }
  });
  afterAll(async () => t?.drop());

  it('finds a keyword of three characters or more anywhere in a name, any case', async () => {
    expect(await list({ keyword: 'NARRATOR' })).toEqual(['Gentle Narrator', 'Calm narrator 2']);
    expect(await list({ keyword: 'tor 2' })).toEqual(['Calm narrator 2']);
  });

  it('finds a two-character Chinese keyword inside longer names', async () => {
    expect(await list({ keyword: '小明' })).toEqual(['王小明', '小明的声音']);
    expect(await list({ keyword: '声音' })).toEqual(['小明的声音']);
  });

  it('tells a trailing space apart from none', async () => {
    expect(await list({ keyword: 'ce ' })).toEqual(['ce x']);
    expect(await list({ keyword: 'ce' })).toEqual(['ce x']);
  });

  it('matches accented letters without regard to case', async () => {
    expect(await list({ keyword: 'NAÏVE' })).toEqual(['Naïve Élan']);
    expect(await list({ keyword: 'élan' })).toEqual(['Naïve Élan']);
  });

  it('keeps the visibility rules: a private voice of someone else is not found', async () => {
    expect(await list({ keyword: 'narrator' })).not.toContain('private narrator');
    expect(await list({ keyword: 'narrator', viewerId: BOB })).toContain('private narrator');
  });

  it('answers a keyword that no name holds with nothing', async () => {
    expect(await list({ keyword: 'Zephyrine' })).toEqual([]);
  });

  it('finds a one-character keyword by walking the listing', async () => {
    expect(await list({ keyword: 'z' })).toEqual(['Zed']);
  });

  it('gives the same answers when every gram is common (the walking path)', async () => {
    const walking = new VoiceRepository(t.db, { reader: t.reader, keywordCandidates: 1 });
    expect(await list({ keyword: 'narrator' }, walking)).toEqual([
      'Gentle Narrator',
      'Calm narrator 2',
    ]);
    expect(await list({ keyword: '小明' }, walking)).toEqual(['王小明', '小明的声音']);
  });

  it('follows a rename: the old name is gone from the index, the new one found', async () => {
    const id = voice(6).id;
    await repo.update(id, { voice_name: 'Zorro the Bold' });
    expect(await list({ keyword: 'Zed' })).toEqual([]);
    expect(await list({ keyword: 'the bold' })).toEqual(['Zorro the Bold']);
    await repo.update(id, { voice_name: 'Zed' });
  });

  it('forgets a deleted voice', async () => {
    await repo.insert(voice(90, { voice_name: 'Temporary' }));
    expect(await list({ keyword: 'tempor' })).toEqual(['Temporary']);
    await repo.delete(voice(90).id);
    expect(await list({ keyword: 'tempor' })).toEqual([]);
    const left = await t.db
      .selectFrom('voice_name_grams')
      .select('gram')
      .where('voice_id', '=', voice(90).id)
      .execute();
    expect(left).toEqual([]);
  });

  it('pages keyword results in listing order, either way', async () => {
    expect(await list({ keyword: 'narrator', offset: 1, limit: 1 })).toEqual(['Calm narrator 2']);
    expect(await list({ keyword: 'narrator', order: 'desc' })).toEqual([
      'Calm narrator 2',
      'Gentle Narrator',
    ]);
    const walking = new VoiceRepository(t.db, { reader: t.reader, keywordCandidates: 1 });
    expect(await list({ keyword: 'narrator', order: 'desc' }, walking)).toEqual([
      'Calm narrator 2',
      'Gentle Narrator',
    ]);
  });
});

describe.each(dialects)('the listing without a keyword on %s', (dialect) => {
  let t: TestDb;
  let repo: VoiceRepository;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    await addUsers(t);
    repo = new VoiceRepository(t.db, { reader: t.reader });
    // 30 voices: public ready, Alice's own (private, pending), shared with her, others' private.
    for (let n = 1; n <= 30; n++) {
      const kind = n % 5;
      await repo.insert(
        voice(n, {
          voice_name: `v${n}`,
          created_by: kind === 1 ? ALICE : BOB,
          is_public: kind === 0 || kind === 2 ? 1 : 0,
          status: kind === 1 && n > 20 ? 'pending' : 'ready',
          voice_gender: n % 2 ? 'male' : 'female',
        }),
      );
      if (kind === 3) await repo.share(voice(n).id, ALICE, new Date().toISOString());
    }
    // A public voice of Alice's own, which is in two sources at once.
    await repo.update(voice(1).id, { is_public: 1 });
  });
  afterAll(async () => t?.drop());

  /** What the rules say Alice sees, in order, computed here from the same rows. */
  const expected = (gender?: string) =>
    Array.from({ length: 30 }, (_, i) => i + 1)
      .filter((n) => [0, 1, 2, 3].includes(n % 5))
      .filter((n) => !gender || (n % 2 ? 'male' : 'female') === gender)
      .map((n) => `v${n}`);

  it('merges public, own and shared voices once each, oldest first, on every page', async () => {
    const all: string[] = [];
    for (let offset = 0; offset < 40; offset += 7) {
      const page = await repo.list({ viewerId: ALICE, onlyMine: false, offset, limit: 7 });
      all.push(...page.map((v) => v.voice_name));
    }
    expect(all).toEqual(expected());
  });

  it('pages newest first when asked, the same voices in reverse', async () => {
    const all: string[] = [];
    for (let offset = 0; offset < 40; offset += 6) {
      const page = await repo.list({
        viewerId: ALICE,
        onlyMine: false,
        offset,
        limit: 6,
        order: 'desc',
      });
      all.push(...page.map((v) => v.voice_name));
    }
    expect(all).toEqual(expected().reverse());
  });

  it('filters by gender on the merged listing', async () => {
    const page = await repo.list({
      viewerId: ALICE,
      onlyMine: false,
      offset: 0,
      limit: 100,
      gender: 'male',
    });
    expect(page.map((v) => v.voice_name)).toEqual(expected('male'));
  });

  it('gives every page alike whether it merges here or in the database, either way, any gender', async () => {
    const merging = new VoiceRepository(t.db, { reader: t.reader, smallSet: 0 });
    for (const order of ['asc', 'desc'] as const) {
      for (const gender of [undefined, 'female'] as const) {
        const want = expected(gender);
        if (order === 'desc') want.reverse();
        for (const limit of [1, 4, 11]) {
          for (let offset = 0; offset <= want.length + 2; offset++) {
            const q = { viewerId: ALICE, onlyMine: false, offset, limit, order, gender };
            const names = (await repo.list(q)).map((v) => v.voice_name);
            const merged = (await merging.list(q)).map((v) => v.voice_name);
            expect(names, JSON.stringify(q)).toEqual(want.slice(offset, offset + limit));
            expect(merged, JSON.stringify(q)).toEqual(names);
          }
        }
      }
    }
  });

  it('says which voices are shared with the viewer', async () => {
    const page = await repo.list({ viewerId: ALICE, onlyMine: false, offset: 0, limit: 100 });
    const shared = page.filter((v) => Number(v.shared_with_viewer) === 1).map((v) => v.voice_name);
    expect(shared).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1)
        .filter((n) => n % 5 === 3)
        .map((n) => `v${n}`),
    );
  });
});

describe.each(dialects)('the keyword index migration on %s', (dialect) => {
  it('indexes the voices that existed before it', async () => {
    const t = await createTestDb(dialect);
    try {
      const migrator = new Migrator({
        db: t.db,
        provider: { getMigrations: async () => migrations },
      });
      await migrator.migrateTo('0003-file-origin');
      await addUsers(t);
      await t.db
        .insertInto('voices')
        .values(voice(1, { voice_name: 'Old Timer' }))
        .execute();
      const r = await migrator.migrateToLatest();
      expect(r.error).toBeUndefined();
      const repo = new VoiceRepository(t.db, { reader: t.reader });
      const found = await repo.list({
        viewerId: ALICE,
        onlyMine: false,
        offset: 0,
        limit: 10,
        keyword: 'timer',
      });
      expect(found.map((v) => v.voice_name)).toEqual(['Old Timer']);
    } finally {
      await t.drop();
    }
  });

  it('gives the index rows of existing voices their voice’s created_at (0010), in batches', async () => {
    const t = await createTestDb(dialect);
    try {
      const migrator = new Migrator({
        db: t.db,
        provider: { getMigrations: async () => migrations },
      });
      await migrator.migrateTo('0009-user-disabled');
      await addUsers(t);
      const before0010 = t.db as unknown as Kysely<{
        voice_name_grams: { gram: string; voice_id: string };
      }>;
      // More voices than one backfill batch, created in an order unlike their ids.
      const n = 2100;
      const rows = Array.from({ length: n }, (_, i) =>
        voice(i + 1, {
          voice_name: `Narrator ${i + 1}`,
          created_at: new Date(Date.UTC(2025, 0, 1) + ((i * 7919) % n) * 1000).toISOString(),
        }),
      );
      for (let i = 0; i < n; i += 500) {
        const chunk = rows.slice(i, i + 500);
        await t.db.insertInto('voices').values(chunk).execute();
        // The index rows as they were written before 0010: no created_at.
        await before0010
          .insertInto('voice_name_grams')
          .values(
            chunk.flatMap((v) => nameGrams(v.voice_name).map((gram) => ({ gram, voice_id: v.id }))),
          )
          .execute();
      }
      const r = await migrator.migrateToLatest();
      expect(r.error).toBeUndefined();

      const grams = await t.db
        .selectFrom('voice_name_grams as g')
        .innerJoin('voices', 'voices.id', 'g.voice_id')
        .select(['g.voice_id', 'g.created_at as copied', 'voices.created_at'])
        .execute();
      expect(grams.length).toBe(rows.reduce((k, v) => k + nameGrams(v.voice_name).length, 0));
      expect(grams.filter((g) => g.copied !== g.created_at)).toEqual([]);

      // The common-keyword walk now lists them in creation order.
      const walking = new VoiceRepository(t.db, { reader: t.reader, keywordCandidates: 1 });
      const page = await walking.list({
        viewerId: ALICE,
        onlyMine: false,
        keyword: 'narrator',
        offset: 1500,
        limit: 5,
      });
      const want = [...rows]
        .sort((a, b) => (a.created_at < b.created_at ? -1 : 1))
        .slice(1500, 1505)
        .map((v) => v.id);
      expect(page.map((v) => v.id)).toEqual(want);
    } finally {
      await t.drop();
    }
  });
});

describe.each(dialects)(
  'a common keyword, walked through one gram in listing order, on %s',
  (dialect) => {
    let t: TestDb;
    /** Answers every keyword by the walk: with a cap of 1, every gram held is common. */
    let walking: VoiceRepository;
    let sorting: VoiceRepository;

    /** The rows as the rules see them, kept here to compute each page's expected ids. */
    interface Model {
      id: string;
      name: string;
      created_at: string;
      created_by: string;
      is_public: number;
      status: 'ready' | 'pending';
      gender: 'male' | 'female';
      sharedWithAlice: boolean;
    }
    const model: Model[] = [];
    const N = 48;

    beforeAll(async () => {
      t = await createTestDb(dialect);
      await addUsers(t);
      walking = new VoiceRepository(t.db, { reader: t.reader, keywordCandidates: 1 });
      sorting = new VoiceRepository(t.db, { reader: t.reader });
      // Inserted out of listing order (7 is prime to 48), so neither rowid nor
      // insertion order can stand in for created_at; pairs share a created_at,
      // so ties are broken by id.
      for (let i = 0; i < N; i++) {
        const n = ((i * 7) % N) + 1;
        const name = [`Narrator ${n}`, 'Calm NARRATOR', `Narrow rat ${n}`, `Rate 100% narrator`][
          n % 4
        ]!;
        const m: Model = {
          id: voice(n).id,
          name,
          created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(n / 2))).toISOString(),
          created_by: n % 3 === 0 ? ALICE : BOB,
          is_public: n % 5 === 1 ? 0 : 1,
          status: n % 7 === 3 ? 'pending' : 'ready',
          gender: n % 2 ? 'male' : 'female',
          sharedWithAlice: n % 3 !== 0 && n % 5 === 1 && n % 2 === 1,
        };
        model.push(m);
        await sorting.insert(
          voice(n, {
            voice_name: m.name,
            created_at: m.created_at,
            created_by: m.created_by,
            is_public: m.is_public,
            status: m.status,
            voice_gender: m.gender,
          }),
        );
        if (m.sharedWithAlice) await sorting.share(m.id, ALICE, new Date().toISOString());
      }
      // Renamed after creation: into and out of the keyword's matches; their
      // index rows must keep the voice's place in the listing.
      for (const [n, name] of [
        [3, 'Narrow rat renamed'],
        [4, 'Old Narrator renamed'],
        [22, 'Plain'],
        [35, 'narRATor again'],
      ] as const) {
        await sorting.update(voice(n).id, { voice_name: name });
        model.find((m) => m.id === voice(n).id)!.name = name;
      }
    });
    afterAll(async () => t?.drop());

    const visible = (m: Model, viewer: string, onlyMine: boolean) =>
      onlyMine
        ? m.created_by === viewer
        : (m.is_public === 1 && m.status === 'ready') ||
          m.created_by === viewer ||
          (viewer === ALICE && m.sharedWithAlice && m.status === 'ready');

    /** What the rules say, in listing order, computed from the model. */
    const expected = (
      keyword: string,
      viewer: string,
      onlyMine: boolean,
      gender: 'male' | undefined,
      order: 'asc' | 'desc',
    ) => {
      const ids = model
        .filter((m) => visible(m, viewer, onlyMine))
        .filter((m) => !gender || m.gender === gender)
        .filter((m) => nameMatches(m.name, keyword))
        .sort((a, b) =>
          a.created_at !== b.created_at
            ? a.created_at < b.created_at
              ? -1
              : 1
            : a.id < b.id
              ? -1
              : 1,
        )
        .map((m) => m.id);
      return order === 'desc' ? ids.reverse() : ids;
    };

    it('gives every page the same ids in the same order as the rules, either way, any filter', async () => {
      let pages = 0;
      for (const keyword of ['narrator', 'na', '0% n'])
        for (const [viewer, onlyMine] of [
          [ALICE, false],
          [BOB, false],
          [ALICE, true],
        ] as const)
          for (const gender of [undefined, 'male'] as const)
            for (const order of ['asc', 'desc'] as const) {
              const want = expected(keyword, viewer, onlyMine, gender, order);
              expect(want.length, keyword).toBeGreaterThan(0);
              for (let offset = 0; offset <= want.length + 1; offset += 3) {
                const q = { viewerId: viewer, onlyMine, keyword, gender, order, offset, limit: 4 };
                const walked = (await walking.list(q)).map((v) => v.id);
                const sorted = (await sorting.list(q)).map((v) => v.id);
                expect(walked, JSON.stringify(q)).toEqual(want.slice(offset, offset + 4));
                expect(sorted, JSON.stringify(q)).toEqual(walked);
                pages++;
              }
            }
      expect(pages).toBeGreaterThan(100);
    });

    it('walks the gram in listing order in SQL rather than scanning the listing', async () => {
      const seen: string[] = [];
      const h = openDatabase(t.database, (e) => seen.push(e.query.sql));
      try {
        const repo = new VoiceRepository(h.db, { reader: h.reader, keywordCandidates: 1 });
        await repo.list({
          viewerId: ALICE,
          onlyMine: false,
          keyword: 'narrator',
          offset: 2,
          limit: 3,
        });
      } finally {
        await h.close();
      }
      expect(seen.some((s) => /order by [`"]g[`"]\.[`"]created_at[`"]/.test(s))).toBe(true);
    });

    it('copies each voice’s created_at into its index rows, renamed ones included', async () => {
      const rows = await t.db
        .selectFrom('voice_name_grams as g')
        .innerJoin('voices', 'voices.id', 'g.voice_id')
        .select(['g.created_at as copied', 'voices.created_at'])
        .execute();
      expect(rows.length).toBeGreaterThan(N);
      for (const r of rows) expect(r.copied).toBe(r.created_at);
    });
  },
);

describe.each(dialects)('which gram a common keyword walks, on %s', (dialect) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb(dialect);
    await addUsers(t);
    const repo = new VoiceRepository(t.db, { reader: t.reader });
    // "Calm" is everywhere, "Calm Narrator" one voice in ten.
    for (let n = 1; n <= 40; n++) {
      await repo.insert(
        voice(n, { voice_name: n % 10 === 0 ? 'Calm Narrator' : `Calm voice ${n}` }),
      );
    }
  });
  afterAll(async () => t?.drop());

  it('is the sparsest in the listing when every gram is common, either way', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const walked: unknown[] = [];
      const h = openDatabase(t.database, (e) => {
        if (
          /order by [`"]g[`"]\.[`"]created_at[`"]/.test(e.query.sql) &&
          /offset/.test(e.query.sql)
        )
          walked.push(e.query.parameters[0]);
      });
      try {
        // Every gram of the keyword is held by 3 voices or more: all are common.
        const repo = new VoiceRepository(h.db, { reader: h.reader, keywordCandidates: 3 });
        const q = { viewerId: ALICE, onlyMine: false, keyword: 'Calm Narrator', order };
        const page = await repo.list({ ...q, offset: 1, limit: 2 });
        expect(page.map((v) => v.id)).toEqual(
          (order === 'asc' ? [20, 30] : [30, 20]).map((n) => voice(n).id),
        );
      } finally {
        await h.close();
      }
      expect(walked).toHaveLength(1);
      // Not a gram of "Calm " (held by every voice): one held only by the narrators.
      expect(nameGrams('Calm voice')).not.toContain(walked[0]);
      expect(nameGrams('Calm Narrator')).toContain(walked[0]);
    }
  });
});
