import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from 'kysely';
import { migrations } from '../../../migrations/index.js';
import type { VoicesTable } from '../../../src/repositories/schema.js';
import {
  VoiceRepository,
  type VoiceListQuery,
} from '../../../src/repositories/voice.repository.js';
import { keywordGrams, nameGrams } from '../../../src/repositories/voice-name-grams.js';
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
});
