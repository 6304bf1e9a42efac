/**
 * Voice events across processes: two RedisVoiceEvents instances on the same
 * Redis stand for an API process and a worker process. A finish in one wakes
 * a waiter in the other long before the waiter's own timeout (30 s here,
 * beyond the test's timeout), so only the message can have woken it.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisVoiceEvents } from '../../../src/jobs/redis-voice-events.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../../helpers/redis.js';

const available = await redisAvailable();
const FALLBACK_MS = 30_000;

describe.runIf(available)('voice events over Redis', () => {
  let redis: TestRedis;
  const opened: RedisVoiceEvents[] = [];
  const publishers: Redis[] = [];

  /** One "process": its own publisher and subscriber connections on the test database. */
  function processEvents(channel: string): RedisVoiceEvents {
    const publisher = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    publishers.push(publisher);
    const events = new RedisVoiceEvents(
      publisher,
      () => new Redis(redis.url, { maxRetriesPerRequest: null }),
      channel,
      pino({ level: 'silent' }),
    );
    opened.push(events);
    return events;
  }

  beforeAll(async () => {
    redis = await createTestRedis();
  });

  afterAll(async () => {
    for (const e of opened) await e.close();
    for (const p of publishers) p.disconnect();
    await redis?.cleanup();
  });

  it('a finish in one process wakes the waiter in another before its fallback timeout', async () => {
    const api = processEvents('timbre-test:voice-finished');
    const worker = processEvents('timbre-test:voice-finished');
    await api.ready();
    const woken = api.waitFor('voice-1', FALLBACK_MS);
    worker.finished('voice-1');
    await expect(woken).resolves.toBeUndefined();
  }, 10_000);

  it('wakes only waiters of that voice, and not across installations (another prefix)', async () => {
    const api = processEvents('timbre-test:voice-finished');
    const otherInstall = processEvents('other-install:voice-finished');
    const worker = processEvents('timbre-test:voice-finished');
    await Promise.all([api.ready(), otherInstall.ready()]);
    let otherVoiceWoken = false;
    let otherInstallWoken = false;
    void api.waitFor('voice-2', FALLBACK_MS).then(() => (otherVoiceWoken = true));
    void otherInstall.waitFor('voice-3', FALLBACK_MS).then(() => (otherInstallWoken = true));
    const woken = api.waitFor('voice-3', FALLBACK_MS);
    worker.finished('voice-3');
    await woken;
    // A second message on the same connection arrives after the first: once it
    // is in, the first has been handled by everyone it was going to reach.
    const marker = api.waitFor('marker', FALLBACK_MS);
    worker.finished('marker');
    await marker;
    expect(otherVoiceWoken).toBe(false);
    expect(otherInstallWoken).toBe(false);
  }, 10_000);

  it('wakes waiters in the finishing process itself', async () => {
    const single = processEvents('timbre-test:voice-finished');
    const woken = single.waitFor('voice-4', FALLBACK_MS);
    single.finished('voice-4');
    await expect(woken).resolves.toBeUndefined();
  }, 10_000);
});
