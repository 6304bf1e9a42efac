import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryCounter,
  RedisCounter,
  UsageLimits,
  type Counter,
} from '../../../src/services/usage-limits.js';
import { AppError } from '../../../src/errors.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../../helpers/redis.js';
import { registerUser } from '../../helpers/app.js';
import { api, voiceApp, type VoiceTestApp } from '../voices/helpers.js';

const withRedis = await redisAvailable();
let redis: TestRedis | undefined;
beforeAll(async () => {
  if (withRedis) redis = await createTestRedis();
});
afterAll(async () => redis?.cleanup());

const settings = { createPerHour: 2, inFlight: { assess: 1, synthesize: 2 }, retryAfterSec: 9 };

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a refusal');
}

describe.each([
  ['in memory', () => new MemoryCounter() as Counter],
  ...(withRedis
    ? [['through Redis', () => new RedisCounter(redis!.client) as Counter] as const]
    : []),
] as const)('usage limits %s', (_name, counter) => {
  it('limits heavy work in flight per user and kind, with Retry-After, until a slot is released', async () => {
    const limits = new UsageLimits(counter(), settings);
    const user = `u-${Math.random()}`;
    const first = await limits.enter('assess', user);
    const refused = await refusal(limits.enter('assess', user));
    expect(refused.status).toBe(429);
    expect(refused.headers).toEqual({ 'retry-after': '9' });
    expect(refused.info).toMatch(/at most 1 assessments at once/);
    // Another kind and another user have their own slots.
    await limits.enter('synthesize', user);
    await limits.enter('assess', `${user}-other`);
    await first.release();
    await first.release(); // idempotent: does not free a slot it does not hold
    const again = await limits.enter('assess', user);
    await refusal(limits.enter('assess', user));
    await again.release();
  });

  it('takes one creation per call from the hourly quota and gives back released ones', async () => {
    const limits = new UsageLimits(counter(), settings);
    const user = `c-${Math.random()}`;
    await limits.takeCreation(user);
    const failed = await limits.takeCreation(user);
    const refused = await refusal(limits.takeCreation(user));
    expect(refused.status).toBe(429);
    expect(refused.info).toMatch(/^limit of 2 per hour; retry in \d+ s$/);
    const wait = Number(refused.headers?.['retry-after']);
    expect(wait).toBeGreaterThan(60);
    expect(wait).toBeLessThanOrEqual(3600);
    await failed.release();
    await limits.takeCreation(user);
    await refusal(limits.takeCreation(user));
  });
});

describe.runIf(withRedis)('usage limits shared by two processes through Redis', () => {
  it('counts work in flight of one user across instances', async () => {
    const a = new UsageLimits(new RedisCounter(redis!.client), settings);
    const b = new UsageLimits(new RedisCounter(redis!.client), settings);
    const slot = await a.enter('assess', 'shared-user');
    expect((await refusal(b.enter('assess', 'shared-user'))).status).toBe(429);
    await slot.release();
    await (await b.enter('assess', 'shared-user')).release();
  });
});

describe('creation limits through the API', () => {
  let t: VoiceTestApp;
  beforeAll(async () => {
    t = await voiceApp(
      'sqlite',
      { CREATE_RATE_LIMIT_PER_HOUR: '3', CREATE_IN_PROGRESS_PER_USER: '1', RETRY_AFTER_SEC: '4' },
      { runWorker: false },
    );
    // A worker counts as alive (creations are accepted) but runs nothing: voices stay pending.
    await t.app.services.heartbeats.start();
  });
  afterAll(async () => t?.close());

  it('counts each batch_create item against the hourly creation limit', async () => {
    const user = await registerUser(t.app, 'batcher');
    const items = Array.from({ length: 5 }, (_, i) => ({ voice_name: `v${i}` }));
    const res = await api(t.app, user.access, 'POST', '/api/voice/batch_create', {
      voices: items,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().results.map((r: { code: number }) => r.code)).toEqual([
      400, 400, 400, 429, 429,
    ]);
    const next = await api(t.app, user.access, 'POST', '/api/voice/create_voice', {});
    expect(next.statusCode).toBe(429);
    expect(next.json().error_info).toMatch(/^limit of 3 per hour/);
  });

  it('refuses a creation while too many of the user’s voices are being made', async () => {
    const user = await registerUser(t.app, 'maker');
    const { uploadFixture, GOOD_SAMPLE } = await import('../voices/helpers.js');
    const sample = await uploadFixture(t.app, user.access, GOOD_SAMPLE);
    const body = (name: string) => ({
      audio_file_id: sample,
      voice_name: name,
      voice_gender: 'male',
      voice_description: 'd',
    });
    // No worker runs: the first voice stays pending.
    const first = await api(
      t.app,
      user.access,
      'POST',
      '/api/voice/create_voice?async=1',
      body('one'),
    );
    expect(first.statusCode, first.body).toBe(202);
    const second = await api(
      t.app,
      user.access,
      'POST',
      '/api/voice/create_voice?async=1',
      body('two'),
    );
    expect(second.statusCode, second.body).toBe(429);
    expect(second.headers['retry-after']).toBe('4');
    expect(second.json().error_info).toMatch(/at most 1 voices being created at once/);
    // A whole batch refused for that reason answers 429 with Retry-After too.
    const batch = await api(t.app, user.access, 'POST', '/api/voice/batch_create', {
      voices: [body('three')],
    });
    expect(batch.statusCode, batch.body).toBe(429);
    expect(batch.headers['retry-after']).toBe('4');
  });
});
