/**
 * One verdict: for every bad sample of the test set (the shared set when
 * present, else the committed fixtures), what assess_sample says and what
 * create_voice does against the DashScope emulator agree. A sample called
 * usable becomes a ready voice; one called unusable is refused before any
 * provider call, with the same reason.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../emulator/server.js';
import { audioSamples } from '../helpers/fixtures.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/spawn.js';
import { call, register, type User } from './helpers.js';

let emu: EmulatorHandle;
let app: TestApp & { base: string };
let user: User;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, keys: ['sk-test'], deployDelayMs: 50 });
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
      CREATE_VOICE_WAIT_SEC: '60',
    },
    {
      sqlQueue: { pollMs: 50, baseBackoffMs: 100 },
      jobSettings: { pollMinMs: 50, pollMaxMs: 200 },
    },
  );
  await t.app.listen({ port, host: '127.0.0.1' });
  app = Object.assign(t, { base });
  user = await register(base, 'verdict');
});

afterAll(async () => {
  await app?.close();
  await emu?.close();
});

const bad = audioSamples().filter((s) => s.entry.category === 'bad');

async function upload(name: string, bytes: Uint8Array) {
  const form = new FormData();
  form.append('is_public', 'false');
  form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${app.base}/api/file/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.access}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as { file_id?: string } };
}

describe('assess_sample and create_voice agree (DashScope)', () => {
  it.each(bad.map((s) => [s.entry.file, s.entry.expected_verdict, s.path] as const))(
    '%s (%s)',
    async (file, _verdict, abs) => {
      const up = await upload(path.basename(file), readFileSync(abs));
      if (up.status !== 201) {
        // Refused at upload (not audio, empty): neither check ever sees it.
        expect(up.status).toBeGreaterThanOrEqual(400);
        expect(up.status).toBeLessThan(500);
        return;
      }
      const fileId = up.body.file_id!;
      const assessed = await call(app.base, 'POST', '/api/voice/assess_sample', {
        token: user.access,
        body: { audio_file_id: fileId },
      });
      expect(assessed.status, JSON.stringify(assessed.body)).toBe(200);
      const q = assessed.body.quality as { usable: boolean; provider: string; reason?: string };
      expect(q.provider).toBe('dashscope');
      const createsBefore = emu.stats().http.byAction.create_voice ?? 0;
      const created = await call(app.base, 'POST', '/api/voice/create_voice', {
        token: user.access,
        body: {
          audio_file_id: fileId,
          voice_name: file,
          voice_gender: 'other',
          voice_description: 'verdict agreement',
        },
      });
      if (q.usable) {
        expect(created.status, JSON.stringify(created.body)).toBe(200);
        expect(created.body.voice.status).toBe('ready');
      } else {
        expect(created.status, JSON.stringify(created.body)).toBe(422);
        expect(created.body.error_info).toBe(q.reason);
        expect(emu.stats().http.byAction.create_voice ?? 0).toBe(createsBefore);
      }
    },
  );
});
