import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { decodeSpeech } from '../openai/decode.js';
import {
  api,
  readyVoice,
  uploadFixture,
  voiceApp,
  type Json,
  type VoiceTestApp,
} from './helpers.js';

/** The fake provider's audio: 0.3 s per call. */
const TONE_SEC = 0.3;

describe('synthesize: text limits, long text and time limits', () => {
  let t: VoiceTestApp;
  let token: string;
  let voice: Json;
  beforeAll(async () => {
    t = await voiceApp('sqlite', { SPEECH_TIMEOUT_SEC: '2' });
    const u = await registerUser(t.app, 'longtext');
    token = u.access;
    voice = await readyVoice(t.app, token, await uploadFixture(t.app, token));
  });
  afterAll(async () => t.close());

  const synth = (body: object) =>
    api(t.app, token, 'POST', `/api/voice/${voice.voice_id}/synthesize`, body);

  it('a 20,000-character text is spoken sentence by sentence into one WAV', async () => {
    const unit = 'This is one sentence of a long text. 这是长文本中的一句。';
    const text = unit.repeat(Math.ceil(20_000 / unit.length)).slice(0, 20_000);
    const calls = t.fake.calls.synthesize;
    const res = await synth({ text, format: 'wav', sample_rate: 16000 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('audio/wav');
    const pieces = t.fake.calls.synthesize - calls;
    expect(pieces).toBeGreaterThan(50);
    for (const s of t.fake.synthesized.slice(-pieces)) {
      expect(s).toMatchObject({ format: 'pcm', sampleRate: 16000 });
      expect([...s.text].length).toBeLessThanOrEqual(300);
    }
    const audio = await decodeSpeech(res.rawPayload, 'wav');
    expect(audio.sampleRate).toBe(16000);
    expect(audio.durationSec).toBeCloseTo(pieces * TONE_SEC, 1);
  });

  it('one character over the limit is a 400 naming the limit and its setting', async () => {
    const calls = t.fake.calls.synthesize;
    const res = await synth({ text: '字'.repeat(20_001) });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(
      'text is 20001 characters long; the limit is 20000 characters (SYNTH_MAX_CHARS)',
    );
    expect(t.fake.calls.synthesize).toBe(calls);
  });

  it('text with nothing to pronounce is a 400', async () => {
    const res = await synth({ text: '…… !!! ???' });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('nothing to speak');
  });

  it('a provider that never answers is cut at SPEECH_TIMEOUT_SEC with a 503', async () => {
    const original = t.fake.synthesize.bind(t.fake);
    // A provider stuck without looking at its abort signal.
    t.fake.synthesize = async function* () {
      await new Promise((r) => setTimeout(r, 10_000));
      yield new Uint8Array(2);
    };
    try {
      const res = await synth({ text: 'Hello. World.', format: 'pcm' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error_info).toContain('SPEECH_TIMEOUT_SEC');
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      t.fake.synthesize = original;
    }
  });
});

describe('synthesize with SYNTH_MAX_CHARS set', () => {
  let t: VoiceTestApp;
  afterAll(async () => t.close());
  it('the configured limit applies', async () => {
    t = await voiceApp('sqlite', { SYNTH_MAX_CHARS: '50' });
    const u = await registerUser(t.app, 'shortlimit');
    const v = await readyVoice(t.app, u.access, await uploadFixture(t.app, u.access));
    const say = (text: string) =>
      api(t.app, u.access, 'POST', `/api/voice/${v.voice_id}/synthesize`, { text });
    expect((await say('a'.repeat(50))).statusCode).toBe(200);
    const res = await say('a'.repeat(51));
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('limit is 50 characters (SYNTH_MAX_CHARS)');
  });
});
