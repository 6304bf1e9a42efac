/**
 * What Redis adds to an in-process app: the voice-list cache (used, and
 * never stale after a change), rate limits shared by every instance, the
 * health check and the metrics that an operator scrapes. Plus the in-memory
 * rate limit of the embedded default.
 */
import { WorkerHeartbeats } from '../../src/jobs/heartbeat.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/app.js';
import type { FastifyInstance } from 'fastify';
import { bearer, makeApp, registerUser, type TestApp } from '../helpers/app.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../helpers/redis.js';
import { fixture } from '../helpers/fixtures.js';
import { freePort } from '../helpers/spawn.js';
import { readFileSync } from 'node:fs';

const METRICS_TOKEN = 'metrics-token-0123456789';
const available = await redisAvailable();

type Injected = Awaited<ReturnType<FastifyInstance['inject']>>;

/** Uploads the 16 kHz speech sample through inject (multipart by hand). */
async function uploadSample(app: FastifyInstance, token: string): Promise<string> {
  const bytes = readFileSync(fixture('speech/spk02_m_en_jfk_16k_mono.wav'));
  const boundary = '----e2e' + Math.random().toString(16).slice(2);
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="is_public"\r\n\r\nfalse\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="jfk.wav"\r\n` +
        'Content-Type: audio/wav\r\n\r\n',
    ),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await app.inject({
    method: 'POST',
    url: '/api/file/upload',
    headers: { ...bearer(token), 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload,
  });
  if (res.statusCode !== 201) throw new Error(`upload failed: ${res.body}`);
  return res.json<{ file_id: string }>().file_id;
}

async function createVoice(app: FastifyInstance, token: string, fileId: string, name: string) {
  return app.inject({
    method: 'POST',
    url: '/api/voice/create_voice',
    headers: bearer(token),
    payload: {
      audio_file_id: fileId,
      voice_name: name,
      voice_gender: 'female',
      voice_description: 'cached',
      is_public: false,
    },
  });
}

const names = (res: Injected) =>
  res.json<{ voices: { voice_name: string }[] }>().voices.map((v) => v.voice_name);

function listVoices(app: FastifyInstance, token: string, body: object = {}) {
  return app.inject({
    method: 'POST',
    url: '/api/voice/get_voices',
    headers: bearer(token),
    payload: body,
  });
}

async function counter(app: FastifyInstance, name: string, labels: Record<string, string>) {
  const text = await app.services.metrics.registry.getSingleMetricAsString(name);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

let ipCounter = 0;

/**
 * Registers and logs in a user from an address of its own, so unauthenticated
 * requests (counted per IP) of other tests on the same Redis do not count here.
 */
async function registerFrom(app: FastifyInstance, name: string) {
  const remoteAddress = `10.9.${process.pid % 250}.${++ipCounter}`;
  const identifier = `${name}.${Date.now()}.${ipCounter}@example.com`;
  const reg = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    remoteAddress,
    payload: { username: name, identifier, type: 'email', password: 'secret123', code: '' },
  });
  if (reg.statusCode !== 201) throw new Error(`register failed: ${reg.body}`);
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress,
    payload: { identifier, type: 'email', password: 'secret123' },
  });
  const body = login.json<{ user_id: string; access_token: string }>();
  return { userId: body.user_id, access: body.access_token };
}

function expect429(res: Injected, minRetryAfter = 1) {
  expect(res.statusCode, res.body).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(minRetryAfter);
  expect(res.json()).toMatchObject({
    code: 429,
    message: 'Too many requests',
    error_info: expect.any(String),
  });
  return retryAfter;
}

describe.runIf(available)('with Redis', () => {
  let redis: TestRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await createTestRedis();
    t = await makeApp('sqlite', {
      REDIS_URL: redis.url,
      QUEUE_NAME: redis.queueName,
      METRICS_TOKEN,
      CACHE_TTL_SEC: '300',
    });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await redis?.cleanup();
  });

  it('/api/health reports Redis as a checked dependency', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      checks: { database: { ok: true }, redis: { ok: true } },
    });
    expect(t.app.services.queue.kind).toBe('bullmq');
  });

  it('caches file metadata in Redis and shows a rename, a privacy change and a delete at once', async () => {
    const owner = await registerUser(t.app, 'filecache');
    const other = await registerUser(t.app, 'filepeer');
    const fileId = await uploadSample(t.app, owner.access);
    const download = (token: string) =>
      t.app.inject({
        method: 'GET',
        url: `/api/file/download/${fileId}`,
        headers: { ...bearer(token), range: 'bytes=0-0' },
      });
    const before = await counter(t.app, 'timbre_cache_lookups_total', { result: 'hit' });
    expect((await download(owner.access)).statusCode).toBe(206);
    expect((await download(owner.access)).statusCode).toBe(206);
    expect(await counter(t.app, 'timbre_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(
      before,
    );
    // Entries are keyed by the row's version token (`@0` until the first write).
    expect(await redis.client.exists(`timbre:file:${fileId}@0`)).toBe(1);

    const rename = await t.app.inject({
      method: 'PUT',
      url: `/api/file/update/${fileId}`,
      headers: bearer(owner.access),
      payload: { file_name: 'renamed.wav', is_public: true },
    });
    expect(rename.statusCode).toBe(200);
    const seen = await download(other.access);
    expect(seen.statusCode).toBe(206);
    expect(seen.headers['content-disposition']).toContain('renamed.wav');

    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/file/delete/${fileId}`,
      headers: bearer(owner.access),
    });
    expect(del.statusCode).toBe(200);
    expect((await download(owner.access)).statusCode).toBe(404);
  });

  it('serves voice lists from the cache, yet shows every change (create, rename, share, delete) at once', async () => {
    const owner = await registerUser(t.app, 'cacheowner');
    const friend = await registerUser(t.app, 'cachefriend');
    const fileId = await uploadSample(t.app, owner.access);

    const first = await createVoice(t.app, owner.access, fileId, 'Alpha');
    expect(first.statusCode, first.body).toBe(200);
    const alphaId = first.json<{ voice: { voice_id: string } }>().voice.voice_id;

    const hits0 = await counter(t.app, 'timbre_cache_lookups_total', { result: 'hit' });
    expect(names(await listVoices(t.app, owner.access))).toEqual(['Alpha']);
    expect(names(await listVoices(t.app, owner.access))).toEqual(['Alpha']);
    expect(await counter(t.app, 'timbre_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(
      hits0,
    );
    expect((await redis.keys('timbre:voices:*')).length).toBeGreaterThan(0);

    // Create: the second voice shows up at once.
    const second = await createVoice(t.app, owner.access, fileId, 'Beta');
    expect(second.statusCode, second.body).toBe(200);
    const betaId = second.json<{ voice: { voice_id: string } }>().voice.voice_id;
    expect(names(await listVoices(t.app, owner.access))).toEqual(['Alpha', 'Beta']);

    // Rename.
    const renamed = await t.app.inject({
      method: 'PUT',
      url: `/api/voice/${alphaId}`,
      headers: bearer(owner.access),
      payload: { voice_name: 'Alpha Renamed' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(names(await listVoices(t.app, owner.access))).toEqual(['Alpha Renamed', 'Beta']);

    // Share: the friend (whose empty list is cached) sees it at once.
    expect(names(await listVoices(t.app, friend.access))).toEqual([]);
    expect(names(await listVoices(t.app, friend.access))).toEqual([]);
    const shared = await t.app.inject({
      method: 'POST',
      url: `/api/voice/${betaId}/shares`,
      headers: bearer(owner.access),
      payload: { user_id: friend.userId },
    });
    expect(shared.statusCode, shared.body).toBe(200);
    expect(names(await listVoices(t.app, friend.access))).toEqual(['Beta']);

    // Delete.
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/voice/${betaId}`,
      headers: bearer(owner.access),
    });
    expect(del.statusCode, del.body).toBe(200);
    expect(names(await listVoices(t.app, owner.access))).toEqual(['Alpha Renamed']);
    expect(names(await listVoices(t.app, friend.access))).toEqual([]);
  }, 120_000);

  it('/metrics needs the token and exposes provider, creation, upload, database, queue and job metrics', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 401 });
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer metrics-token-xxxxxxxxxx' },
    });
    expect(wrong.statusCode).toBe(401);
    const res = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    // The creations of the test above have happened on this app.
    for (const line of [
      /^timbre_provider_calls_total\{provider="offline",operation="create",outcome="ok"\} [1-9]/m,
      /^timbre_voice_creation_duration_seconds_count\{outcome="ready"\} [1-9]/m,
      /^timbre_uploads_total\{outcome="ok"\} [1-9]/m,
      /^timbre_db_query_duration_seconds_count\{operation="select"\} [1-9]/m,
      /^timbre_queue_jobs\{state="waiting"\} \d+/m,
      /^timbre_jobs_total\{type="create_voice",outcome="succeeded"\} [1-9]/m,
      /^timbre_cache_lookups_total\{result="hit"\} [1-9]/m,
    ]) {
      expect(res.body).toMatch(line);
    }
  });

  describe('rate limits shared through Redis', () => {
    let a: TestApp;
    let b: FastifyInstance;

    beforeAll(async () => {
      const env = {
        REDIS_URL: redis.url,
        QUEUE_NAME: redis.queueName,
        RATE_LIMIT_PER_MIN: '6',
        CREATE_RATE_LIMIT_PER_HOUR: '2',
      };
      a = await makeApp('sqlite', env);
      // A second instance of the same installation: same database, same Redis.
      b = await build({
        config: { ...a.config, database: a.db.database },
        db: a.db,
        logger: false,
      });
      await b.ready();
    }, 60_000);

    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('counts requests of one user across instances and answers 429 with Retry-After past the limit', async () => {
      const user = await registerFrom(a.app, 'limited');
      const get = (app: FastifyInstance) =>
        app.inject({ method: 'GET', url: '/api/voice/my_voices', headers: bearer(user.access) });
      for (let i = 0; i < 3; i++) expect((await get(a.app)).statusCode).toBe(200);
      for (let i = 0; i < 3; i++) expect((await get(b)).statusCode).toBe(200);
      const refused = await get(a.app);
      const retryAfter = expect429(refused);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.json().error_info).toMatch(/^limit of 6 per minute; retry in \d+ s$/);
      expect429(await get(b));
      expect((await redis.keys('timbre-rl:*')).length).toBeGreaterThan(0);

      // Another user is not affected; health is never limited.
      const other = await registerFrom(b, 'unlimited');
      const mine = await b.inject({
        method: 'GET',
        url: '/api/voice/my_voices',
        headers: bearer(other.access),
      });
      expect(mine.statusCode).toBe(200);
      for (let i = 0; i < 8; i++) {
        expect((await a.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
      }
    });

    it('limits voice creation per hour, more strictly than other requests', async () => {
      const user = await registerFrom(b, 'creator');
      const create = (app: FastifyInstance) =>
        app.inject({
          method: 'POST',
          url: '/api/voice/create_voice',
          headers: bearer(user.access),
          payload: {},
        });
      // Two attempts (refused for missing fields, but counted), one per instance.
      expect((await create(a.app)).statusCode).toBe(400);
      expect((await create(b)).statusCode).toBe(400);
      const refused = await create(a.app);
      const retryAfter = expect429(refused, 61);
      expect(refused.json().error_info).toMatch(/^limit of 2 per hour; retry in \d+ s$/);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      // The per-minute limit of other requests is a separate counter.
      const mine = await a.app.inject({
        method: 'GET',
        url: '/api/voice/my_voices',
        headers: bearer(user.access),
      });
      expect(mine.statusCode).toBe(200);
    });

    it('/metrics is off (404) without METRICS_TOKEN', async () => {
      const res = await a.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 404 });
    });
  });
});

describe('without Redis (embedded default)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await makeApp('sqlite', { RATE_LIMIT_PER_MIN: '3' });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('rate limits in memory: 429 with Retry-After and the envelope past the limit', async () => {
    const user = await registerUser(t.app, 'memlimited');
    const get = () =>
      t.app.inject({ method: 'GET', url: '/api/voice/my_voices', headers: bearer(user.access) });
    for (let i = 0; i < 3; i++) expect((await get()).statusCode).toBe(200);
    const retryAfter = expect429(await get());
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(t.app.services.redis).toBeUndefined();
    const health = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(health.json().checks.redis).toBeUndefined();
  });
});

describe('with Redis configured but unreachable', () => {
  let t: TestApp;

  beforeAll(async () => {
    const port = await freePort(); // nothing listens there
    t = await makeApp(
      'sqlite',
      { REDIS_URL: `redis://127.0.0.1:${port}`, METRICS_TOKEN },
      // A worker would wait for Redis before the app is ready; this node only serves requests.
      { runWorker: false },
    );
  });

  afterAll(async () => {
    await t?.close();
  });

  it('still serves requests, says 503 on /api/health at once, and refuses creations cleanly', async () => {
    const t0 = Date.now();
    const health = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({
      status: 'degraded',
      checks: { database: { ok: true }, redis: { ok: false } },
    });
    expect(Date.now() - t0).toBeLessThan(3000);

    // Rate limits are skipped and the cache bypassed: the API keeps answering.
    const user = await registerUser(t.app, 'noredis');
    const list = await listVoices(t.app, user.access);
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toMatchObject({ message: 'no voice found', voices: [] });

    // A creation cannot be queued: 503, and no voice row is left pending.
    const fileId = await uploadSample(t.app, user.access);
    // A worker elsewhere is alive (its heartbeat is in the database): only the queue is away.
    const worker = new WorkerHeartbeats(t.db.db, t.app.log as never, 60, 'bullmq');
    await worker.start();
    await new Promise((r) => setTimeout(r, 1100)); // past the one-second worker census cache
    const res = await createVoice(t.app, user.access, fileId, 'Never');
    await worker.stop();
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json()).toMatchObject({ code: 503, message: 'Could not queue the voice creation' });
    expect(await t.db.db.selectFrom('voices').select('id').execute()).toEqual([]);

    // Metrics still scrape (without queue counts).
    const metrics = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('timbre_uploads_total');
  }, 30_000);
});
