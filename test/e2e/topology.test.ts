/**
 * Past one machine: two API processes (RUN_WORKER=false) and two worker
 * processes sharing MariaDB, Redis (BullMQ, cache) and an S3 bucket (a real
 * s3rver), and no folder at all. Creations through either API become ready
 * exactly once; downloads work through the other API; a worker killed in the
 * middle of a job leaves it to the other; the caches agree across APIs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../emulator/server.js';
import { createTestDb, mysqlAvailable, type TestDb } from '../helpers/db.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../helpers/redis.js';
import { startS3, type S3Server } from '../helpers/s3.js';
import {
  freePort,
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

describe.skipIf(!available)('two APIs and two workers on MariaDB, Redis and S3', () => {
  let db: TestDb;
  let redis: TestRedis;
  let s3: S3Server;
  let emu: EmulatorHandle;
  let apis: ServerChild[] = [];
  let workers: Child[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    [db, redis, s3] = await Promise.all([createTestDb('mysql'), createTestRedis(), startS3()]);
    // A provider every machine reaches (the offline engine keeps voices in its own folder).
    emu = await startEmulator({ port: 0, keys: ['sk-test'], deployDelayMs: 1500 });
    const port1 = await freePort();
    if (db.database.dialect !== 'mysql') throw new Error('expected a MySQL database');
    const env = (role: string) => {
      // Each process gets a folder of its own: nothing may be shared through it.
      const dir = mkdtempSync(path.join(tmpdir(), `timbre-topo-${role}-`));
      dirs.push(dir);
      return {
        DATABASE_URL: db.database.dialect === 'mysql' ? db.database.url : '',
        REDIS_URL: redis.url,
        QUEUE_NAME: redis.queueName,
        DATA_DIR: dir,
        ...s3.env('topology'),
        VOICE_PROVIDER: 'dashscope',
        DASHSCOPE_API_KEY: 'sk-test',
        DASHSCOPE_BASE_URL: emu.httpBaseUrl,
        DASHSCOPE_WS_URL: emu.wsUrl,
        // Where the provider fetches samples: the first API (workers sign links to it).
        PUBLIC_BASE_URL: `http://127.0.0.1:${port1}`,
        JWT_SECRET_KEY: 'e2e-secret-e2e-secret-e2e-secret-0123',
        BCRYPT_ROUNDS: '4',
        SWEEP_INTERVAL_SEC: '0',
        CREATE_VOICE_WAIT_SEC: '0',
        CREATE_RATE_LIMIT_PER_HOUR: '10000',
        CREATE_IN_PROGRESS_PER_USER: '100',
        RATE_LIMIT_PER_MIN: '100000',
        JOB_LEASE_SEC: '4',
        WORKER_HEARTBEAT_SEC: '3',
        LOG_LEVEL: 'info',
      };
    };
    // One API first, so the schema is migrated once before the others start.
    apis.push(
      await spawnServer(
        { ...env('api1'), RUN_WORKER: 'false' },
        { port: port1, timeoutMs: 90_000 },
      ),
    );
    const [api2, w1, w2] = await Promise.all([
      spawnServer({ ...env('api2'), RUN_WORKER: 'false' }, { timeoutMs: 90_000 }),
      spawnWorker({ ...env('w1'), JOB_CONCURRENCY: '2' }, { timeoutMs: 90_000 }),
      spawnWorker({ ...env('w2'), JOB_CONCURRENCY: '2' }, { timeoutMs: 90_000 }),
    ]);
    apis.push(api2);
    workers = [w1, w2];
  }, 200_000);

  afterAll(async () => {
    await killAll();
    await s3?.stop();
    await emu?.close();
    await redis?.cleanup();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    apis = [];
  }, 60_000);

  it('20 creations through either API are ready exactly once, a killed worker loses nothing, and downloads and caches agree', async () => {
    const [a, b] = apis as [ServerChild, ServerChild];
    for (const api of apis) {
      expect(api.output()).not.toContain('STORAGE IS LOCAL');
      const h = await until(async () => {
        const r = await call(api.baseUrl, 'GET', '/api/health');
        return r.body.checks?.workers?.alive === 2 ? r : undefined;
      }, 'two live workers');
      expect(h.body.status).toBe('ok');
    }

    const user = await register(a.baseUrl, 'topo');
    const sample = speechBytes();
    // Uploaded through A, stored in the bucket, served by B byte for byte.
    const fileId = await uploadSample(a.baseUrl, user.access, 'jfk.wav', sample);
    const viaB = await getBytes(b.baseUrl, `/api/file/download/${fileId}`, user.access);
    expect(viaB.status).toBe(200);
    expect(Buffer.compare(viaB.bytes, sample)).toBe(0);

    // B caches the (empty) list before anything exists.
    const before = await call(b.baseUrl, 'GET', '/api/voice/my_voices', { token: user.access });
    expect(before.status).toBe(200);

    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const api = i % 2 ? b : a;
      const res = await call(api.baseUrl, 'POST', '/api/voice/create_voice', {
        token: user.access,
        body: {
          audio_file_id: fileId,
          voice_name: `Topo ${i}`,
          voice_gender: 'male',
          voice_description: `voice ${i}`,
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      ids.push(res.body.voice_id as string);
      if (i === 3) {
        // Kill the first worker in the middle of a job it started.
        const [w1] = workers as [Child, Child];
        await w1.waitForOutput(/"msg":"provider voice created"/, 60_000);
        await w1.kill();
      }
    }

    for (const [i, id] of ids.entries()) {
      // Read through the API that did not create it.
      const v = await settledVoice(i % 2 ? a.baseUrl : b.baseUrl, user.access, id, 80_000);
      expect(v.status, JSON.stringify(v)).toBe('ready');
    }

    const logs = workers.map((w) => w.output()).join('\n');
    for (const id of ids) {
      const readyLines = logs.match(
        new RegExp(`"voice_id":"${id}"[^\\n]*"msg":"voice ready"`, 'g'),
      );
      expect(readyLines?.length ?? 0, `voice ${id} ready lines`).toBe(1);
    }
    // The survivor finished at least one job the killed worker had started.
    const [w1, w2] = workers as [Child, Child];
    const startedOnW1 = [
      ...w1.output().matchAll(/"voice_id":"([^"]+)"[^\n]*"msg":"provider voice created"/g),
    ]
      .map((m) => m[1]!)
      .filter(
        (id) => !new RegExp(`"voice_id":"${id}"[^\\n]*"msg":"voice ready"`).test(w1.output()),
      );
    expect(startedOnW1.length).toBeGreaterThan(0);
    for (const id of startedOnW1) {
      expect(w2.output()).toMatch(new RegExp(`"voice_id":"${id}"[^\\n]*"msg":"voice ready"`));
    }

    // Audition clips made by the workers, fetched through the API that did not take the request.
    for (const [i, id] of ids.slice(0, 4).entries()) {
      const clip = await getBytes(
        i % 2 ? a.baseUrl : b.baseUrl,
        `/api/voice/${id}/audition`,
        user.access,
      );
      expect(clip.status).toBe(200);
      expect(clip.bytes.length).toBeGreaterThan(1000);
    }

    // Caches agree: B's list shows what A created, and a deletion through A disappears on B.
    const listB = await call(b.baseUrl, 'GET', '/api/voice/my_voices', { token: user.access });
    const listed = JSON.stringify(listB.body);
    for (const id of ids) expect(listed).toContain(id);
    const del = await call(a.baseUrl, 'DELETE', `/api/voice/${ids[0]}`, { token: user.access });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    const afterB = await call(b.baseUrl, 'GET', '/api/voice/my_voices', { token: user.access });
    expect(JSON.stringify(afterB.body)).not.toContain(ids[0]);
    const gone = await call(b.baseUrl, 'GET', `/api/voice/${ids[0]}`, { token: user.access });
    expect(gone.status).toBe(404);
  }, 240_000);
});
