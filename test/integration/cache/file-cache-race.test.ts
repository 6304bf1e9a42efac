import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyPlugin, PluginTransformResultArgs, QueryResult, UnknownRow } from 'kysely';
import { JsonCache, type Cache } from '../../../src/cache/cache.js';
import { CachedFileRepository } from '../../../src/cache/cached-file.repository.js';
import { RedisCache } from '../../../src/cache/redis-cache.js';
import { createTestDb, testDialects, type TestDb } from '../../helpers/db.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../../helpers/redis.js';

const dialects = (await redisAvailable()) ? await testDialects() : [];
const TRIALS = 300;

const pause = () => new Promise((r) => setTimeout(r, Math.random() * 3));

/** Slows every query's result by a random 0–3 ms: the gap in which a write can slip in. */
const jitter: KyselyPlugin = {
  transformQuery: (args) => args.node,
  transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
    await pause();
    return args.result;
  },
};

/**
 * A cache whose writes arrive late (a slow link, a GC pause): the other half
 * of the race. A write waits for `gate` (the concurrent update finishing) or
 * a random 0–3 ms, whichever comes first.
 */
class LateWrites implements Cache {
  gate: Promise<unknown> = Promise.resolve();
  constructor(private readonly inner: Cache) {}
  get(key: string) {
    return this.inner.get(key);
  }
  async set(key: string, value: string, ttlSec: number) {
    await Promise.race([this.gate, pause()]);
    await this.inner.set(key, value, ttlSec);
  }
  del(key: string) {
    return this.inner.del(key);
  }
  incr(key: string) {
    return this.inner.incr(key);
  }
}

describe.skipIf(!dialects.length).each(dialects)(
  'file metadata cache on %s with Redis',
  (dialect) => {
    let db: TestDb;
    let redis: TestRedis;
    beforeAll(async () => {
      db = await createTestDb(dialect);
      redis = await createTestRedis();
    });
    afterAll(async () => {
      await db?.drop();
      await redis?.cleanup();
    });

    it(`never serves a file as public after it was made private (${TRIALS} concurrent trials)`, async () => {
      const now = new Date().toISOString();
      await db.db
        .insertInto('users')
        .values({
          id: 'u1',
          username: 'u',
          phone: null,
          email: 'u@example.com',
          password_hash: 'x',
          avatar_url: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      // Three "processes" on one Redis: a slow reader, a writer, a later reader.
      const cacheOf = () => new JsonCache(new RedisCache(redis.client, 'timbre:'), 60);
      const late = new LateWrites(new RedisCache(redis.client, 'timbre:'));
      const slowReader = new CachedFileRepository(
        db.db.withPlugin(jitter),
        new JsonCache(late, 60),
      );
      const writer = new CachedFileRepository(db.db, cacheOf());
      const later = new CachedFileRepository(db.db, cacheOf());
      let leaks = 0;
      for (let i = 0; i < TRIALS; i++) {
        const id = `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`;
        await writer.insert({
          id,
          owner_id: 'u1',
          file_name: 'a.wav',
          storage_key: `k${i}`,
          size: 1,
          mime_type: 'audio/wav',
          kind: 'audio',
          ext: 'wav',
          is_public: 1,
          description: null,
          sha256: 'x',
          audio_duration: null,
          audio_codec: null,
          audio_sample_rate: null,
          audio_channels: null,
          origin: 'upload',
          created_at: now,
          updated_at: now,
        });
        await later.findById(id); // a cached public copy, as in production
        await writer.update(id, { is_public: 1, updated_at: now }); // dropped again
        const update = (async () => {
          await pause();
          await writer.update(id, { is_public: 0, updated_at: now });
        })();
        late.gate = update;
        await Promise.all([slowReader.findById(id), update]);
        if ((await later.findById(id))?.is_public !== 0) leaks++;
      }
      expect(leaks).toBe(0);
    }, 120_000);

    it('keeps every key under the installation prefix', async () => {
      const keys = await redis.keys('*');
      const foreign = keys.filter((k) => !k.startsWith('timbre:') && k !== 'timbre-test:lock');
      expect(foreign).toEqual([]);
    });
  },
);
