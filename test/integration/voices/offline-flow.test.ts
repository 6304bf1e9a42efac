import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeAudio } from '../../../src/audio/index.js';
import { makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { api, uploadFixture } from './helpers.js';

const dialects = await testDialects();

describe.each(dialects)('creating a voice with the offline engine on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    // The default provider: the built-in offline engine, no doubles.
    t = await makeApp(
      dialect,
      { CREATE_VOICE_WAIT_SEC: '60' },
      {
        sqlQueue: { pollMs: 20, baseBackoffMs: 20 },
        jobSettings: { pollMinMs: 10, pollMaxMs: 50 },
      },
    );
  });
  afterAll(async () => t.close());

  // Pool threads load the TypeScript sources through tsx and calibrate espeak on first use.
  it(
    'clones the FLAC sample end to end: voice, audition clip, library, synthesis',
    { timeout: 120_000 },
    async () => {
      const u = await registerUser(t.app, 'speaker');
      const sample = await uploadFixture(t.app, u.access, 'speech/spk01_m_en_librivox.flac');
      const res = await api(t.app, u.access, 'POST', '/api/voice/create_voice', {
        audio_file_id: sample,
        voice_name: 'Librivox reader',
        voice_gender: 'male',
        voice_description: 'calm narration',
        is_public: 'false',
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        code: 200,
        message: 'create voice success',
        voice: {
          voice_name: 'Librivox reader',
          status: 'ready',
          provider: 'offline',
          is_public: false,
          created_by_user_id: u.userId,
        },
      });
      expect(body.dashscope_voice_id).toBe(body.voice.call_name);

      const clip = await api(
        t.app,
        u.access,
        'GET',
        `/api/file/download/${body.voice.voice_audition_url}`,
      );
      expect(clip.statusCode).toBe(200);
      expect(clip.headers['content-type']).toMatch(/^audio\/mpeg/);
      const probed = await probeAudio(clip.rawPayload);
      expect(probed.codec).toBe('mp3');
      expect(probed.durationSec).toBeGreaterThan(0.3);

      const mine = await api(t.app, u.access, 'GET', '/api/voice/my_voices');
      expect(mine.json().voices).toEqual([
        expect.objectContaining({ voice_id: body.voice.voice_id, status: 'ready' }),
      ]);

      const speech = await api(
        t.app,
        u.access,
        'POST',
        `/api/voice/${body.voice.voice_id}/synthesize`,
        {
          text: 'Hello there.',
          format: 'wav',
          sample_rate: 16000,
        },
      );
      expect(speech.statusCode).toBe(200);
      expect(speech.headers['content-type']).toBe('audio/wav');
      expect(speech.rawPayload.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(speech.rawPayload.length).toBeGreaterThan(44 + 16000 * 2 * 0.3);
    },
  );

  it(
    'analyses a sample once for its assessment and its creation',
    { timeout: 120_000 },
    async () => {
      const assessments = async () => {
        const metric = await t.app.services.metrics.cpuTaskSeconds.get();
        return metric.values
          .filter((v) => v.metricName?.endsWith('_count') && v.labels.task === 'assess_audio')
          .reduce((n, v) => n + v.value, 0);
      };
      const u = await registerUser(t.app, 'once');
      const sample = await uploadFixture(t.app, u.access, 'speech/spk02_m_en_jfk_16k_mono.wav');
      const before = await assessments();
      const assessed = await api(t.app, u.access, 'POST', '/api/voice/assess_sample', {
        audio_file_id: sample,
      });
      expect(assessed.json().quality).toMatchObject({ verdict: 'good', usable: true });
      const res = await api(t.app, u.access, 'POST', '/api/voice/create_voice', {
        audio_file_id: sample,
        voice_name: 'Once',
        voice_gender: 'male',
        voice_description: 'analysed once',
      });
      expect(res.json().voice).toMatchObject({ status: 'ready' });
      // assess_sample, the creation's check and the engine's style profile share one analysis.
      expect((await assessments()) - before).toBe(1);
    },
  );
});
