import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynthesizeInput } from '../../../src/providers/provider.js';
import { makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { freePort } from '../../helpers/spawn.js';
import { api, uploadFixture, type Json } from '../voices/helpers.js';
import { decodeSpeech } from './decode.js';

const TEXT = 'Hello there. How are you today?';

// The default provider (the offline engine), driven by the official SDK.
describe('OpenAI SDK against the offline engine', () => {
  let t: TestApp;
  let base: string;
  let token: string;
  let voice: Json;
  let client: OpenAI;
  let pcmSec = 0;

  beforeAll(async () => {
    t = await makeApp(
      'sqlite',
      { CREATE_VOICE_WAIT_SEC: '120' },
      {
        sqlQueue: { pollMs: 20, baseBackoffMs: 20 },
        jobSettings: { pollMinMs: 10, pollMaxMs: 50 },
      },
    );
    const port = await freePort();
    await t.app.listen({ port, host: '127.0.0.1' });
    base = `http://127.0.0.1:${port}/v1`;
    const u = await registerUser(t.app, 'sdkuser');
    token = u.access;
    const sample = await uploadFixture(t.app, token, 'speech/spk02_m_en_jfk_16k_mono.wav');
    const res = await api(t.app, token, 'POST', '/api/voice/create_voice', {
      audio_file_id: sample,
      voice_name: 'Kennedy',
      voice_gender: 'male',
      voice_description: 'speech',
    });
    expect(res.statusCode, res.body).toBe(200);
    voice = res.json().voice;
    client = new OpenAI({ baseURL: base, apiKey: token, maxRetries: 0, timeout: 120_000 });
    const pcm = await client.audio.speech.create({
      model: 'tts-1',
      voice: 'Kennedy',
      input: TEXT,
      response_format: 'pcm',
    });
    pcmSec = (await decodeSpeech(new Uint8Array(await pcm.arrayBuffer()), 'pcm')).durationSec;
  }, 180_000);
  afterAll(async () => t.close());

  it('the reference PCM is speech-length 24 kHz audio', () => {
    expect(pcmSec).toBeGreaterThan(1);
    expect(pcmSec).toBeLessThan(10);
  });

  it.each([
    ['mp3', 'audio/mpeg'],
    ['opus', 'audio/ogg; codecs=opus'],
    ['aac', 'audio/aac'],
    ['flac', 'audio/flac'],
    ['wav', 'audio/wav'],
    ['pcm', 'audio/L16; rate=24000; channels=1'],
  ] as const)(
    '%s: a decodable 24 kHz mono file of the speech, as %s',
    async (format, type) => {
      const res = await client.audio.speech.create({
        model: 'gpt-4o-mini-tts',
        voice: { id: voice.voice_id },
        input: TEXT,
        response_format: format,
      });
      expect(res.headers.get('content-type')).toBe(type);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const audio = await decodeSpeech(bytes, format);
      expect(audio.sampleRate).toBe(24000);
      expect(audio.channels).toBe(1);
      // Same text, same voice: the same length give or take encoder padding.
      expect(Math.abs(audio.durationSec - pcmSec)).toBeLessThan(0.15);
    },
    60_000,
  );

  it('speed 2 makes it about half as long', async () => {
    const res = await client.audio.speech.create({
      model: 'tts-1',
      voice: 'Kennedy',
      input: TEXT,
      response_format: 'wav',
      speed: 2,
    });
    const audio = await decodeSpeech(new Uint8Array(await res.arrayBuffer()), 'wav');
    expect(audio.durationSec / pcmSec).toBeGreaterThan(0.35);
    expect(audio.durationSec / pcmSec).toBeLessThan(0.75);
  }, 60_000);

  it('streams: the first audio arrives before the later sentences are synthesized', async () => {
    const provider = t.app.services.provider;
    const original = provider.synthesize.bind(provider);
    const started: string[] = [];
    provider.synthesize = (input: SynthesizeInput) => {
      started.push(input.text);
      return original(input);
    };
    try {
      // Each sentence is long enough to be synthesized on its own.
      const sentences = [
        'The first sentence is short.',
        'Then comes a second one, long enough that it is not grouped with the next one by the splitter, because groups stop at two hundred characters.',
        'A third follows it, again long enough to stand alone in its own provider call, so the test can count the calls that started before the first byte.',
        'This is the fourth and final sentence, which the server must not have begun to synthesize when the first audio reaches the client here.',
      ];
      const res = await fetch(`${base}/audio/speech`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          model: 'tts-1',
          voice: 'Kennedy',
          input: sentences.join(' '),
          response_format: 'mp3',
        }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      const startedAtFirstByte = started.length;
      const parts: Uint8Array[] = [first.value!];
      for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
      expect(startedAtFirstByte).toBeLessThan(started.length);
      expect(started.at(-1)).toContain('fourth and final');
      const audio = await decodeSpeech(Buffer.concat(parts), 'mp3');
      expect(audio.durationSec).toBeGreaterThan(3);
    } finally {
      provider.synthesize = original;
    }
  }, 120_000);

  it('SSE: speech.audio.delta events carry the audio, speech.audio.done the usage', async () => {
    const res = await client.audio.speech.create({
      model: 'gpt-4o-mini-tts',
      voice: 'Kennedy',
      input: TEXT,
      response_format: 'pcm',
      stream_format: 'sse',
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => JSON.parse(b.slice('data: '.length)));
    const deltas = events.filter((e) => e.type === 'speech.audio.delta');
    expect(deltas.length).toBeGreaterThan(0);
    expect(events.at(-1)).toEqual({
      type: 'speech.audio.done',
      usage: {
        input_tokens: Math.ceil(TEXT.length / 4),
        output_tokens: expect.any(Number),
        total_tokens: expect.any(Number),
      },
    });
    const usage = events.at(-1).usage;
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
    const pcm = Buffer.concat(deltas.map((d) => Buffer.from(d.audio as string, 'base64')));
    const audio = await decodeSpeech(pcm, 'pcm');
    expect(Math.abs(audio.durationSec - pcmSec)).toBeLessThan(0.15);
    expect(usage.output_tokens).toBe(Math.ceil(audio.durationSec * 20));
  }, 60_000);

  it('the Timbre route streams a multi-sentence text as one decodable MP3', async () => {
    const text = `${TEXT} ${'Here is more to say. '.repeat(4)}`;
    const res = await api(t.app, token, 'POST', `/api/voice/${voice.voice_id}/synthesize`, {
      text,
      format: 'mp3',
      sample_rate: 22050,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('audio/mpeg');
    const audio = await decodeSpeech(res.rawPayload, 'mp3');
    expect(audio.sampleRate).toBe(22050);
    expect(audio.durationSec).toBeGreaterThan(pcmSec + 2);
  }, 120_000);
});
