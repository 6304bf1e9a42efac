import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../../helpers/redis.js';

const dialects = await testDialects();
const withRedis = await redisAvailable();
const modes = dialects.flatMap((d) =>
  [false, ...(withRedis ? [true] : [])].map((r) => [d, r ? 'Redis' : 'memory'] as const),
);

describe.each(modes)('brute-force limits on %s with %s counters', (dialect, mode) => {
  let t: TestApp;
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = mode === 'Redis' ? await createTestRedis() : undefined;
    t = await makeApp(dialect, {
      LOGIN_MAX_FAILURES: '3',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '8',
      LOGIN_FAILURE_WINDOW_SEC: '600',
      CAPTCHA_SENDS_PER_IDENTIFIER: '2',
      RATE_LIMIT_PER_MIN: '100000',
      ...(redis ? { REDIS_URL: redis.url, QUEUE_NAME: redis.queueName } : {}),
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await redis?.cleanup();
  });

  let ipCounter = 0;
  const freshIp = () => `10.9.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;
  const login = (identifier: string, password: string, ip = freshIp()) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: ip,
      payload: { identifier, type: 'email', password },
    });

  it('locks an identifier after N failures from many addresses: 429 with Retry-After, even for the right password', async () => {
    const u = await registerUser(t.app);
    for (let i = 0; i < 3; i++) expect((await login(u.email, 'wrong-pw')).statusCode).toBe(401);
    const locked = await login(u.email, 'secret123');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(600);
  });

  it('answers an unknown identifier exactly like a known one', async () => {
    const u = await registerUser(t.app);
    const ghost = `ghost.${Date.now()}@example.com`;
    const answers = [];
    for (const id of [u.email, ghost]) {
      const seq = [];
      for (let i = 0; i < 4; i++) seq.push(await login(id, 'wrong-pw'));
      answers.push(seq.map((r) => [r.statusCode, r.json().message, r.json().error_info]));
      expect(seq[3]!.headers['retry-after']).toEqual(expect.any(String));
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]!.map((a) => a[0])).toEqual([401, 401, 401, 429]);
  });

  it('counts failures per address across identifiers', async () => {
    const ip = freshIp();
    for (let i = 0; i < 8; i++) {
      expect((await login(`nobody${i}.${Date.now()}@example.com`, 'x-wrong', ip)).statusCode).toBe(
        401,
      );
    }
    const r = await login(`someone.${Date.now()}@example.com`, 'x-wrong', ip);
    expect(r.statusCode).toBe(429);
    expect(r.headers['retry-after']).toEqual(expect.any(String));
  });

  it('a successful login clears the identifier counter', async () => {
    const u = await registerUser(t.app);
    for (let i = 0; i < 2; i++) await login(u.email, 'wrong-pw');
    expect((await login(u.email, 'secret123')).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) expect((await login(u.email, 'wrong-pw')).statusCode).toBe(401);
    expect((await login(u.email, 'secret123')).statusCode).toBe(200);
  });

  it('limits captcha sends per identifier, whatever the address', async () => {
    const id = `codes.${Date.now()}@example.com`;
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/send_captcha',
        remoteAddress: freshIp(),
        payload: { identifier: id, type: 'email' },
      });
    expect((await send()).statusCode).toBe(200);
    expect((await send()).statusCode).toBe(200);
    const third = await send();
    expect(third.statusCode).toBe(429);
    expect(third.headers['retry-after']).toEqual(expect.any(String));
  });

  it.runIf(mode === 'Redis')(
    'keeps its counters in Redis under the installation prefix',
    async () => {
      const keys = await redis!.keys('timbre:thr:*');
      expect(keys.length).toBeGreaterThan(0);
    },
  );
});
