/**
 * The server process is SIGKILLed in the middle of a creation job; a new
 * process on the same data folder picks the job up once its lease lapses and
 * finishes the voice without enrolling it twice at the provider.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../emulator/server.js';
import { providerPrefix } from '../../src/services/voice.service.js';
import { freePort, killAll, spawnServer, type ServerChild } from '../helpers/spawn.js';
import { call, register, settledVoice, speechBytes, until, uploadSample } from './helpers.js';

let emu: EmulatorHandle;
const dirs: string[] = [];

beforeAll(async () => {
  emu = await startEmulator({ port: 0, keys: ['sk-test'], deployDelayMs: 4000 });
});

afterEach(async () => {
  await killAll();
});

afterAll(async () => {
  await killAll();
  await emu?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function serverEnv(dataDir: string, leaseSec: number): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    JWT_SECRET_KEY: 'e2e-secret-e2e-secret-e2e-secret-0123',
    BCRYPT_ROUNDS: '4',
    VOICE_PROVIDER: 'dashscope',
    DASHSCOPE_API_KEY: 'sk-test',
    DASHSCOPE_BASE_URL: emu.httpBaseUrl,
    DASHSCOPE_WS_URL: emu.wsUrl,
    DASHSCOPE_TARGET_MODEL: 'cosyvoice-v2',
    JOB_LEASE_SEC: String(leaseSec),
    SWEEP_INTERVAL_SEC: '0',
    LOG_LEVEL: 'warn',
  };
}

/** A server on a fresh data folder, a user, the sample uploaded, a creation queued (202). */
async function startCreation(leaseSec: number) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'timbre-crash-'));
  dirs.push(dataDir);
  const port = await freePort();
  const env = serverEnv(dataDir, leaseSec);
  const first = await spawnServer(env, { port });
  const user = await register(first.baseUrl, 'crash');
  const fileId = await uploadSample(first.baseUrl, user.access, 'jfk.wav', speechBytes());
  const res = await call(first.baseUrl, 'POST', '/api/voice/create_voice?async=1', {
    token: user.access,
    body: {
      audio_file_id: fileId,
      voice_name: 'Survivor',
      voice_gender: 'male',
      voice_description: 'made across a crash',
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const voiceId = res.body.voice_id as string;
  const prefix = providerPrefix(user.userId, voiceId);
  return { first, env, port, user, voiceId, prefix };
}

async function expectReadyOnce(
  server: ServerChild,
  token: string,
  voiceId: string,
  prefix: string,
) {
  const v = await settledVoice(server.baseUrl, token, voiceId, 40_000);
  expect(v.status, JSON.stringify(v)).toBe('ready');
  const remote = emu.voices().filter((r) => r.prefix === prefix);
  expect(remote).toHaveLength(1);
  expect(remote[0]!.voice_id).toBe(v.call_name);
  const clip = await fetch(`${server.baseUrl}/api/voice/${voiceId}/audition`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(clip.status).toBe(200);
  expect(Buffer.from(await clip.arrayBuffer()).length).toBeGreaterThan(1000);
  return v;
}

describe('a server killed in the middle of a creation', () => {
  it('resumes on restart: the enrolled voice is adopted, not enrolled again, and becomes ready', async () => {
    emu.reset();
    emu.configure({ deployDelayMs: 4000 });
    const { first, env, port, user, voiceId, prefix } = await startCreation(3);

    // The job has enrolled the voice and is waiting for it to deploy.
    const callName = await until(
      async () => {
        const r = await call(first.baseUrl, 'GET', `/api/voice/${voiceId}`, {
          token: user.access,
        });
        return r.body.voice?.call_name as string | undefined;
      },
      'call_name to be recorded',
      20_000,
      50,
    );
    const before = await call(first.baseUrl, 'GET', `/api/voice/${voiceId}`, {
      token: user.access,
    });
    expect(before.body.voice.status).toBe('processing');
    await first.kill();

    const remote = emu.voices().filter((r) => r.prefix === prefix);
    expect(remote).toHaveLength(1);
    expect(remote[0]!.voice_id).toBe(callName);
    expect(remote[0]!.status).toBe('DEPLOYING');

    const second = await spawnServer(env, { port });
    const v = await expectReadyOnce(second, user.access, voiceId, prefix);
    expect(v.call_name).toBe(callName);
    expect(emu.stats().http.byAction.create_voice).toBe(1);
  }, 90_000);

  it('killed while its create call is still in flight: after restart exactly one provider voice, and the voice ready', async () => {
    emu.reset();
    emu.configure({ deployDelayMs: 300 });
    // The create request reaches the emulator, which answers only after 6 s.
    // The lease (10 s) outlives that, so the next process looks only once the
    // create has landed (or failed, when the sample link was down meanwhile).
    emu.injectFault({ target: 'http', kind: 'latency', ms: 6000, action: 'create_voice' });
    const { first, env, port, user, voiceId, prefix } = await startCreation(10);
    await until(
      () => (emu.stats().http.byAction.create_voice ?? 0) >= 1,
      'the create call to reach the provider',
      20_000,
      20,
    );
    const before = await call(first.baseUrl, 'GET', `/api/voice/${voiceId}`, {
      token: user.access,
    });
    expect(before.body.voice.call_name ?? null).toBeNull();
    await first.kill();

    const second = await spawnServer(env, { port });
    await expectReadyOnce(second, user.access, voiceId, prefix);
    // Adopted (the delayed create landed) or enrolled again (it could not fetch the
    // sample while no server was up); never both.
    const creates = emu.stats().http.byAction.create_voice ?? 0;
    expect(creates).toBeGreaterThanOrEqual(1);
    expect(creates).toBeLessThanOrEqual(2);
    expect(emu.voices()).toHaveLength(1);
  }, 90_000);
});
