/**
 * Every container Timbre accepts becomes a voice at the DashScope emulator,
 * which (like DashScope) takes only 16-bit WAV, MP3 and M4A: the others are
 * sent as a WAV rendition stored beside the sample, and the upload itself is
 * left as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../emulator/server.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/spawn.js';
import { call, getBytes, register, speechBytes, uploadSample, type User } from './helpers.js';

let emu: EmulatorHandle;
let app: TestApp & { base: string };

beforeAll(async () => {
  emu = await startEmulator({ port: 0, keys: ['sk-test'], deployDelayMs: 100 });
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
});

afterAll(async () => {
  await app?.close();
  await emu?.close();
});

const SAMPLES = [
  ['mp3', 'speech/spk02_m_en_jfk.mp3', false],
  ['wav', 'speech/spk02_m_en_jfk_16k_mono.wav', false],
  ['m4a', 'speech/spk02_m_en_jfk.m4a', false],
  ['ogg', 'speech/spk02_m_en_jfk.ogg', true],
  ['aac', 'speech/spk02_m_en_jfk.aac', true],
  ['flac', 'speech/spk02_m_en_jfk.flac', true],
] as const;

describe('DashScope voice creation from every accepted format', () => {
  let user: User;
  beforeAll(async () => {
    user = await register(app.base, 'formats');
  });

  it.each(SAMPLES)(
    'a %s sample (%s) becomes a ready voice; sent as a WAV rendition: %s',
    async (ext, rel, transcoded) => {
      const original = speechBytes(rel);
      const fileId = await uploadSample(app.base, user.access, `jfk.${ext}`, original);
      const assessed = await call(app.base, 'POST', '/api/voice/assess_sample', {
        token: user.access,
        body: { audio_file_id: fileId },
      });
      expect(assessed.body.quality).toMatchObject({
        usable: true,
        provider: 'dashscope',
        target_model: 'cosyvoice-v2',
      });
      const res = await call(app.base, 'POST', '/api/voice/create_voice', {
        token: user.access,
        body: {
          audio_file_id: fileId,
          voice_name: `JFK ${ext}`,
          voice_gender: 'male',
          voice_description: `from ${ext}`,
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.voice.status).toBe('ready');

      const remote = emu.voices().find((v) => v.voice_id === res.body.voice.call_name);
      expect(remote?.status).toBe('OK');
      const renditions = await app.db.db
        .selectFrom('files')
        .selectAll()
        .where('derived_from', '=', fileId)
        .execute();
      if (transcoded) {
        expect(renditions).toHaveLength(1);
        expect(renditions[0]).toMatchObject({
          origin: 'rendition',
          ext: 'wav',
          audio_codec: 'pcm_s16le',
          audio_sample_rate: 24000,
          audio_channels: 1,
        });
        expect(remote!.resource_link).toContain(`/temfile/download/${renditions[0]!.id}?`);
      } else {
        expect(renditions).toHaveLength(0);
        expect(remote!.resource_link).toContain(`/temfile/download/${fileId}?`);
      }
      // The upload is untouched.
      const dl = await getBytes(app.base, `/api/file/download/${fileId}`, user.access);
      expect(Buffer.compare(dl.bytes, original)).toBe(0);
    },
  );

  it('a rendition is made once per sample, never listed, and deleted with its sample', async () => {
    const fileId = await uploadSample(
      app.base,
      user.access,
      'again.flac',
      speechBytes('speech/spk01_m_en_librivox.flac'),
    );
    const ids: string[] = [];
    for (const name of ['one', 'two']) {
      const res = await call(app.base, 'POST', '/api/voice/create_voice', {
        token: user.access,
        body: {
          audio_file_id: fileId,
          voice_name: name,
          voice_gender: 'male',
          voice_description: 'x',
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      ids.push(res.body.voice.voice_id as string);
    }
    const renditions = await app.db.db
      .selectFrom('files')
      .select(['id', 'storage_key'])
      .where('derived_from', '=', fileId)
      .execute();
    expect(renditions).toHaveLength(1);
    const list = await call(app.base, 'POST', '/api/file/list', {
      token: user.access,
      body: { page_size: 100, only_mine: true },
    });
    const listed = JSON.stringify(list.body);
    expect(listed).toContain(fileId);
    expect(listed).not.toContain(renditions[0]!.id);

    for (const id of ids) {
      const del = await call(app.base, 'DELETE', `/api/voice/${id}`, { token: user.access });
      expect(del.status, JSON.stringify(del.body)).toBe(200);
    }
    const delFile = await call(app.base, 'DELETE', `/api/file/delete/${fileId}`, {
      token: user.access,
    });
    expect(delFile.status, JSON.stringify(delFile.body)).toBe(200);
    const left = await app.db.db
      .selectFrom('files')
      .select('id')
      .where('derived_from', '=', fileId)
      .execute();
    expect(left).toHaveLength(0);
    expect(await app.app.services.blobs.stat(renditions[0]!.storage_key)).toBeUndefined();
  });
});
