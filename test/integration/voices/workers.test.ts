import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerHeartbeats } from '../../../src/jobs/heartbeat.js';
import { registerUser } from '../../helpers/app.js';
import { uploadFixture, voiceApp, type VoiceTestApp } from './helpers.js';

/**
 * An API process that runs no jobs (RUN_WORKER=false) must not accept a
 * creation that nobody will ever run: it counts live workers by their
 * heartbeats, reports them in /api/health and /metrics, and refuses with 503.
 */
describe.each(['sqlite', 'mysql'] as const)('live workers on %s', (dialect) => {
  let t: VoiceTestApp;
  let other: WorkerHeartbeats | undefined;

  beforeAll(async () => {
    t = await voiceApp(
      dialect,
      {
        WORKER_HEARTBEAT_SEC: '1',
        METRICS_TOKEN: 'metrics-token-0123456789',
        CREATE_VOICE_WAIT_SEC: '0',
      },
      { runWorker: false },
    );
  }, 60_000);

  afterAll(async () => {
    await other?.stop();
    await t?.close();
  });

  const create = async (access: string, fileId: string, name: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/voice/create_voice',
      headers: { authorization: `Bearer ${access}` },
      payload: {
        audio_file_id: fileId,
        voice_name: name,
        voice_gender: 'male',
        voice_description: 'a test voice',
      },
    });

  const gauge = async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer metrics-token-0123456789' },
    });
    return /^timbre_workers_alive (\d+)$/m.exec(res.body)?.[1];
  };

  it('with no worker alive: health is degraded, the gauge says 0 and creations get 503 with a reason', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      status: 'degraded',
      checks: { database: { ok: true }, workers: { ok: false, alive: 0 } },
    });
    expect(await gauge()).toBe('0');

    const user = await registerUser(t.app, `nowork${dialect}`);
    const fileId = await uploadFixture(t.app, user.access);
    const res = await create(user.access, fileId, 'Nobody');
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json()).toMatchObject({ code: 503 });
    expect(res.body).toMatch(/no worker/i);
    const rows = await t.db.db.selectFrom('voices').select('id').execute();
    expect(rows).toEqual([]);
  });

  it('once another process beats: health is ok, the gauge counts it and creations are accepted', async () => {
    other = new WorkerHeartbeats(t.db.db, t.app.log as never, 1, 'sql');
    await other.start();
    await new Promise((r) => setTimeout(r, 1100)); // past the one-second census cache
    const health = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(health.json()).toMatchObject({
      status: 'ok',
      checks: { workers: { ok: true, alive: 1 } },
    });
    expect(await gauge()).toBe('1');
    const user = await registerUser(t.app, `work${dialect}`);
    const fileId = await uploadFixture(t.app, user.access);
    const res = await create(user.access, fileId, 'Somebody');
    expect(res.statusCode, res.body).toBe(202);
  });

  it('a worker that stops says goodbye and no longer counts', async () => {
    await other!.stop();
    other = undefined;
    await new Promise((r) => setTimeout(r, 1100));
    const health = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(health.json()).toMatchObject({ checks: { workers: { ok: false, alive: 0 } } });
  });

  it('a worker that dies silently stops counting after three missed beats', async () => {
    const silent = new WorkerHeartbeats(t.db.db, t.app.log as never, 1, 'sql');
    await silent.start();
    // Simulate a crash: the timer stops, the row stays.
    clearInterval((silent as unknown as { timer: NodeJS.Timeout }).timer);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await t.app.services.workersAlive()).toBe(1);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await t.app.services.workersAlive()).toBe(0);
  });
});
