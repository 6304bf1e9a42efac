import OpenAI, { toFile } from 'openai';
import { parseBuffer } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { freePort } from '../../helpers/spawn.js';
import { decodeSpeech } from './decode.js';
import {
  api,
  count,
  fixtureBytes,
  GOOD_SAMPLE,
  readyVoice,
  uploadFixture,
  voiceApp,
  type Json,
  type VoiceTestApp,
} from '../voices/helpers.js';

const dialects = await testDialects();

/** The fake provider's audio: a 0.3 s tone per provider call. */
const TONE_SEC = 0.3;

describe.each(dialects)('the OpenAI-compatible API on %s', (dialect) => {
  let t: VoiceTestApp;
  let base: string;
  let owner: Awaited<ReturnType<typeof registerUser>>;
  let other: Awaited<ReturnType<typeof registerUser>>;
  let third: Awaited<ReturnType<typeof registerUser>>;
  let mine: Json;
  let sharedVoice: Json;
  let publicA: Json;
  let client: OpenAI;

  const speech = (token: string | undefined, payload: object, headers: object = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/audio/speech',
      headers: { ...(token ? bearer(token) : {}), ...headers },
      payload,
    });

  beforeAll(async () => {
    t = await voiceApp(dialect, { OPENAI_DEFAULT_VOICE: 'House voice' });
    const port = await freePort();
    await t.app.listen({ port, host: '127.0.0.1' });
    base = `http://127.0.0.1:${port}/v1`;
    owner = await registerUser(t.app, 'oaowner');
    other = await registerUser(t.app, 'oaother');
    third = await registerUser(t.app, 'oathird');
    client = new OpenAI({ baseURL: base, apiKey: owner.access, maxRetries: 0 });
    const s1 = await uploadFixture(t.app, owner.access);
    mine = await readyVoice(t.app, owner.access, s1, { voice_name: 'Narrator' });
    const s2 = await uploadFixture(t.app, other.access);
    sharedVoice = await readyVoice(t.app, other.access, s2, { voice_name: 'Friend' });
    await api(t.app, other.access, 'POST', `/api/voice/${sharedVoice.voice_id}/shares`, {
      user_id: owner.userId,
    });
    publicA = await readyVoice(t.app, other.access, s2, { voice_name: 'Echo', is_public: true });
    const s3 = await uploadFixture(t.app, third.access);
    // Two public voices of others share a name: ambiguous for a stranger.
    await readyVoice(t.app, third.access, s3, { voice_name: 'Twin', is_public: true });
    await readyVoice(t.app, other.access, s2, { voice_name: 'Twin', is_public: true });
    // Another user's public voice named like one of the owner's: the owner's wins.
    await readyVoice(t.app, third.access, s3, { voice_name: 'narrator', is_public: true });
    await readyVoice(t.app, third.access, s3, { voice_name: 'House voice', is_public: true });
  });
  afterAll(async () => t.close());

  describe('voice lookup', () => {
    it('speaks with a voice given by id, by {"id": …} and by name (owner first)', async () => {
      for (const voice of [mine.voice_id, { id: mine.voice_id }, 'Narrator', 'narrator']) {
        const res = await speech(owner.access, { model: 'tts-1', input: 'Hello.', voice });
        expect(res.statusCode, res.body).toBe(200);
        expect(t.fake.synthesized.at(-1)?.voiceId).toBe(mine.call_name);
      }
    });

    it('finds a voice shared with the caller, then a public one, by name', async () => {
      await speech(owner.access, { model: 'tts-1', input: 'Hi.', voice: 'Friend' });
      expect(t.fake.synthesized.at(-1)?.voiceId).toBe(sharedVoice.call_name);
      const res = await speech(third.access, { model: 'x', input: 'Hi.', voice: 'Echo' });
      expect(res.statusCode, res.body).toBe(200);
      expect(t.fake.synthesized.at(-1)?.voiceId).toBe(publicA.call_name);
    });

    it('a name two public voices share is ambiguous: 400 naming the voice param', async () => {
      const res = await speech(owner.access, { model: 'tts-1', input: 'Hi.', voice: 'Twin' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({
        type: 'invalid_request_error',
        param: 'voice',
        message: expect.stringContaining('ambiguous'),
      });
    });

    it("OpenAI's built-in names speak with the server's default voice, then the user's own choice", async () => {
      const before = await speech(owner.access, { model: 'tts-1', input: 'Hi.', voice: 'alloy' });
      expect(before.statusCode, before.body).toBe(200);
      const house = t.fake.synthesized.at(-1)?.voiceId;
      expect(house).not.toBe(mine.call_name);

      const set = await api(t.app, owner.access, 'PUT', '/api/voice/default_voice', {
        voice_id: mine.voice_id,
      });
      expect(set.statusCode, set.body).toBe(200);
      expect(set.json()).toMatchObject({ voice_id: mine.voice_id, server_default: 'House voice' });
      await speech(owner.access, { model: 'tts-1', input: 'Hi.', voice: 'nova' });
      expect(t.fake.synthesized.at(-1)?.voiceId).toBe(mine.call_name);

      const cleared = await api(t.app, owner.access, 'PUT', '/api/voice/default_voice', {
        voice_id: null,
      });
      expect(cleared.json().voice_id).toBeNull();
      await speech(owner.access, { model: 'tts-1', input: 'Hi.', voice: 'shimmer' });
      expect(t.fake.synthesized.at(-1)?.voiceId).toBe(house);
    });

    it('an unknown voice is 404 in OpenAI shape; a private voice of another user is 403', async () => {
      const res = await speech(owner.access, { model: 'tts-1', input: 'Hi.', voice: 'Nobody' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatchObject({ param: 'voice', code: 'not_found' });
      const priv = await speech(third.access, { model: 'm', input: 'Hi.', voice: mine.voice_id });
      expect(priv.statusCode).toBe(403);
      expect(priv.json().error).toMatchObject({ type: 'permission_error', param: 'voice' });
    });
  });

  describe('speech', () => {
    it('splits long input on sentences (Chinese and English) and the audio holds every piece', async () => {
      const calls = t.fake.calls.synthesize;
      const input = `${'One sentence here. '.repeat(30)}你好。今天天气怎么样？${'Another one! '.repeat(30)}`;
      const res = await speech(owner.access, {
        model: 'tts-1',
        input,
        voice: mine.voice_id,
        response_format: 'flac',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe('audio/flac');
      const pieces = t.fake.calls.synthesize - calls;
      expect(pieces).toBeGreaterThan(3);
      for (const s of t.fake.synthesized.slice(-pieces)) {
        expect(s.format).toBe('pcm');
        expect(s.sampleRate).toBe(24000);
        expect([...s.text].length).toBeLessThanOrEqual(300);
      }
      const audio = await decodeSpeech(res.rawPayload, 'flac');
      expect(audio).toMatchObject({ sampleRate: 24000, channels: 1 });
      expect(audio.durationSec).toBeCloseTo(pieces * TONE_SEC, 1);
    });

    it.each(['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] as const)(
      '%s streams: the first audio reaches the client while a later sentence is still being made',
      async (format) => {
        const original = t.fake.synthesize.bind(t.fake);
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let calls = 0;
        t.fake.synthesize = async function* (input) {
          if (++calls === 3) await gate;
          yield* original(input);
        };
        try {
          const res = await fetch(`${base}/audio/speech`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${owner.access}`,
            },
            body: JSON.stringify({
              model: 'tts-1',
              voice: 'Narrator',
              response_format: format,
              input: `Short first. ${'A second sentence that is long enough to stand on its own in a provider call, more than half of the group size. '.repeat(3)}`,
            }),
          });
          expect(res.status).toBe(200);
          const reader = res.body!.getReader();
          const parts: Uint8Array[] = [];
          // Bytes arrive although the third provider call has not returned.
          const first = await reader.read();
          expect(first.done).toBe(false);
          parts.push(first.value);
          expect(calls).toBe(3);
          release();
          for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
          expect(calls).toBe(4);
          const audio = await decodeSpeech(Buffer.concat(parts), format);
          expect(audio.durationSec).toBeCloseTo(4 * TONE_SEC, 1);
        } finally {
          release();
          t.fake.synthesize = original;
        }
      },
    );

    it('speed beyond the provider range is finished by the encoder (4.0 → a quarter of the length)', async () => {
      const normal = await speech(owner.access, {
        model: 'tts-1',
        input: 'Hello.',
        voice: mine.voice_id,
        response_format: 'pcm',
      });
      expect(t.fake.synthesized.at(-1)?.rate).toBe(1);
      const fast = await speech(owner.access, {
        model: 'tts-1',
        input: 'Hello.',
        voice: mine.voice_id,
        response_format: 'pcm',
        speed: 4,
      });
      expect(fast.statusCode, fast.body).toBe(200);
      // The fake ignores rate; the remaining 2x is the encoder's tempo change.
      expect(t.fake.synthesized.at(-1)?.rate).toBe(2);
      expect(fast.rawPayload.length / normal.rawPayload.length).toBeCloseTo(0.5, 1);
    });

    it.each([
      [{ input: 'hi', voice: 'Narrator' }, 'model'],
      [{ model: 'tts-1', voice: 'Narrator' }, 'input'],
      [{ model: 'tts-1', input: '   ', voice: 'Narrator' }, 'input'],
      [{ model: 'tts-1', input: 'hi' }, 'voice'],
      [{ model: 'tts-1', input: 'hi', voice: 7 }, 'voice'],
      [
        { model: 'tts-1', input: 'hi', voice: 'Narrator', response_format: 'ogg' },
        'response_format',
      ],
      [{ model: 'tts-1', input: 'hi', voice: 'Narrator', speed: 0.2 }, 'speed'],
      [{ model: 'tts-1', input: 'hi', voice: 'Narrator', speed: 4.5 }, 'speed'],
      [{ model: 'tts-1', input: 'hi', voice: 'Narrator', speed: 'fast' }, 'speed'],
      [{ model: 'tts-1', input: 'hi', voice: 'Narrator', stream_format: 'ws' }, 'stream_format'],
      [{ model: 'tts-1', input: 'hi', voice: 'Narrator', instructions: 5 }, 'instructions'],
    ])('%j → 400 with param %s', async (payload, param) => {
      const calls = t.fake.calls.synthesize;
      const res = await speech(owner.access, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        error: { message: expect.any(String), type: 'invalid_request_error', param, code: null },
      });
      expect(t.fake.calls.synthesize).toBe(calls);
    });

    it('input over 4,096 characters is refused naming the limit and its setting', async () => {
      const ok = await speech(owner.access, {
        model: 'tts-1',
        input: 'a'.repeat(4095) + '.',
        voice: mine.voice_id,
        response_format: 'pcm',
      });
      expect(ok.statusCode).toBe(200);
      const res = await speech(owner.access, {
        model: 'tts-1',
        input: '好'.repeat(4097),
        voice: mine.voice_id,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.param).toBe('input');
      expect(res.json().error.message).toContain('4096');
      expect(res.json().error.message).toContain('OPENAI_MAX_INPUT_CHARS');
    });

    it('instructions are accepted and the speech still comes', async () => {
      const res = await speech(owner.access, {
        model: 'gpt-4o-mini-tts',
        input: 'Hello.',
        voice: mine.voice_id,
        instructions: 'Speak cheerfully.',
        response_format: 'wav',
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('audio/wav');
      expect(res.rawPayload.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(res.rawPayload.readUInt32LE(40)).toBe(0xffffffff);
      expect(res.rawPayload.length - 44).toBe(Math.round(24000 * TONE_SEC) * 2);
    });

    it('provider failures answer in OpenAI shape with their status', async () => {
      t.fake.fail('synthesize', 'throttled', 1);
      const res = await speech(owner.access, { model: 'tts-1', input: 'Hi.', voice: 'Narrator' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json().error).toMatchObject({ type: 'server_error', code: 'service_unavailable' });
    });
  });

  describe('auth and routing', () => {
    it('401 without a key, with a bad key, in OpenAI shape', async () => {
      for (const headers of [{}, { authorization: 'Bearer nope' }]) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/audio/speech',
          headers,
          payload: { model: 'tts-1', input: 'hi', voice: 'alloy' },
        });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({
          error: {
            message: expect.any(String),
            type: 'authentication_error',
            param: null,
            code: 'invalid_api_key',
          },
        });
      }
      await expect(
        new OpenAI({ baseURL: base, apiKey: 'wrong', maxRetries: 0 }).models.list(),
      ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    });

    it('unknown routes under /v1 are 404 in OpenAI shape', async () => {
      for (const [method, url] of [
        ['GET', '/v1/nothing'],
        ['POST', '/v1/chat/completions'],
        ['GET', '/v1/audio/speech'],
      ] as const) {
        const res = await t.app.inject({ method, url, headers: bearer(owner.access) });
        expect(res.statusCode).toBe(404);
        expect(res.json().error).toMatchObject({
          type: 'invalid_request_error',
          code: 'unknown_url',
        });
      }
    });

    it('malformed JSON is a 400 in OpenAI shape', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/audio/speech',
        headers: { ...bearer(owner.access), 'content-type': 'application/json' },
        payload: '{"model": ',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.type).toBe('invalid_request_error');
    });
  });

  describe('lists', () => {
    it('GET /v1/audio/voices answers both shapes with the voices the caller may use', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/audio/voices',
        headers: bearer(owner.access),
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.object).toBe('list');
      const ids = body.data.map((v: Json) => v.id);
      expect(ids).toEqual(
        expect.arrayContaining([mine.voice_id, sharedVoice.voice_id, publicA.voice_id]),
      );
      expect(body.data[0]).toMatchObject({ object: 'voice', name: expect.any(String) });
      expect(body.voices).toEqual(body.data.map((v: Json) => ({ id: v.id, name: v.name })));
      // The third user sees neither the owner's private voice nor the shared one.
      const strangers = await t.app.inject({
        method: 'GET',
        url: '/v1/audio/voices',
        headers: bearer(third.access),
      });
      const seen = strangers.json().voices.map((v: Json) => v.id);
      expect(seen).not.toContain(mine.voice_id);
      expect(seen).not.toContain(sharedVoice.voice_id);
    });

    it('models through the SDK, and /v1/audio/models with a `models` key', async () => {
      const models = [];
      for await (const m of client.models.list()) models.push(m.id);
      expect(models).toEqual(expect.arrayContaining(['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts']));
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/audio/models',
        headers: bearer(owner.access),
      });
      expect(res.json().models).toEqual(expect.arrayContaining([{ id: 'tts-1', name: 'tts-1' }]));
      expect((await client.models.retrieve('tts-1')).id).toBe('tts-1');
      await expect(client.models.retrieve('gpt-5')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });

    it('without a key the lists are 401 while OPENAI_PUBLIC_LISTS is off', async () => {
      for (const url of ['/v1/audio/voices', '/v1/audio/models', '/v1/models']) {
        expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(401);
      }
    });
  });

  describe('custom voices through the SDK', () => {
    it('consent, then a voice cloned from a sample, fetched and deleted', async () => {
      const consent = await client.audio.voiceConsents.create({
        name: 'My consent',
        language: 'en-US',
        recording: await toFile(fixtureBytes(GOOD_SAMPLE), 'consent.wav', { type: 'audio/wav' }),
      });
      expect(consent).toMatchObject({
        id: expect.stringMatching(/^cons_[0-9a-f]{32}$/),
        object: 'audio.voice_consent',
        name: 'My consent',
        language: 'en-US',
        created_at: expect.any(Number),
      });
      expect((await client.audio.voiceConsents.retrieve(consent.id)).name).toBe('My consent');
      const listed = [];
      for await (const c of client.audio.voiceConsents.list()) listed.push(c.id);
      expect(listed).toContain(consent.id);

      const voice = await client.audio.voices.create({
        name: 'SDK voice',
        consent: consent.id,
        audio_sample: await toFile(fixtureBytes(GOOD_SAMPLE), 'sample.wav', { type: 'audio/wav' }),
      });
      expect(voice).toMatchObject({
        id: expect.any(String),
        object: 'audio.voice',
        name: 'SDK voice',
        type: 'audio_sample',
        created_at: expect.any(Number),
        status: 'ready',
      });
      const got = (await client.get(`/audio/voices/${voice.id}`)) as Json;
      expect(got).toMatchObject({ id: voice.id, status: 'ready' });
      // It is a Timbre voice like any other, usable at once by id and name.
      const spoken = await client.audio.speech.create({
        model: 'tts-1',
        voice: { id: voice.id },
        input: 'Cloned.',
        response_format: 'pcm',
      });
      expect((await spoken.arrayBuffer()).byteLength).toBe(Math.round(24000 * TONE_SEC) * 2);

      const deleted = await client.audio.voices.delete(voice.id);
      expect(deleted).toEqual({ id: voice.id, object: 'audio.voice.deleted', deleted: true });
      await expect(client.audio.voices.delete(voice.id)).rejects.toBeInstanceOf(
        OpenAI.NotFoundError,
      );
      const gone = await client.audio.voiceConsents.delete(consent.id);
      expect(gone).toMatchObject({ id: consent.id, deleted: true });
    });

    it('a voice with an unknown consent is 404 naming it, and leaves no file behind', async () => {
      const files = await count(t, 'files');
      const voices = await count(t, 'voices');
      const err = await client.audio.voices
        .create({
          name: 'No consent',
          consent: 'cons_0000',
          audio_sample: await toFile(fixtureBytes(GOOD_SAMPLE), 's.wav', { type: 'audio/wav' }),
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('consent');
      expect(await count(t, 'files')).toBe(files);
      expect(await count(t, 'voices')).toBe(voices);
    });

    it('a consent without its recording is 400 naming `recording`; nothing is stored', async () => {
      const files = await count(t, 'files');
      const form = new FormData();
      form.set('name', 'x');
      form.set('language', 'en');
      const res = await fetch(`${base}/audio/voice_consents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.access}` },
        body: form,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).error.param).toBe('recording');
      expect(await count(t, 'files')).toBe(files);
    });
  });

  describe('requests as clients send them', () => {
    it('Open WebUI: lists without a key are 401 here, and {input, voice, model} speaks mp3', async () => {
      const res = await fetch(`${base}/audio/speech`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.access}` },
        body: JSON.stringify({ input: 'Hello from Open WebUI.', voice: 'alloy', model: 'tts-1' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/mpeg');
      const meta = await parseBuffer(
        new Uint8Array(await res.arrayBuffer()),
        { mimeType: 'audio/mpeg' },
        { duration: true },
      );
      expect(meta.format.codec).toMatch(/MPEG 1|MPEG 2/);
      expect(meta.format.sampleRate).toBe(24000);
    });

    it('SillyTavern: model, input, voice, response_format mp3 and speed', async () => {
      const res = await fetch(`${base}/audio/speech`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.access}` },
        body: JSON.stringify({
          model: 'tts-1',
          input: '*waves* Hello there, traveller!',
          voice: 'Narrator',
          response_format: 'mp3',
          speed: 1.25,
        }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/mpeg');
      expect(t.fake.synthesized.at(-1)).toMatchObject({ rate: 1.25, voiceId: mine.call_name });
    });

    it('Home Assistant OpenAI TTS: wav/mp3/opus with speed and instructions and its User-Agent', async () => {
      for (const [format, type] of [
        ['mp3', 'audio/mpeg'],
        ['opus', 'audio/ogg; codecs=opus'],
      ] as const) {
        const res = await fetch(`${base}/audio/speech`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 'HomeAssistant-OpenAI-TTS',
            Authorization: `Bearer ${owner.access}`,
          },
          body: JSON.stringify({
            model: 'gpt-4o-mini-tts',
            input: 'The front door is open.',
            voice: 'Narrator',
            response_format: format,
            speed: 1.0,
            instructions: 'Calm and clear.',
          }),
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(type);
        const bytes = new Uint8Array(await res.arrayBuffer());
        const meta = await parseBuffer(bytes, { mimeType: type.split(';')[0]! });
        expect(meta.format.numberOfChannels).toBe(1);
      }
    });
  });
});

describe('the OpenAI API with OPENAI_PUBLIC_LISTS', () => {
  let t: VoiceTestApp;
  beforeAll(async () => {
    t = await voiceApp('sqlite', { OPENAI_PUBLIC_LISTS: 'true' });
  });
  afterAll(async () => t.close());

  it('lists answer without a key with public voices only; speech still needs one', async () => {
    const u = await registerUser(t.app, 'publister');
    const s = await uploadFixture(t.app, u.access);
    const pub = await readyVoice(t.app, u.access, s, { voice_name: 'Public one', is_public: true });
    const priv = await readyVoice(t.app, u.access, s, { voice_name: 'Private one' });
    const res = await t.app.inject({ method: 'GET', url: '/v1/audio/voices' });
    expect(res.statusCode).toBe(200);
    const ids = res.json().voices.map((v: Json) => v.id);
    expect(ids).toContain(pub.voice_id);
    expect(ids).not.toContain(priv.voice_id);
    expect((await t.app.inject({ method: 'GET', url: '/v1/models' })).statusCode).toBe(200);
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: '/v1/audio/models',
          headers: { authorization: 'Bearer ' },
        })
      ).statusCode,
    ).toBe(200);
    const speak = await t.app.inject({
      method: 'POST',
      url: '/v1/audio/speech',
      payload: { model: 'tts-1', input: 'hi', voice: pub.voice_id },
    });
    expect(speak.statusCode).toBe(401);
  });
});

describe('the OpenAI API under a low rate limit', () => {
  let t: VoiceTestApp;
  beforeAll(async () => {
    t = await voiceApp('sqlite', { RATE_LIMIT_PER_MIN: '5' });
  });
  afterAll(async () => t.close());

  it('past the synthesis rate limit: 429 in OpenAI shape with Retry-After', async () => {
    const u = await registerUser(t.app, 'limited');
    const s = await uploadFixture(t.app, u.access);
    const v = await readyVoice(t.app, u.access, s, { voice_name: 'Busy' });
    const say = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/audio/speech',
        headers: bearer(u.access),
        payload: { model: 'tts-1', input: 'hi', voice: v.voice_id, response_format: 'pcm' },
      });
    expect((await say()).statusCode).toBe(200);
    const res = await say();
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.json().error).toMatchObject({
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      param: null,
    });
  });
});
