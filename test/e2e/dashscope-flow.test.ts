/**
 * The whole creation flow over real sockets against the DashScope emulator:
 * the emulator downloads the sample through the app's signed link, enrols,
 * deploys, synthesizes the audition clip over its WebSocket. Then a failure
 * at each step, each leaving nothing behind: no provider voice, no file.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../emulator/server.js';
import type { AppDeps } from '../../src/app.js';
import { DashScopeVoiceProvider } from '../../src/providers/dashscope/index.js';
import { providerPrefix } from '../../src/services/voice.service.js';
import { MemoryBlobStore } from '../doubles/memory-blob-store.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/spawn.js';
import {
  call,
  getBytes,
  looksLikeMp3,
  register,
  speech8kWav,
  speechBytes,
  until,
  uploadSample,
  type User,
} from './helpers.js';

interface Served extends TestApp {
  base: string;
}

let emu: EmulatorHandle;
/** Its provider is built from configuration (VOICE_PROVIDER=dashscope). */
let main: Served;
/** A provider with short timeouts and retry delays, and an in-memory blob store that can fail. */
let fast: Served;
let fastBlobs: MemoryBlobStore;

async function serve(
  env: Record<string, string>,
  deps: Partial<Omit<AppDeps, 'config' | 'db'>> = {},
): Promise<Served> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await makeApp(
    'sqlite',
    {
      PUBLIC_BASE_URL: base,
      VOICE_PROVIDER: 'dashscope',
      DASHSCOPE_API_KEY: 'sk-test',
      DASHSCOPE_BASE_URL: emu.httpBaseUrl,
      DASHSCOPE_WS_URL: emu.wsUrl,
      DASHSCOPE_TARGET_MODEL: 'cosyvoice-v2',
      VOICE_READY_TIMEOUT_SEC: '2',
      CREATE_VOICE_WAIT_SEC: '30',
      ...env,
    },
    {
      sqlQueue: { pollMs: 50, baseBackoffMs: 100 },
      jobSettings: { pollMinMs: 100, pollMaxMs: 250 },
      ...deps,
    },
  );
  await t.app.listen({ port, host: '127.0.0.1' });
  return Object.assign(t, { base });
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, keys: ['sk-test'], deployDelayMs: 300 });
  main = await serve({});
  fastBlobs = new MemoryBlobStore();
  fast = await serve(
    {},
    {
      blobs: fastBlobs,
      provider: new DashScopeVoiceProvider({
        apiKey: 'sk-test',
        baseUrl: emu.httpBaseUrl,
        wsUrl: emu.wsUrl,
        defaultTargetModel: 'cosyvoice-v2',
        requestTimeoutMs: 1500,
        createTimeoutMs: 1500,
        createSettleMs: 4000,
        createSettlePollMs: 200,
        retries: 2,
        minRetryDelayMs: 50,
        maxRetryDelayMs: 200,
      }),
    },
  );
});

afterAll(async () => {
  await main?.close();
  await fast?.close();
  await emu?.close();
});

beforeEach(() => {
  emu.reset();
  emu.configure({ deployDelayMs: 300, forceUndeployed: false });
});

/** A fresh user with the 16 kHz speech sample (or `bytes`) uploaded. */
async function userWithSample(s: Served, bytes = speechBytes(), name = 'jfk.wav') {
  const user = await register(s.base, 'flow');
  const fileId = await uploadSample(s.base, user.access, name, bytes);
  return { user, fileId };
}

function createVoice(s: Served, user: User, fileId: string, voiceName = 'JFK') {
  return call(s.base, 'POST', '/api/voice/create_voice', {
    token: user.access,
    body: {
      audio_file_id: fileId,
      voice_name: voiceName,
      voice_gender: 'male',
      voice_description: 'an end-to-end voice',
    },
  });
}

const atEmulator = (user: User, voiceId: string) =>
  emu.voices().filter((v) => v.prefix === providerPrefix(user.userId, voiceId));

/** The voice is failed with a reason; nothing of it is left at the provider or in storage. */
async function expectCleanFailure(s: Served, user: User, sampleId: string, voiceId: string) {
  const got = await call(s.base, 'GET', `/api/voice/${voiceId}`, { token: user.access });
  expect(got.body.voice.status).toBe('failed');
  expect(got.body.voice.error_info).toEqual(expect.any(String));
  expect(got.body.voice.call_name ?? null).toBeNull();
  expect(got.body.voice.voice_audition_url ?? null).toBeNull();
  await until(() => atEmulator(user, voiceId).length === 0, 'the provider voice to be deleted');
  // Only the sample is left: no audition file row, no blob without a row.
  const rows = await s.db.db
    .selectFrom('files')
    .select(['id', 'storage_key'])
    .where('owner_id', '=', user.userId)
    .execute();
  expect(rows.map((r) => r.id)).toEqual([sampleId]);
  const allRows = await s.db.db.selectFrom('files').select('storage_key').execute();
  const known = new Set(allRows.map((r) => r.storage_key));
  for await (const b of s.app.services.blobs.list()) {
    if (!b.temporary) expect(known.has(b.key), `blob ${b.key} has a file row`).toBe(true);
  }
  // Never listed as a usable voice.
  const list = await call(s.base, 'POST', '/api/voice/get_voices', {
    token: user.access,
    body: { created_by_current_user: true },
  });
  for (const v of list.body.voices as { voice_id: string; status?: string }[]) {
    if (v.voice_id === voiceId) expect(v.status).not.toBe('ready');
  }
}

async function providerDownloads(s: Served): Promise<number> {
  const m = await s.app.services.metrics.httpSeconds.get();
  return m.values
    .filter(
      (v) =>
        v.metricName === 'timbre_http_request_duration_seconds_count' &&
        String(v.labels.route).includes('/temfile/download/') &&
        v.labels.status === '200',
    )
    .reduce((n, v) => n + v.value, 0);
}

describe('voice creation against the DashScope emulator', () => {
  it('enrols from the signed sample link, deploys, stores a real MP3 audition; delete removes it at the provider', async () => {
    const { user, fileId } = await userWithSample(main);
    const downloadsBefore = await providerDownloads(main);
    const res = await createVoice(main, user, fileId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.message).toBe('create voice success');
    const voice = res.body.voice;
    expect(voice.status).toBe('ready');
    expect(voice.call_name).toMatch(/^cosyvoice-v2-u[a-z0-9]{9}-/);
    expect(res.body.dashscope_voice_id).toBe(voice.call_name);

    // Exactly one voice at the provider, enrolled from our signed link, which it fetched.
    const remote = emu.voices();
    expect(remote).toHaveLength(1);
    expect(remote[0]!.voice_id).toBe(voice.call_name);
    expect(remote[0]!.status).toBe('OK');
    expect(
      remote[0]!.resource_link.startsWith(`${main.base}/api/temfile/download/${fileId}?`),
    ).toBe(true);
    const link = new URL(remote[0]!.resource_link);
    expect(link.searchParams.get('exp')).toMatch(/^\d+$/);
    expect(link.searchParams.get('sig')).toBeTruthy();
    expect(await providerDownloads(main)).toBeGreaterThan(downloadsBefore);
    expect(emu.stats().http.byAction.create_voice).toBe(1);

    // The audition clip: MP3 the emulator synthesized, stored as a private file.
    expect(emu.stats().ws.tasksFinished).toBeGreaterThanOrEqual(1);
    const clip = await getBytes(main.base, `/api/voice/${voice.voice_id}/audition`, user.access);
    expect(clip.status).toBe(200);
    expect(clip.type).toContain('audio/mpeg');
    expect(clip.bytes.length).toBeGreaterThan(1000);
    expect(looksLikeMp3(clip.bytes)).toBe(true);
    const file = await main.db.db
      .selectFrom('files')
      .selectAll()
      .where('id', '=', voice.voice_audition_url)
      .executeTakeFirstOrThrow();
    expect(file).toMatchObject({ owner_id: user.userId, is_public: 0, file_name: 'audition.mp3' });

    // Deleting the voice deletes it at the provider too (through its job).
    const del = await call(main.base, 'DELETE', `/api/voice/${voice.voice_id}`, {
      token: user.access,
    });
    expect(del.status).toBe(200);
    await until(() => emu.voices().length === 0, 'the provider voice to be deleted');
    expect(
      await main.db.db
        .selectFrom('files')
        .select('id')
        .where('id', '=', voice.voice_audition_url)
        .executeTakeFirst(),
    ).toBeUndefined();
  });

  it('an 8 kHz sample the provider would refuse is sent as a 24 kHz rendition and the voice becomes ready', async () => {
    const { user, fileId } = await userWithSample(main, speech8kWav(), 'jfk-8k.wav');
    const res = await createVoice(main, user, fileId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.voice.status).toBe('ready');
    const [remote] = emu.voices();
    const rendition = await main.db.db
      .selectFrom('files')
      .selectAll()
      .where('derived_from', '=', fileId)
      .executeTakeFirstOrThrow();
    expect(rendition.audio_sample_rate).toBe(24000);
    expect(remote!.resource_link).toContain(`/api/temfile/download/${rendition.id}?`);
  });

  it('a clone rejected with Audio.AudioShortError is a 422 with a reason', async () => {
    const { user, fileId } = await userWithSample(main);
    emu.injectFault({
      target: 'http',
      kind: 'status',
      status: 400,
      code: 'Audio.AudioShortError',
      action: 'create_voice',
    });
    const res = await createVoice(main, user, fileId);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error_info).toMatch(/short/i);
    expect(emu.voices()).toHaveLength(0);
    await expectCleanFailure(main, user, fileId, res.body.voice_id);
  });

  it('a voice that never becomes usable (UNDEPLOYED) is failed with 422 and deleted at the provider', async () => {
    const { user, fileId } = await userWithSample(main);
    emu.configure({ forceUndeployed: true });
    const res = await createVoice(main, user, fileId);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error_info).toEqual(expect.any(String));
    expect(emu.stats().http.byAction.create_voice).toBe(1);
    expect(emu.stats().http.byAction.delete_voice).toBeGreaterThanOrEqual(1);
    await expectCleanFailure(main, user, fileId, res.body.voice_id);
  });

  it('a voice set UNDEPLOYED while we wait for it is failed with 422', async () => {
    const { user, fileId } = await userWithSample(main);
    emu.configure({ deployDelayMs: 60_000 });
    const accepted = await call(main.base, 'POST', '/api/voice/create_voice?async=1', {
      token: user.access,
      body: {
        audio_file_id: fileId,
        voice_name: 'Undeployed',
        voice_gender: 'male',
        voice_description: 'x',
      },
    });
    expect(accepted.status).toBe(202);
    const voiceId = accepted.body.voice_id as string;
    const remote = await until(() => atEmulator(user, voiceId)[0], 'the voice to be enrolled');
    emu.setVoiceStatus(remote.voice_id, 'UNDEPLOYED');
    const v = await until(async () => {
      const r = await call(main.base, 'GET', `/api/voice/${voiceId}`, { token: user.access });
      return r.body.voice.status === 'failed' ? r.body.voice : undefined;
    }, 'the voice to fail');
    expect(v.error_info).toMatch(/review/i);
    await expectCleanFailure(main, user, fileId, voiceId);
  });

  it('a voice still deploying after VOICE_READY_TIMEOUT_SEC fails with 503 and is deleted at the provider', async () => {
    const { user, fileId } = await userWithSample(main);
    emu.configure({ deployDelayMs: 60_000 });
    const res = await createVoice(main, user, fileId);
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(res.body.error_info).toMatch(/still deploying/);
    await expectCleanFailure(main, user, fileId, res.body.voice_id);
  });

  it('an audition synthesis that keeps failing (task-failed) ends in 502 without orphans', async () => {
    const { user, fileId } = await userWithSample(fast);
    emu.injectFault({ target: 'ws', kind: 'internal-error', times: 1000 });
    const res = await createVoice(fast, user, fileId);
    emu.clearFaults();
    expect(res.status, JSON.stringify(res.body)).toBe(502);
    expect(res.body.error_info).toEqual(expect.any(String));
    expect(emu.stats().ws.tasksFailed.InternalError).toBeGreaterThanOrEqual(1);
    await expectCleanFailure(fast, user, fileId, res.body.voice_id);
  });

  it('an audition clip that cannot be stored ends in 503 without orphans', async () => {
    const { user, fileId } = await userWithSample(fast);
    fastBlobs.failOn.put = () => new Error('disk full');
    try {
      const res = await createVoice(fast, user, fileId);
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error_info).toMatch(/storage/i);
      expect(emu.stats().ws.tasksFinished).toBeGreaterThanOrEqual(1);
      await expectCleanFailure(fast, user, fileId, res.body.voice_id);
    } finally {
      fastBlobs.failOn = {};
    }
  });

  it('a throttling storm on create is retried until it succeeds, with exactly one provider voice', async () => {
    const { user, fileId } = await userWithSample(fast);
    // More than the client's own retries (2), so the job itself must retry.
    emu.injectFault({ target: 'http', kind: 'throttling', action: 'create_voice', times: 4 });
    const res = await createVoice(fast, user, fileId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.voice.status).toBe('ready');
    expect(emu.stats().http.byAction.create_voice).toBe(5);
    expect(emu.voices()).toHaveLength(1);
    expect(emu.voices()[0]!.voice_id).toBe(res.body.voice.call_name);
    const jobs = await fast.app.services.metrics.jobs.get();
    expect(
      jobs.values.find((v) => v.labels.type === 'create_voice' && v.labels.outcome === 'retried')
        ?.value,
    ).toBeGreaterThanOrEqual(1);
  });

  it('a create that outlives the client timeout but lands at the provider is adopted, not repeated', async () => {
    const { user, fileId } = await userWithSample(fast);
    emu.injectFault({ target: 'http', kind: 'latency', ms: 2500, action: 'create_voice' });
    const res = await createVoice(fast, user, fileId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.voice.status).toBe('ready');
    expect(emu.stats().http.byAction.create_voice).toBe(1);
    expect(emu.voices()).toHaveLength(1);
    expect(emu.voices()[0]!.voice_id).toBe(res.body.voice.call_name);
  });
});
