import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import {
  api,
  createVoice,
  readyVoice,
  uploadFixture,
  voiceApp,
  waitForStatus,
  until,
  type Json,
  type VoiceTestApp,
} from './helpers.js';

const dialects = await testDialects();
type User = Awaited<ReturnType<typeof registerUser>>;

describe.each(dialects)('the voice library on %s', (dialect) => {
  let t: VoiceTestApp;
  let a: User;
  let b: User;
  let c: User;
  let d: User;
  /** Voices by name. */
  const v: Record<string, Json> = {};

  const list = async (who: User, body: Record<string, unknown> = {}) => {
    const res = await api(t.app, who.access, 'POST', '/api/voice/get_voices', body);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const names = (body: Json) => body.voices.map((x: Json) => x.voice_name);

  beforeAll(async () => {
    t = await voiceApp(dialect);
    a = await registerUser(t.app, 'alice');
    b = await registerUser(t.app, 'bob');
    c = await registerUser(t.app, 'carol');
    d = await registerUser(t.app, 'dave');
    const sa = await uploadFixture(t.app, a.access);
    const sb = await uploadFixture(t.app, b.access);
    const make = async (
      who: User,
      sample: string,
      voice_name: string,
      is_public: boolean,
      voice_gender = 'female',
    ) => {
      v[voice_name] = await readyVoice(t.app, who.access, sample, {
        voice_name,
        is_public,
        voice_gender,
      });
    };
    await make(a, sa, '100%', true);
    await make(a, sa, 'a_b', true, 'male');
    await make(a, sa, 'axb', true, 'other');
    await make(a, sa, 'Alice private', false);
    await make(b, sb, 'Bob public', true, 'male');
    await make(b, sb, 'Bob secret', false, 'male');
    await make(b, sb, 'Bob shared', false);
    const share = await api(
      t.app,
      b.access,
      'POST',
      `/api/voice/${v['Bob shared'].voice_id}/shares`,
      {
        user_id: a.userId,
      },
    );
    expect(share.statusCode, share.body).toBe(200);

    // A public voice of Bob's that failed, and one still being made.
    t.fake.fail('create', 'sample');
    const failed = await createVoice(t.app, b.access, sb, {
      voice_name: 'Bob failed',
      is_public: true,
    });
    expect(failed.statusCode).toBe(422);
    v['Bob failed'] = { voice_id: failed.json().voice_id };
    t.fake.reset();
    t.fake.deployment = { kind: 'forever' };
    const pending = await createVoice(
      t.app,
      b.access,
      sb,
      { voice_name: 'Bob pending', is_public: true },
      { query: '?async=1' },
    );
    expect(pending.statusCode).toBe(202);
    v['Bob pending'] = { voice_id: pending.json().voice_id };
    await until(() => [...t.fake.voices.values()].some((pv) => pv.pollsLeft === Infinity));
    t.fake.reset();
    await waitForStatus(t.app, b.access, pending.json().voice_id, 'processing');
  });
  afterAll(async () => {
    // Let the pending voice finish so no job is left running at close.
    t.fake.finishDeploying();
    await waitForStatus(t.app, b.access, v['Bob pending'].voice_id, 'ready').catch(() => {});
    await t.close();
  });

  describe('get_voices', () => {
    it('shows public ready voices, your own and those shared with you, oldest first', async () => {
      const body = await list(a);
      expect(body).toMatchObject({ code: 200, message: 'get voice success', has_next: false });
      expect(names(body)).toEqual([
        '100%',
        'a_b',
        'axb',
        'Alice private',
        'Bob public',
        'Bob shared',
      ]);
      const created = body.voices.map((x: Json) => x.created_at);
      expect([...created].sort()).toEqual(created);
    });

    it('marks whose voice it is and who made it', async () => {
      const body = await list(a);
      const byName = Object.fromEntries(body.voices.map((x: Json) => [x.voice_name, x]));
      expect(byName['100%']).toMatchObject({
        is_created_by_current_user: true,
        created_by_username: 'alice',
        created_by_user_id: a.userId,
        is_public: true,
      });
      expect(byName['Bob shared']).toMatchObject({
        is_created_by_current_user: false,
        created_by_username: 'bob',
        created_by_user_id: b.userId,
        is_public: false,
        status: 'ready',
      });
      for (const x of body.voices) {
        expect(Object.keys(x)).toEqual(
          expect.arrayContaining([
            'voice_id',
            'voice_name',
            'voice_gender',
            'voice_audition_url',
            'created_by_username',
            'created_by_user_id',
            'voice_description',
            'created_at',
            'is_public',
            'is_created_by_current_user',
          ]),
        );
      }
    });

    it("hides others' private, pending and failed voices, even public ones", async () => {
      expect(names(await list(c))).toEqual(['100%', 'a_b', 'axb', 'Bob public']);
    });

    it("shows the owner's pending and failed voices to the owner", async () => {
      const body = await list(b);
      expect(names(body)).toEqual(
        expect.arrayContaining(['Bob secret', 'Bob shared', 'Bob failed', 'Bob pending']),
      );
      const failed = body.voices.find((x: Json) => x.voice_name === 'Bob failed');
      expect(failed).toMatchObject({ status: 'failed', error_info: expect.any(String) });
    });

    it('matches key_word literally: % and _ are not wildcards', async () => {
      expect(names(await list(a, { key_word: '100%' }))).toEqual(['100%']);
      expect(names(await list(a, { key_word: '%' }))).toEqual(['100%']);
      expect(names(await list(a, { key_word: 'a_b' }))).toEqual(['a_b']);
      expect(names(await list(a, { key_word: '_' }))).toEqual(['a_b']);
      expect(names(await list(a, { key_word: 'x' }))).toEqual(['axb']);
      expect(names(await list(a, { key_word: '\\' }))).toEqual([]);
      expect(names(await list(a, { key_word: '  Bob ' }))).toEqual(['Bob public', 'Bob shared']);
    });

    it('matches key_word without regard to letter case on every database', async () => {
      expect(names(await list(a, { key_word: 'ALICE' }))).toEqual(['Alice private']);
      expect(names(await list(a, { key_word: 'bob P' }))).toEqual(['Bob public']);
    });

    it('answers no voice found with an empty list (not null)', async () => {
      const body = await list(a, { key_word: 'nothing like this' });
      expect(body).toEqual({ code: 200, message: 'no voice found', has_next: false, voices: [] });
    });

    it('filters by gender', async () => {
      expect(names(await list(a, { gender: 'male' }))).toEqual(['a_b', 'Bob public']);
      expect(names(await list(a, { gender: 'other' }))).toEqual(['axb']);
      expect(names(await list(a, { gender: 'all' }))).toHaveLength(6);
      const bad = await api(t.app, a.access, 'POST', '/api/voice/get_voices', { gender: 'robot' });
      expect(bad.statusCode).toBe(400);
    });

    it('filters to the caller’s own voices with created_by_current_user', async () => {
      expect(names(await list(a, { created_by_current_user: true }))).toEqual([
        '100%',
        'a_b',
        'axb',
        'Alice private',
      ]);
      expect(names(await list(a, { created_by_current_user: 'true' }))).toHaveLength(4);
      expect(names(await list(c, { created_by_current_user: true }))).toEqual([]);
    });

    it('pages with has_next', async () => {
      const p1 = await list(a, { page: 1, page_size: 4 });
      expect(names(p1)).toEqual(['100%', 'a_b', 'axb', 'Alice private']);
      expect(p1.has_next).toBe(true);
      const p2 = await list(a, { page: 2, page_size: 4 });
      expect(names(p2)).toEqual(['Bob public', 'Bob shared']);
      expect(p2.has_next).toBe(false);
      const exact = await list(a, { page: 2, page_size: 3 });
      expect(exact.has_next).toBe(false);
      const beyond = await list(a, { page: 9, page_size: 4 });
      expect(beyond).toMatchObject({ message: 'no voice found', voices: [], has_next: false });
    });

    it('falls back to the defaults for invalid page and page_size', async () => {
      for (const bad of [0, -1, 'x', 1.5, null, {}]) {
        const body = await list(a, { page: bad, page_size: bad });
        expect(names(body)).toHaveLength(6);
      }
      expect(names(await list(a, { page: '2', page_size: '4' }))).toEqual([
        'Bob public',
        'Bob shared',
      ]);
    });

    it('caps page_size at 100', async () => {
      const now = Date.now();
      const rows = Array.from({ length: 101 }, (_, i) => {
        const at = new Date(now + i).toISOString();
        return {
          id: uuidv7(),
          voice_name: `bulk ${String(i).padStart(3, '0')}`,
          voice_gender: 'male' as const,
          voice_description: '',
          is_public: 0,
          sample_file_id: uuidv7(),
          audition_file_id: null,
          call_name: null,
          provider: 'fake',
          target_model: 'fake-model-v1',
          status: 'ready' as const,
          error_info: null,
          error_status: null,
          quality: null,
          created_by: d.userId,
          created_at: at,
          updated_at: at,
        };
      });
      await t.db.db.insertInto('voices').values(rows).execute();
      const body = await list(d, { page_size: 1000, created_by_current_user: true });
      expect(body.voices).toHaveLength(100);
      expect(body.has_next).toBe(true);
      expect(body.voices[0].voice_name).toBe('bulk 000');
      const rest = await list(d, { page: 2, page_size: 100, created_by_current_user: true });
      expect(names(rest)).toEqual(['bulk 100']);
      expect(rest.has_next).toBe(false);
    });
  });

  describe('my_voices', () => {
    it("lists all the caller's voices newest first", async () => {
      const res = await api(t.app, b.access, 'GET', '/api/voice/my_voices');
      expect(res.json()).toMatchObject({ code: 200, message: 'get my voices success' });
      expect(names(res.json())).toEqual([
        'Bob pending',
        'Bob failed',
        'Bob shared',
        'Bob secret',
        'Bob public',
      ]);
    });

    it('answers no voice found with [] when there are none', async () => {
      const res = await api(t.app, c.access, 'GET', '/api/voice/my_voices');
      expect(res.json()).toEqual({ code: 200, message: 'no voice found', voices: [] });
    });
  });

  describe('verify_voice', () => {
    const verify = (who: User, voice_id: unknown) =>
      api(t.app, who.access, 'POST', '/api/voice/verify_voice', { voice_id });

    it('confirms access to a public voice of someone else', async () => {
      const res = await verify(c, v['Bob public'].voice_id);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        code: 200,
        message: 'voice verification success',
        can_access: true,
        voice: {
          voice_id: v['Bob public'].voice_id,
          voice_name: 'Bob public',
          created_by_username: 'bob',
          is_created_by_current_user: false,
        },
      });
    });

    it('confirms access to your own private voice and to one shared with you', async () => {
      const own = await verify(a, v['Alice private'].voice_id);
      expect(own.json()).toMatchObject({ voice: { is_created_by_current_user: true } });
      expect((await verify(a, v['Bob shared'].voice_id)).statusCode).toBe(200);
    });

    it('400 for a malformed id, 404 for an unknown one', async () => {
      for (const bad of ['nope', '', 42, null, undefined]) {
        const res = await verify(a, bad);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({ code: 400, message: 'Invalid voice_id format' });
      }
      const unknown = await verify(a, '01900000-0000-7000-8000-000000000000');
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ code: 404, message: 'Voice not found' });
    });

    it("403 for someone else's private voice", async () => {
      const res = await verify(c, v['Bob secret'].voice_id);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({
        code: 403,
        message: 'Permission denied: voice is not public and you are not the creator',
      });
    });
  });

  describe('pending and failed voices are their owner’s alone', () => {
    it.each(['Bob failed', 'Bob pending'])('%s: 404 to others, visible to the owner', async (n) => {
      const id = v[n].voice_id;
      const mine = await api(t.app, b.access, 'GET', `/api/voice/${id}`);
      expect(mine.statusCode).toBe(200);
      expect(mine.json().voice.status).toBe(n === 'Bob failed' ? 'failed' : 'processing');
      for (const who of [a, c]) {
        const got = await api(t.app, who.access, 'GET', `/api/voice/${id}`);
        expect(got.statusCode).toBe(404);
        const ver = await api(t.app, who.access, 'POST', '/api/voice/verify_voice', {
          voice_id: id,
        });
        expect(ver.statusCode).toBe(404);
        expect(ver.json().message).toBe('Voice not found');
      }
    });
  });
});
