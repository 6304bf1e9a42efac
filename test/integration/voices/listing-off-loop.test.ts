import { sql, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely } from 'kysely';
import { AppError } from '../../../src/errors.js';
import { openDatabase } from '../../../src/repositories/db.js';
import { SqliteReaderDialect } from '../../../src/repositories/sqlite-reader.js';
import { VoiceRepository } from '../../../src/repositories/voice.repository.js';
import { createTestDb, type TestDb } from '../../helpers/db.js';

/** A read that keeps SQLite busy for a while: counting to a few million. */
const slowCount = sql<{
  n: number;
}>`with recursive c(x) as (select 1 union all select x + 1 from c where x < 3000000) select count(*) as n from c`;

/** Records the kind of every query that passes through the Kysely it is plugged into. */
function recorder(seen: string[]): KyselyPlugin {
  return {
    transformQuery: (args): RootOperationNode => {
      seen.push(args.node.kind);
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
}

describe('slow SQLite reads run off the event loop', () => {
  let t: TestDb;

  beforeAll(async () => {
    t = await createTestDb('sqlite');
  });
  afterAll(async () => t?.drop());

  it('keeps timers firing while a slow query runs on the reader', async () => {
    const events: string[] = [];
    const ticker = setInterval(() => events.push('tick'), 1);
    try {
      const r = await slowCount.execute(t.reader);
      events.push('query done');
      expect(r.rows[0]?.n).toBe(3000000);
    } finally {
      clearInterval(ticker);
    }
    // On the main connection the query would hold the loop: no tick before it ends.
    expect(events.indexOf('tick')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('tick')).toBeLessThan(events.indexOf('query done'));
  });

  it('sees what the writer committed, at once', async () => {
    const now = new Date().toISOString();
    await t.db
      .insertInto('users')
      .values({
        id: '00000000-0000-7000-8000-00000000c0de',
        username: 'reader',
        phone: null,
        email: 'reader@example.com',
        password_hash: 'x',
        avatar_url: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const row = await t.reader
      .selectFrom('users')
      .select('username')
      .where('email', '=', 'reader@example.com')
      .executeTakeFirst();
    expect(row?.username).toBe('reader');
  });

  it('refuses to write', async () => {
    await expect(
      t.reader.deleteFrom('users').where('username', '=', 'reader').execute(),
    ).rejects.toThrow(/only statements that return rows/);
    await expect(t.reader.transaction().execute(async () => undefined)).rejects.toThrow(
      /no transactions/,
    );
  });

  it('reads on the main connection when asked for no threads, or in memory', async () => {
    if (t.database.dialect !== 'sqlite') throw new Error('a SQLite test database was expected');
    const inline = openDatabase({ ...t.database, readThreads: 0 });
    const memory = openDatabase({ dialect: 'sqlite', path: ':memory:' });
    try {
      expect(inline.reader).toBe(inline.db);
      expect(memory.reader).toBe(memory.db);
    } finally {
      await inline.close();
      await memory.close();
    }
  });

  it('answers 503 with Retry-After when too many reads wait, and reads again afterwards', async () => {
    if (t.database.dialect !== 'sqlite') throw new Error('a SQLite test database was expected');
    const tight = new Kysely<unknown>({
      dialect: new SqliteReaderDialect({ path: t.database.path, threads: 1, maxQueue: 1 }),
    });
    try {
      // One read runs, one waits; the third finds the queue full.
      const results = await Promise.allSettled([
        slowCount.execute(tight),
        slowCount.execute(tight),
        slowCount.execute(tight),
      ]);
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(1);
      const err = (refused[0] as PromiseRejectedResult).reason as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(err.status).toBe(503);
      expect(err.headers?.['retry-after']).toBe('2');
      const again = await sql<{ one: number }>`select 1 as one`.execute(tight);
      expect(again.rows[0]?.one).toBe(1);
    } finally {
      await tight.destroy();
    }
  });

  it('lists voices through the reader, not the writer', async () => {
    const onReader: string[] = [];
    const onWriter: string[] = [];
    const repo = new VoiceRepository(t.db.withPlugin(recorder(onWriter)), {
      reader: t.reader.withPlugin(recorder(onReader)),
    });
    await repo.list({ viewerId: 'nobody', onlyMine: false, offset: 0, limit: 10 });
    await repo.list({ viewerId: 'nobody', onlyMine: false, offset: 0, limit: 10, keyword: 'abc' });
    expect(onReader.length).toBeGreaterThan(0);
    expect(onWriter).toEqual([]);
  });
});
