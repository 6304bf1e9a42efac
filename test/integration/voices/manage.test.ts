import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../doubles/memory-blob-store.js';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import {
  api,
  count,
  createVoice,
  readyVoice,
  until,
  uploadFixture,
  voiceApp,
  waitForStatus,
  type Json,
  type VoiceTestApp,
} from './helpers.js';

const dialects = await testDialects();
type User = Awaited<ReturnType<typeof registerUser>>;
const UNKNOWN = '01900000-0000-7000-8000-000000000000';

describe.each(dialects)('managing voices on %s', (dialect) => {
  let t: VoiceTestApp;
  let blobs: MemoryBlobStore;
  let owner: User;
  let friend: User;
  let stranger: User;
  let sample: string;
  /** A private ready voice of `owner`, and a public one. */
  let priv: Json;
  let pub: Json;

  beforeAll(async () => {
    blobs = new MemoryBlobStore();
    t = await voiceApp(dialect, {}, { blobs });
    owner = await registerUser(t.app, 'owner');
    friend = await registerUser(t.app, 'friend');
    stranger = await registerUser(t.app, 'stranger');
    sample = await uploadFixture(t.app, owner.access);
    priv = await readyVoice(t.app, owner.access, sample, { voice_name: 'Private one' });
    pub = await readyVoice(t.app, owner.access, sample, {
      voice_name: 'Public one',
      is_public: true,
    });
  });
  afterAll(async () => t.close());
  afterEach(() => t.fake.reset());

  const synth = (who: User, id: string, body: Record<string, unknown> = { text: 'hello' }) =>
    api(t.app, who.access, 'POST', `/api/voice/${id}/synthesize`, body);
  const audition = (who: User, id: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'GET',
      url: `/api/voice/${id}/audition`,
      headers: { ...bearer(who.access), ...headers },
    });

  describe('update', () => {
    it('lets the owner change name, gender, description and the public flag', async () => {
      const v = await readyVoice(t.app, owner.access, sample, { voice_name: 'Before' });
      const res = await api(t.app, owner.access, 'PUT', `/api/voice/${v.voice_id}`, {
        voice_name: '  After ',
        voice_gender: 'other',
        voice_description: 'new words',
        is_public: 'true',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        code: 200,
        message: 'update voice success',
        voice: {
          voice_id: v.voice_id,
          voice_name: 'After',
          voice_gender: 'other',
          voice_description: 'new words',
          is_public: true,
          call_name: v.call_name,
          voice_audition_url: v.voice_audition_url,
        },
      });
      const got = await api(t.app, stranger.access, 'GET', `/api/voice/${v.voice_id}`);
      expect(got.json().voice).toMatchObject({ voice_name: 'After', is_public: true });
      const back = await api(t.app, owner.access, 'PUT', `/api/voice/${v.voice_id}`, {
        is_public: 'false',
      });
      expect(back.json().voice.is_public).toBe(false);
      expect(
        (await api(t.app, stranger.access, 'GET', `/api/voice/${v.voice_id}`)).statusCode,
      ).toBe(403);
    });

    it.each([
      [{ voice_name: 'x'.repeat(51) }, 'voice_name must be at most 50 characters'],
      [{ voice_name: ' ' }, 'Invalid field: voice_name'],
      [{ voice_gender: 'robot' }, "voice_gender must be one of 'male', 'female', or 'other'"],
      [{ is_public: 'maybe' }, 'Invalid field: is_public'],
      [{}, 'Nothing to update'],
    ])('rejects %j with 400 and changes nothing', async (body, message) => {
      const res = await api(t.app, owner.access, 'PUT', `/api/voice/${priv.voice_id}`, body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 400, message });
      const got = await api(t.app, owner.access, 'GET', `/api/voice/${priv.voice_id}`);
      expect(got.json().voice).toMatchObject({ voice_name: 'Private one', is_public: false });
    });

    it('is for the owner only', async () => {
      for (const v of [priv, pub]) {
        const res = await api(t.app, stranger.access, 'PUT', `/api/voice/${v.voice_id}`, {
          voice_name: 'Mine now',
        });
        expect(res.statusCode).toBe(403);
      }
      const unknown = await api(t.app, owner.access, 'PUT', `/api/voice/${UNKNOWN}`, {
        voice_name: 'x',
      });
      expect(unknown.statusCode).toBe(404);
      const bad = await api(t.app, owner.access, 'PUT', '/api/voice/nope', { voice_name: 'x' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toBe('Invalid voice_id format');
    });
  });

  describe('delete', () => {
    it('removes the row, the audition clip (row and blob) and, through a job, the provider voice', async () => {
      const own = await uploadFixture(t.app, owner.access);
      const v = await readyVoice(t.app, owner.access, own, { voice_name: 'Doomed' });
      await api(t.app, owner.access, 'POST', `/api/voice/${v.voice_id}/shares`, {
        user_id: friend.userId,
      });
      const clip = await t.db.db
        .selectFrom('files')
        .select('storage_key')
        .where('id', '=', v.voice_audition_url)
        .executeTakeFirstOrThrow();
      expect(blobs.blobs.has(clip.storage_key)).toBe(true);
      expect(t.fake.voices.has(v.call_name)).toBe(true);

      const res = await api(t.app, owner.access, 'DELETE', `/api/voice/${v.voice_id}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        code: 200,
        message: 'delete voice success',
        voice_id: v.voice_id,
      });
      expect(
        await t.db.db.selectFrom('voices').where('id', '=', v.voice_id).select('id').execute(),
      ).toEqual([]);
      expect(
        await t.db.db
          .selectFrom('voice_shares')
          .where('voice_id', '=', v.voice_id)
          .select('user_id')
          .execute(),
      ).toEqual([]);
      expect(
        await t.db.db
          .selectFrom('files')
          .where('id', '=', v.voice_audition_url)
          .select('id')
          .execute(),
      ).toEqual([]);
      expect(blobs.blobs.has(clip.storage_key)).toBe(false);
      await until(() => !t.fake.voices.has(v.call_name), 5000, 'provider voice deleted');

      expect((await api(t.app, owner.access, 'GET', `/api/voice/${v.voice_id}`)).statusCode).toBe(
        404,
      );
      // The sample is free again.
      const delSample = await api(t.app, owner.access, 'DELETE', `/api/file/delete/${own}`);
      expect(delSample.statusCode, delSample.body).toBe(200);
    });

    it('retries a provider delete that fails twice until it succeeds', async () => {
      const v = await readyVoice(t.app, owner.access, sample);
      t.fake.fail('delete', 'unavailable', 2);
      const res = await api(t.app, owner.access, 'DELETE', `/api/voice/${v.voice_id}`);
      expect(res.statusCode).toBe(200);
      await until(() => !t.fake.voices.has(v.call_name), 5000, 'provider voice deleted');
      expect(t.fake.calls.delete).toBe(3);
    });

    it('is for the owner only', async () => {
      const before = await count(t, 'voices');
      for (const v of [priv, pub]) {
        const res = await api(t.app, stranger.access, 'DELETE', `/api/voice/${v.voice_id}`);
        expect(res.statusCode).toBe(403);
      }
      expect((await api(t.app, owner.access, 'DELETE', `/api/voice/${UNKNOWN}`)).statusCode).toBe(
        404,
      );
      expect(await count(t, 'voices')).toBe(before);
      expect(t.fake.calls.delete).toBe(0);
    });
  });

  describe('sharing', () => {
    it('makes a private voice usable by the named user until revoked', async () => {
      const v = await readyVoice(t.app, owner.access, sample, { voice_name: 'Shared later' });
      const seen = async () => {
        const lib = await api(t.app, friend.access, 'POST', '/api/voice/get_voices', {
          key_word: 'Shared later',
        });
        return lib.json().voices.length === 1;
      };
      expect(await seen()).toBe(false);
      expect((await audition(friend, v.voice_id)).statusCode).toBe(403);

      const share = await api(t.app, owner.access, 'POST', `/api/voice/${v.voice_id}/shares`, {
        user_id: friend.userId,
      });
      expect(share.statusCode, share.body).toBe(200);
      expect(share.json()).toEqual({
        code: 200,
        message: 'share voice success',
        share: { user_id: friend.userId, username: 'friend' },
      });
      // Sharing again is harmless.
      const again = await api(t.app, owner.access, 'POST', `/api/voice/${v.voice_id}/shares`, {
        identifier: friend.email.toUpperCase(),
        type: 'email',
      });
      expect(again.statusCode, again.body).toBe(200);
      const list = await api(t.app, owner.access, 'GET', `/api/voice/${v.voice_id}/shares`);
      expect(list.json()).toMatchObject({ code: 200, message: 'get shares success' });
      expect(list.json().shares).toEqual([
        { user_id: friend.userId, username: 'friend', created_at: expect.any(String) },
      ]);

      expect(await seen()).toBe(true);
      const ver = await api(t.app, friend.access, 'POST', '/api/voice/verify_voice', {
        voice_id: v.voice_id,
      });
      expect(ver.statusCode).toBe(200);
      expect((await api(t.app, friend.access, 'GET', `/api/voice/${v.voice_id}`)).statusCode).toBe(
        200,
      );
      expect((await audition(friend, v.voice_id)).statusCode).toBe(200);
      expect((await synth(friend, v.voice_id)).statusCode).toBe(200);
      // Someone else still cannot.
      expect((await synth(stranger, v.voice_id)).statusCode).toBe(403);
      // Sharing is not ownership.
      const put = await api(t.app, friend.access, 'PUT', `/api/voice/${v.voice_id}`, {
        voice_name: 'taken',
      });
      expect(put.statusCode).toBe(403);
      const reshare = await api(t.app, friend.access, 'POST', `/api/voice/${v.voice_id}/shares`, {
        user_id: stranger.userId,
      });
      expect(reshare.statusCode).toBe(403);

      const revoke = await api(
        t.app,
        owner.access,
        'DELETE',
        `/api/voice/${v.voice_id}/shares/${friend.userId}`,
      );
      expect(revoke.json()).toEqual({ code: 200, message: 'revoke share success' });
      expect(await seen()).toBe(false);
      const after = await api(t.app, friend.access, 'POST', '/api/voice/verify_voice', {
        voice_id: v.voice_id,
      });
      expect(after.statusCode).toBe(403);
      expect((await audition(friend, v.voice_id)).statusCode).toBe(403);
      expect((await synth(friend, v.voice_id)).statusCode).toBe(403);
      const twice = await api(
        t.app,
        owner.access,
        'DELETE',
        `/api/voice/${v.voice_id}/shares/${friend.userId}`,
      );
      expect(twice.statusCode).toBe(404);
    });

    it('refuses sharing with yourself, with nobody, or with an unknown user', async () => {
      const url = `/api/voice/${priv.voice_id}/shares`;
      const self = await api(t.app, owner.access, 'POST', url, { user_id: owner.userId });
      expect(self.statusCode).toBe(400);
      expect(self.json().message).toBe('You cannot share a voice with yourself');
      const none = await api(t.app, owner.access, 'POST', url, {});
      expect(none.statusCode).toBe(400);
      const unknown = await api(t.app, owner.access, 'POST', url, { user_id: UNKNOWN });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().message).toBe('User not found');
      const unknownMail = await api(t.app, owner.access, 'POST', url, {
        identifier: 'nobody@example.com',
        type: 'email',
      });
      expect(unknownMail.statusCode).toBe(404);
      expect(await count(t, 'voice_shares')).toBe(0);
    });
  });

  describe('audition', () => {
    it('streams the clip to the owner and to anyone for a public voice', async () => {
      const expected = Buffer.from(await t.fake.audio('mp3', 22050));
      for (const [who, v] of [
        [owner, priv],
        [stranger, pub],
      ] as const) {
        const res = await audition(who, v.voice_id);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^audio\/mpeg/);
        expect(res.rawPayload.equals(expected)).toBe(true);
      }
      const part = await audition(stranger, pub.voice_id, { range: 'bytes=0-9' });
      expect(part.statusCode).toBe(206);
      expect(part.rawPayload.equals(expected.subarray(0, 10))).toBe(true);
    });

    it('403 for a private voice of someone else, 404 unknown, 400 malformed', async () => {
      expect((await audition(stranger, priv.voice_id)).statusCode).toBe(403);
      expect((await audition(stranger, UNKNOWN)).statusCode).toBe(404);
      expect((await audition(stranger, 'x')).statusCode).toBe(400);
    });

    it('409 while the voice is still being made', async () => {
      t.fake.deployment = { kind: 'deploying', polls: 1000 };
      const res = await createVoice(t.app, owner.access, sample, {}, { query: '?async=1' });
      const id = res.json().voice_id;
      await until(() => t.fake.calls.create === 1);
      expect((await audition(owner, id)).statusCode).toBe(409);
      expect((await synth(owner, id)).statusCode).toBe(409);
      t.fake.finishDeploying();
      await waitForStatus(t.app, owner.access, id, 'ready');
    });
  });

  describe('synthesize', () => {
    it.each([
      [{ text: 'hello' }, 'audio/mpeg', 'mp3', 22050],
      [{ text: 'hello', format: 'wav', sample_rate: 16000 }, 'audio/wav', 'wav', 16000],
      [
        { text: 'hello', format: 'pcm', sample_rate: 8000 },
        'audio/L16; rate=8000; channels=1',
        'pcm',
        8000,
      ],
    ] as const)('%j → %s', async (body, type, format, rate) => {
      const res = await synth(stranger, pub.voice_id, { ...body });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.rawPayload.equals(Buffer.from(await t.fake.audio(format, rate)))).toBe(true);
    });

    it('passes the voice, text and prosody to the provider', async () => {
      await synth(owner, priv.voice_id, { text: '你好', rate: 1.5, pitch: 0.8, volume: 70 });
      expect(t.fake.synthesized.at(-1)).toMatchObject({
        voiceId: priv.call_name,
        targetModel: 'fake-model-v1',
        text: '你好',
        rate: 1.5,
        pitch: 0.8,
        volume: 70,
        format: 'mp3',
        sampleRate: 22050,
      });
    });

    it.each([
      [{}, 'Missing fields: text'],
      [{ text: '   ' }, 'Missing fields: text'],
      [{ text: 'hi', format: 'ogg' }, "format must be 'mp3', 'wav' or 'pcm'"],
      [{ text: 'hi', sample_rate: 12345 }, 'sample_rate must be one of'],
      [{ text: 'hi', rate: 3 }, 'rate must be a number from 0.5 to 2'],
      [{ text: 'hi', rate: '1' }, 'Invalid field: rate'],
      [{ text: 'hi', pitch: 0.1 }, 'pitch must be a number from 0.5 to 2'],
      [{ text: 'hi', volume: 101 }, 'volume must be a number from 0 to 100'],
    ])('%j → 400', async (body, message) => {
      const res = await synth(owner, priv.voice_id, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toContain(message);
      expect(t.fake.calls.synthesize).toBe(0);
    });

    it.each([
      ['request', 400],
      ['unavailable', 502],
      ['auth', 502],
      ['throttled', 503],
    ] as const)('a provider %s error → %i', async (kind, status) => {
      t.fake.fail('synthesize', kind, 1);
      const res = await synth(owner, priv.voice_id);
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ code: status, error_info: expect.any(String) });
      if (kind === 'throttled') expect(res.headers['retry-after']).toBe('1');
    });

    it('a provider that returns no audio → 502, not an empty 200', async () => {
      t.fake.emptySynthesis = 1;
      const res = await synth(owner, priv.voice_id);
      expect(res.statusCode).toBe(502);
      expect(res.json().code).toBe(502);
    });

    it('403 for a private voice of someone else; 404 unknown', async () => {
      expect((await synth(stranger, priv.voice_id)).statusCode).toBe(403);
      expect((await synth(stranger, UNKNOWN)).statusCode).toBe(404);
      expect(t.fake.calls.synthesize).toBe(0);
    });
  });

  describe('batch_create', () => {
    it('accepts the valid items and reports each one', async () => {
      const before = await count(t, 'voices');
      const res = await api(t.app, owner.access, 'POST', '/api/voice/batch_create', {
        voices: [
          {
            audio_file_id: sample,
            voice_name: 'Batch 1',
            voice_gender: 'male',
            voice_description: 'd',
          },
          { audio_file_id: sample, voice_name: 'Batch 2' },
          {
            audio_file_id: sample,
            voice_name: 'Batch 3',
            voice_gender: 'robot',
            voice_description: 'd',
          },
          {
            audio_file_id: UNKNOWN,
            voice_name: 'Batch 4',
            voice_gender: 'other',
            voice_description: 'd',
          },
          {
            audio_file_id: sample,
            voice_name: 'Batch 5',
            voice_gender: 'female',
            voice_description: 'd',
          },
        ],
      });
      expect(res.statusCode, res.body).toBe(202);
      const body = res.json();
      expect(body).toMatchObject({ code: 202, message: '2 of 5 voices accepted' });
      expect(body.results).toEqual([
        expect.objectContaining({ index: 0, code: 202, voice_id: expect.any(String) }),
        expect.objectContaining({
          index: 1,
          code: 400,
          message: 'Missing fields: voice_gender, voice_description',
        }),
        expect.objectContaining({
          index: 2,
          code: 400,
          message: "voice_gender must be one of 'male', 'female', or 'other'",
        }),
        expect.objectContaining({ index: 3, code: 404 }),
        expect.objectContaining({ index: 4, code: 202, voice_id: expect.any(String) }),
      ]);
      expect(await count(t, 'voices')).toBe(before + 2);
      for (const r of [body.results[0], body.results[4]]) {
        await waitForStatus(t.app, owner.access, r.voice_id, 'ready');
      }
    });

    it('answers 400 with the results when no item is valid, and writes nothing', async () => {
      const before = await count(t, 'voices');
      const res = await api(t.app, owner.access, 'POST', '/api/voice/batch_create', {
        voices: [
          { voice_name: 'x' },
          { audio_file_id: 'bad', voice_name: 'y', voice_gender: 'male', voice_description: 'd' },
        ],
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 400, message: 'No voice could be created' });
      expect(res.json().results.map((r: Json) => r.code)).toEqual([400, 400]);
      expect(await count(t, 'voices')).toBe(before);
      expect(t.fake.totalCalls).toBe(0);
    });

    it('rejects an empty batch and one over 20 items', async () => {
      for (const voices of [[], Array.from({ length: 21 }, () => ({}))]) {
        const res = await api(t.app, owner.access, 'POST', '/api/voice/batch_create', { voices });
        expect(res.statusCode).toBe(400);
      }
    });
  });

  describe('assess_sample', () => {
    it('judges a good sample usable, without asking the provider', async () => {
      const res = await api(t.app, owner.access, 'POST', '/api/voice/assess_sample', {
        audio_file_id: sample,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        code: 200,
        message: 'assess sample success',
        quality: { verdict: 'good', usable: true, advice: expect.any(Array) },
      });
      expect(res.json().quality.score).toBeGreaterThanOrEqual(60);
      expect(t.fake.totalCalls).toBe(0);
    });

    it('judges silence unusable, with advice', async () => {
      const silent = await uploadFixture(t.app, owner.access, 'bad/silence_10s.wav');
      const res = await api(t.app, owner.access, 'POST', '/api/voice/assess_sample', {
        audio_file_id: silent,
      });
      expect(res.json().quality).toMatchObject({ verdict: 'silent', usable: false });
      expect(res.json().quality.advice[0]).toMatch(/No sound was recorded/);
    });

    it('needs a file the caller may use', async () => {
      const none = await api(t.app, owner.access, 'POST', '/api/voice/assess_sample', {});
      expect(none.statusCode).toBe(400);
      expect(none.json().message).toBe('Missing fields: audio_file_id');
      const theirs = await api(t.app, stranger.access, 'POST', '/api/voice/assess_sample', {
        audio_file_id: sample,
      });
      expect(theirs.statusCode).toBe(403);
      const unknown = await api(t.app, stranger.access, 'POST', '/api/voice/assess_sample', {
        audio_file_id: UNKNOWN,
      });
      expect(unknown.statusCode).toBe(404);
    });
  });
});
