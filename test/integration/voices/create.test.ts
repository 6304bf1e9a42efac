import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerPrefix } from '../../../src/services/voice.service.js';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import {
  api,
  count,
  createVoice,
  fixtureBytes,
  GOOD_SAMPLE,
  uploadBytes,
  uploadFixture,
  voiceApp,
  waitForStatus,
  wavSlice,
  type VoiceTestApp,
} from './helpers.js';

const dialects = await testDialects();

describe.each(dialects)('create_voice on %s', (dialect) => {
  let t: VoiceTestApp;
  let owner: Awaited<ReturnType<typeof registerUser>>;
  let other: Awaited<ReturnType<typeof registerUser>>;
  let sample: string;

  beforeAll(async () => {
    t = await voiceApp(dialect);
    owner = await registerUser(t.app, 'creator');
    other = await registerUser(t.app, 'stranger');
    sample = await uploadFixture(t.app, owner.access);
  });
  afterAll(async () => t.close());

  /** Rows and provider calls, to show a refused request wrote nothing. */
  const snapshot = async () => ({
    voices: await count(t, 'voices'),
    files: await count(t, 'files'),
    jobs: await count(t, 'jobs'),
    providerCalls: t.fake.totalCalls,
    providerVoices: t.fake.voices.size,
  });

  it('creates a voice and answers with the original 200 envelope', async () => {
    const res = await createVoice(t.app, owner.access, sample, {
      voice_name: 'Alice',
      voice_gender: 'female',
      voice_description: 'warm and calm',
      is_public: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      code: 200,
      message: 'create voice success',
      voice: {
        voice_name: 'Alice',
        voice_gender: 'female',
        voice_description: 'warm and calm',
        is_public: true,
        created_by_user_id: owner.userId,
        status: 'ready',
        provider: 'fake',
        target_model: 'fake-model-v1',
      },
    });
    const v = body.voice;
    expect(v.voice_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(v.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(v.call_name).toEqual(expect.any(String));
    expect(body.dashscope_voice_id).toBe(v.call_name);
    expect(v.voice_audition_url).toMatch(/^[0-9a-f-]{36}$/);
    expect(v.quality).toMatchObject({ verdict: 'good' });

    // The provider was asked once, with the voice's prefix and a signed link to the sample.
    const call = t.fake.created.at(-1)!;
    expect(call.prefix).toBe(providerPrefix(owner.userId, v.voice_id));
    expect(call.targetModel).toBe('fake-model-v1');
    expect(t.fake.liveIds()).toContain(v.call_name);
    const link = new URL(call.sampleUrl);
    expect(link.pathname).toBe(`/api/temfile/download/${sample}`);
    const fetched = await t.app.inject({ method: 'GET', url: link.pathname + link.search });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.rawPayload.equals(fixtureBytes(GOOD_SAMPLE))).toBe(true);
  });

  it('stores the audition clip as a private audition.mp3 of the creator', async () => {
    const res = await createVoice(t.app, owner.access, sample, { voice_name: 'Bob' });
    const v = res.json().voice;
    const row = await t.db.db
      .selectFrom('files')
      .selectAll()
      .where('id', '=', v.voice_audition_url)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      owner_id: owner.userId,
      is_public: 0,
      file_name: 'audition.mp3',
      mime_type: 'audio/mpeg',
      description: 'Voice audition for Bob',
    });
    const mine = await api(t.app, owner.access, 'GET', `/api/file/download/${row.id}`);
    expect(mine.statusCode).toBe(200);
    expect(mine.headers['content-type']).toMatch(/^audio\/mpeg/);
    expect(mine.rawPayload.equals(Buffer.from(await t.fake.audio('mp3', 22050)))).toBe(true);
    const theirs = await api(t.app, other.access, 'GET', `/api/file/download/${row.id}`);
    expect(theirs.statusCode).toBe(403);
  });

  it('lists the new voice as ready in get_voices and my_voices', async () => {
    const v = (await createVoice(t.app, owner.access, sample, { voice_name: 'Listed' })).json()
      .voice;
    const lib = await api(t.app, owner.access, 'POST', '/api/voice/get_voices', {
      key_word: 'Listed',
    });
    expect(lib.json()).toMatchObject({ code: 200, message: 'get voice success', has_next: false });
    expect(lib.json().voices).toEqual([
      expect.objectContaining({ voice_id: v.voice_id, status: 'ready' }),
    ]);
    const mine = await api(t.app, owner.access, 'GET', '/api/voice/my_voices');
    expect(mine.json().voices[0]).toMatchObject({ voice_id: v.voice_id, status: 'ready' });
  });

  it('refuses to delete a sample that a voice uses, naming the voice', async () => {
    const own = await uploadFixture(t.app, owner.access);
    await createVoice(t.app, owner.access, own, { voice_name: 'Keeper' });
    const del = await api(t.app, owner.access, 'DELETE', `/api/file/delete/${own}`);
    expect(del.statusCode).toBe(409);
    expect(del.json().message).toBe("The file is used by voice 'Keeper'");
    expect(
      await t.db.db.selectFrom('files').where('id', '=', own).select('id').execute(),
    ).toHaveLength(1);
  });

  it('reads is_public "false" as false and "true" as true (the original bug)', async () => {
    const f = await createVoice(t.app, owner.access, sample, { is_public: 'false' });
    expect(f.statusCode).toBe(200);
    expect(f.json().voice.is_public).toBe(false);
    const tr = await createVoice(t.app, owner.access, sample, { is_public: 'true' });
    expect(tr.json().voice.is_public).toBe(true);
    const dflt = await createVoice(t.app, owner.access, sample, { is_public: undefined });
    expect(dflt.json().voice.is_public).toBe(false);
    const row = await t.db.db
      .selectFrom('voices')
      .select('is_public')
      .where('id', '=', f.json().voice.voice_id)
      .executeTakeFirstOrThrow();
    expect(row.is_public).toBe(0);
  });

  it('may clone from a public file of someone else, attesting consent', async () => {
    const pub = await uploadFixture(t.app, other.access, GOOD_SAMPLE, { is_public: 'true' });
    const res = await createVoice(t.app, owner.access, pub, { consent: true });
    expect(res.statusCode, res.body).toBe(200);
  });

  describe('validation writes nothing', () => {
    const cases: [string, () => Record<string, unknown>, number, string][] = [
      [
        'all fields missing',
        () => ({
          audio_file_id: undefined,
          voice_name: undefined,
          voice_gender: undefined,
          voice_description: undefined,
        }),
        400,
        'Missing fields: audio_file_id, voice_name, voice_gender, voice_description',
      ],
      [
        'blank name and description',
        () => ({ voice_name: '   ', voice_description: '' }),
        400,
        'Missing fields: voice_name, voice_description',
      ],
      ['null gender', () => ({ voice_gender: null }), 400, 'Missing fields: voice_gender'],
      [
        'bad gender',
        () => ({ voice_gender: 'robot' }),
        400,
        "voice_gender must be one of 'male', 'female', or 'other'",
      ],
      [
        'name over 50 characters',
        () => ({ voice_name: '声'.repeat(51) }),
        400,
        'voice_name must be at most 50 characters',
      ],
      ['non-string name', () => ({ voice_name: 42 }), 400, 'Invalid field: voice_name'],
      ['bad is_public', () => ({ is_public: 'yes' }), 400, 'Invalid field: is_public'],
      [
        'malformed file id',
        () => ({ audio_file_id: 'not-a-uuid' }),
        400,
        'Invalid audio_file_id format',
      ],
      [
        'unknown file',
        () => ({ audio_file_id: '01900000-0000-7000-8000-000000000000' }),
        404,
        'Audio file not found',
      ],
    ];
    it.each(cases)('%s', async (_name, over, status, message) => {
      const before = await snapshot();
      const res = await createVoice(t.app, owner.access, sample, over());
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json()).toMatchObject({ code: status, message });
      expect(await snapshot()).toEqual(before);
    });

    it('accepts a name of exactly 50 characters', async () => {
      const res = await createVoice(t.app, owner.access, sample, { voice_name: '声'.repeat(50) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().voice.voice_name).toBe('声'.repeat(50));
    });

    it("someone else's private file → 403", async () => {
      const before = await snapshot();
      const res = await createVoice(t.app, other.access, sample);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe(403);
      expect(await snapshot()).toEqual(before);
    });

    it('an image file → 415', async () => {
      const img = await uploadFixture(t.app, owner.access, 'images/sample_256x256.png');
      const before = await snapshot();
      const res = await createVoice(t.app, owner.access, img);
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ code: 415, message: 'The file is not audio' });
      expect(await snapshot()).toEqual(before);
    });

    const bad: [string, () => Buffer, string][] = [
      ['silence', () => fixtureBytes('bad/silence_10s.wav'), 'No sound was recorded'],
      ['white noise', () => fixtureBytes('bad/white_noise_10s.wav'), 'quieter place'],
      ['a tone sweep', () => fixtureBytes('bad/tone_sweep_10s.wav'), 'not a voice'],
      [
        'two seconds of speech',
        () => wavSlice('speech/spk01_m_en_librivox_16k_mono.wav', 2),
        'at least 10 seconds',
      ],
    ];
    it.each(bad)(
      'a sample of %s → 422 with advice, no row, no provider call',
      async (_n, bytes, advice) => {
        const up = await uploadBytes(t.app, owner.access, 'sample.wav', bytes(), {
          is_public: 'false',
        });
        expect(up.statusCode, up.body).toBe(201);
        const before = await snapshot();
        const res = await createVoice(t.app, owner.access, up.json().file_id);
        expect(res.statusCode, res.body).toBe(422);
        const body = res.json();
        expect(body).toMatchObject({
          code: 422,
          message: 'The audio sample is not usable for cloning',
        });
        expect(body.error_info).toContain(advice);
        expect(body.quality.advice.length).toBeGreaterThan(0);
        expect(await snapshot()).toEqual(before);
      },
    );
  });

  describe('asynchronous creation', () => {
    it('?async=1 answers 202 with voice_id and status, then the voice becomes ready', async () => {
      const res = await createVoice(t.app, owner.access, sample, {}, { query: '?async=1' });
      expect(res.statusCode, res.body).toBe(202);
      const body = res.json();
      expect(body).toMatchObject({ code: 202, message: 'create voice accepted' });
      expect(['pending', 'processing']).toContain(body.status);
      expect(res.headers.location).toBe(`/api/voice/${body.voice_id}`);
      const v = await waitForStatus(t.app, owner.access, body.voice_id, 'ready');
      expect(v.voice_audition_url).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('Prefer: respond-async answers 202 as well', async () => {
      const res = await createVoice(
        t.app,
        owner.access,
        sample,
        {},
        { headers: { prefer: 'respond-async, wait=5' } },
      );
      expect(res.statusCode).toBe(202);
      await waitForStatus(t.app, owner.access, res.json().voice_id, 'ready');
    });

    it('a voice still being made hides its audition and cannot be deleted', async () => {
      t.fake.deployment = { kind: 'deploying', polls: 15 };
      try {
        const res = await createVoice(t.app, owner.access, sample, {}, { query: '?async=1' });
        const id = res.json().voice_id;
        const got = await api(t.app, owner.access, 'GET', `/api/voice/${id}`);
        expect(got.json().voice).toMatchObject({ voice_audition_url: null });
        expect(['pending', 'processing']).toContain(got.json().voice.status);
        const del = await api(t.app, owner.access, 'DELETE', `/api/voice/${id}`);
        expect(del.statusCode).toBe(409);
        await waitForStatus(t.app, owner.access, id, 'ready');
      } finally {
        t.fake.reset();
      }
    });
  });
});

describe.each(dialects)('create_voice whose wait runs out on %s', (dialect) => {
  let t: VoiceTestApp;
  beforeAll(async () => {
    t = await voiceApp(dialect, { CREATE_VOICE_WAIT_SEC: '0' });
  });
  afterAll(async () => t.close());

  it('a synchronous caller gets 202 and the voice still becomes ready', async () => {
    const u = await registerUser(t.app);
    const sample = await uploadFixture(t.app, u.access);
    t.fake.deployment = { kind: 'deploying', polls: 3 };
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/voice/create_voice',
      headers: bearer(u.access),
      payload: {
        audio_file_id: sample,
        voice_name: 'Slow',
        voice_gender: 'male',
        voice_description: 'takes a while',
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ code: 202, status: expect.any(String) });
    const v = await waitForStatus(t.app, u.access, res.json().voice_id, 'ready');
    expect(v.call_name).toEqual(expect.any(String));
    expect(t.fake.calls.get).toBeGreaterThanOrEqual(3);
  });
});
