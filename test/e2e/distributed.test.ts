/**
 * The distributed shape: MariaDB, Redis, an API process that runs no jobs
 * (RUN_WORKER=false) and a separate worker process taking them from BullMQ.
 * Both are real child processes sharing one data folder, and both run the
 * built bundles exactly as `npm start` and `npm run worker` do, so the bundle
 * (and the modules it loads only when configured: mysql2, ioredis, BullMQ) is
 * tested too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, mysqlAvailable, type TestDb } from '../helpers/db.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../helpers/redis.js';
import {
  buildOnce,
  killAll,
  spawnServer,
  spawnWorker,
  type Child,
  type ServerChild,
} from '../helpers/spawn.js';
import {
  call,
  getBytes,
  register,
  settledVoice,
  speechBytes,
  until,
  uploadSample,
} from './helpers.js';

const available = (await mysqlAvailable()) && (await redisAvailable());

describe.runIf(available)('API and worker as separate processes on MariaDB + Redis', () => {
  let db: TestDb;
  let redis: TestRedis;
  let dataDir: string;
  let env: Record<string, string>;
  let api: ServerChild;
  let worker: Child | undefined;

  beforeAll(async () => {
    db = await createTestDb('mysql');
    redis = await createTestRedis();
    dataDir = mkdtempSync(path.join(tmpdir(), 'timbre-dist-'));
    if (db.database.dialect !== 'mysql') throw new Error('expected a MySQL database');
    env = {
      DATABASE_URL: db.database.url,
      REDIS_URL: redis.url,
      QUEUE_NAME: redis.queueName,
      DATA_DIR: dataDir,
      JWT_SECRET_KEY: 'e2e-secret-e2e-secret-e2e-secret-0123',
      BCRYPT_ROUNDS: '4',
      SWEEP_INTERVAL_SEC: '0',
      LOG_LEVEL: 'info',
    };
    await buildOnce();
    api = await spawnServer(
      { ...env, RUN_WORKER: 'false', CREATE_VOICE_WAIT_SEC: '0' },
      { built: true },
    );
  }, 300_000);

  afterAll(async () => {
    await killAll();
    await redis?.cleanup();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('the API refuses creations while no worker is alive, and the worker process makes them ready', async () => {
    const health = await call(api.baseUrl, 'GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.checks).toMatchObject({
      database: { ok: true },
      redis: { ok: true },
      workers: { ok: false, alive: 0 },
    });
    // Local storage with a shared queue: the API says every process must share it.
    expect(api.output()).toContain('STORAGE IS LOCAL BUT THE QUEUE IS SHARED');

    const user = await register(api.baseUrl, 'dist');
    const fileId = await uploadSample(api.baseUrl, user.access, 'jfk.wav', speechBytes());
    const body = {
      audio_file_id: fileId,
      voice_name: 'Distributed',
      voice_gender: 'male',
      voice_description: 'made by the worker process',
    };
    // Nobody would run the job: 503 with a reason, not 202 pending for ever.
    const refused = await call(api.baseUrl, 'POST', '/api/voice/create_voice', {
      token: user.access,
      body,
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(JSON.stringify(refused.body)).toMatch(/no worker/i);

    worker = await spawnWorker(env, { built: true });
    expect(worker.output()).toContain('"queue":"bullmq"');
    await until(async () => {
      const h = await call(api.baseUrl, 'GET', '/api/health');
      return h.body.status === 'ok' ? h : undefined;
    }, 'a live worker in /api/health');
    const res = await call(api.baseUrl, 'POST', '/api/voice/create_voice', {
      token: user.access,
      body,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const voiceId = res.body.voice_id as string;

    const v = await settledVoice(api.baseUrl, user.access, voiceId, 90_000);
    expect(v.status, JSON.stringify(v)).toBe('ready');
    expect(v.provider).toBe('offline');
    expect(v.call_name).toEqual(expect.any(String));

    // Done by the worker, not by the API process.
    await worker.waitForOutput(new RegExp(`"voice_id":"${voiceId}"[^\\n]*"msg":"voice ready"`));
    expect(api.output()).not.toContain('"msg":"voice ready"');
    expect(
      await redis.client.zscore(`bull:${redis.queueName}:completed`, `create_voice-${voiceId}`),
    ).not.toBeNull();

    // The row is in MariaDB and the clip the worker stored is served by the API.
    const row = await db.db
      .selectFrom('voices')
      .select(['status', 'audition_file_id'])
      .where('id', '=', voiceId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('ready');
    const clip = await getBytes(api.baseUrl, `/api/voice/${voiceId}/audition`, user.access);
    expect(clip.status).toBe(200);
    expect(clip.bytes.length).toBeGreaterThan(1000);
  }, 150_000);
});
