import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { api, readyVoice, uploadFixture, voiceApp, type VoiceTestApp } from './helpers.js';

const dialects = await testDialects();

describe.each(dialects)('is_shared_with_current_user on %s', (dialect) => {
  let t: VoiceTestApp;
  let owner: Awaited<ReturnType<typeof registerUser>>;
  let friend: Awaited<ReturnType<typeof registerUser>>;
  let privateId: string;
  let publicId: string;

  beforeAll(async () => {
    t = await voiceApp(dialect);
    owner = await registerUser(t.app, 'sharer');
    friend = await registerUser(t.app, 'friend');
    const file = await uploadFixture(t.app, owner.access);
    privateId = (
      await readyVoice(t.app, owner.access, file, { voice_name: 'Secret', is_public: false })
    ).voice_id;
    publicId = (
      await readyVoice(t.app, owner.access, file, { voice_name: 'Open', is_public: true })
    ).voice_id;
    for (const id of [privateId, publicId]) {
      const r = await api(t.app, owner.access, 'POST', `/api/voice/${id}/shares`, {
        user_id: friend.userId,
      });
      expect(r.statusCode, r.body).toBe(200);
    }
  });
  afterAll(async () => t.close());

  const flags = async (token: string) => {
    const r = await api(t.app, token, 'POST', '/api/voice/get_voices', {});
    return Object.fromEntries(
      r
        .json()
        .voices.map((v: { voice_name: string; is_shared_with_current_user: boolean }) => [
          v.voice_name,
          v.is_shared_with_current_user,
        ]),
    );
  };

  it("marks voices shared with the viewer in get_voices, and never the owner's own", async () => {
    expect(await flags(friend.access)).toEqual({ Secret: true, Open: true });
    expect(await flags(owner.access)).toEqual({ Secret: false, Open: false });
  });

  it('marks a shared voice in GET /api/voice/<id> and verify_voice, and drops the mark on revoke', async () => {
    const one = await api(t.app, friend.access, 'GET', `/api/voice/${publicId}`);
    expect(one.json().voice.is_shared_with_current_user).toBe(true);
    const verify = await api(t.app, friend.access, 'POST', '/api/voice/verify_voice', {
      voice_id: privateId,
    });
    expect(verify.json().voice.is_shared_with_current_user).toBe(true);
    await api(t.app, owner.access, 'DELETE', `/api/voice/${publicId}/shares/${friend.userId}`);
    const after = await api(t.app, friend.access, 'GET', `/api/voice/${publicId}`);
    expect(after.json().voice.is_shared_with_current_user).toBe(false);
  });
});
