import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/app.js';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../../helpers/redis.js';
import { until } from '../voices/helpers.js';

const available = await redisAvailable();

describe.runIf(available)('one Redis, namespaced per installation', () => {
  let redis: TestRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await createTestRedis();
    t = await makeApp('sqlite', {
      REDIS_URL: redis.url,
      QUEUE_NAME: redis.queueName,
      REDIS_PREFIX: 'inst-a',
      SESSION_CHECK_CACHE_SEC: '1',
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    const left = [...(await redis.keys('inst-a*'))];
    if (left.length) await redis.client.del(...left);
    await redis?.cleanup();
  });

  it('puts cache, rate-limit, lockout and queue keys under REDIS_PREFIX', async () => {
    const u = await registerUser(t.app);
    await t.app.inject({
      method: 'POST',
      url: '/api/voice/get_voices',
      headers: bearer(u.access),
      payload: {},
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { identifier: u.email, type: 'email', password: 'wrong-one' },
    });
    await until(async () => (await redis.keys('inst-a-bull:*')).length > 0, 5000, 'queue keys');
    const keys = (await redis.keys('*')).filter((k) => k !== 'timbre-test:lock');
    expect(keys.filter((k) => !k.startsWith('inst-a'))).toEqual([]);
    for (const p of ['inst-a:voices:', 'inst-a-rl:', 'inst-a:thr:', 'inst-a-bull:']) {
      expect(
        keys.some((k) => k.startsWith(p)),
        p,
      ).toBe(true);
    }
  });

  it('another process stops accepting a logged-out token within SESSION_CHECK_CACHE_SEC', async () => {
    // A second server on the same database (another process in production).
    const other = await build({
      config: t.app.services.config,
      db: t.db,
      logger: false,
      runWorker: false,
      redis: redis.client,
    });
    await other.ready();
    try {
      const u = await registerUser(t.app);
      const me = (app: typeof other) =>
        app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(u.access) });
      expect((await me(other)).statusCode).toBe(200); // remembered as live there now
      const out = await t.app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: bearer(u.access),
      });
      expect(out.statusCode).toBe(200);
      expect((await me(t.app)).statusCode).toBe(401); // at once where it happened
      await until(async () => (await me(other)).statusCode === 401, 3000, 'refused elsewhere');
    } finally {
      await other.close();
    }
  });
});
