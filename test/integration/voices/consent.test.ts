import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import {
  api,
  createVoice,
  readyVoice,
  until,
  uploadFixture,
  voiceApp,
  type Json,
  type VoiceTestApp,
} from './helpers.js';

const dialects = await testDialects();

describe.each(dialects)('a recording belongs to its uploader, on %s', (dialect) => {
  let t: VoiceTestApp;
  beforeAll(async () => {
    t = await voiceApp(dialect);
  }, 60_000);
  afterAll(async () => t.close());

  const publicSample = async (token: string) =>
    uploadFixture(t.app, token, undefined, { is_public: 'true' });

  it('cloning someone else’s recording without consent is 403 with a reason, and writes nothing', async () => {
    const alice = await registerUser(t.app, 'alice');
    const bob = await registerUser(t.app, 'bob');
    const file = await publicSample(alice.access);
    const r = await createVoice(t.app, bob.access, file);
    expect(r.statusCode).toBe(403);
    expect(r.json().error_info).toMatch(/consent/);
    const batch = await api(t.app, bob.access, 'POST', '/api/voice/batch_create', {
      voices: [
        { audio_file_id: file, voice_name: 'b', voice_gender: 'male', voice_description: 'd' },
      ],
    });
    expect(batch.json().results[0].code).toBe(403);
    const mine = await api(t.app, bob.access, 'GET', '/api/voice/my_voices');
    expect(mine.json().voices ?? mine.json().data ?? []).toHaveLength(0);
  });

  it('with consent the clone is made and the attestation kept: the owner sees who, when and what', async () => {
    const alice = await registerUser(t.app, 'alice');
    const bob = await registerUser(t.app, 'bob');
    const file = await publicSample(alice.access);
    const own = await readyVoice(t.app, alice.access, file); // her own needs no attestation
    const v = await readyVoice(t.app, bob.access, file, { consent: true });
    const list = await api(t.app, alice.access, 'GET', `/api/file/${file}/voices`);
    expect(list.statusCode).toBe(200);
    const voices = list.json().voices as Json[];
    expect(voices.map((x) => x.voice_id).sort()).toEqual([own.voice_id, v.voice_id].sort());
    const bobs = voices.find((x) => x.voice_id === v.voice_id);
    expect(bobs).toMatchObject({
      created_by_user_id: bob.userId,
      created_by_username: 'bob',
      status: 'ready',
      consent: { attested_at: expect.any(String), statement: expect.stringMatching(/agreed/) },
    });
    expect(voices.find((x) => x.voice_id === own.voice_id).consent).toBeNull();
    // Anyone else, the cloner included: 404.
    expect((await api(t.app, bob.access, 'GET', `/api/file/${file}/voices`)).statusCode).toBe(404);
  });

  it('making the recording private withdraws others’ clones; her own keep working', async () => {
    const alice = await registerUser(t.app, 'alice');
    const bob = await registerUser(t.app, 'bob');
    const file = await publicSample(alice.access);
    const own = await readyVoice(t.app, alice.access, file);
    const clone = await readyVoice(t.app, bob.access, file, { consent: true });
    const providerId = clone.call_name as string;
    expect(t.fake.voices.has(providerId)).toBe(true);

    const upd = await api(t.app, alice.access, 'PUT', `/api/file/update/${file}`, {
      is_public: false,
    });
    expect(upd.statusCode, upd.body).toBe(200);

    const seen = await api(t.app, bob.access, 'GET', `/api/voice/${clone.voice_id}`);
    expect(seen.json().voice.status).toBe('revoked');
    expect(seen.json().voice.error_info).toMatch(/withdrawn.*private/);
    const speak = await api(t.app, bob.access, 'POST', `/api/voice/${clone.voice_id}/synthesize`, {
      text: 'hello',
    });
    expect(speak.statusCode).toBeGreaterThanOrEqual(400);
    expect(speak.statusCode).toBeLessThan(500);
    await until(() => !t.fake.voices.has(providerId), 8000, 'provider voice deleted');

    const mine = await api(t.app, alice.access, 'GET', `/api/voice/${own.voice_id}`);
    expect(mine.json().voice.status).toBe('ready');
    const ownSpeak = await api(
      t.app,
      alice.access,
      'POST',
      `/api/voice/${own.voice_id}/synthesize`,
      {
        text: 'hello',
      },
    );
    expect(ownSpeak.statusCode).toBe(200);
  });

  it('the owner can delete her recording even when others cloned it: no 409 naming their voice', async () => {
    const alice = await registerUser(t.app, 'alice');
    const bob = await registerUser(t.app, 'bob');
    const file = await publicSample(alice.access);
    const clone = await readyVoice(t.app, bob.access, file, { consent: true });
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/file/delete/${file}`,
      headers: bearer(alice.access),
    });
    expect(del.statusCode, del.body).toBe(200);
    expect(del.body).not.toContain(clone.voice_id);
    const seen = await api(t.app, bob.access, 'GET', `/api/voice/${clone.voice_id}`);
    expect(seen.json().voice.status).toBe('revoked');
    expect(seen.json().voice.error_info).toMatch(/withdrawn.*deleted/);
    await until(() => !t.fake.voices.has(clone.call_name), 8000, 'provider voice deleted');
  });
});
