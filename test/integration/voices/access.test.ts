import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import {
  createVoice,
  readyVoice,
  until,
  uploadFixture,
  voiceApp,
  type VoiceTestApp,
} from './helpers.js';

const dialects = await testDialects();

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
/** Every endpoint that names a voice, with a body that would be valid for its owner. */
const endpoints = (id: string, userId: string): [string, Method, string, object?][] => [
  ['get', 'GET', `/api/voice/${id}`],
  ['update', 'PUT', `/api/voice/${id}`, { voice_name: 'hijacked' }],
  ['delete', 'DELETE', `/api/voice/${id}`],
  ['audition', 'GET', `/api/voice/${id}/audition`],
  ['synthesize', 'POST', `/api/voice/${id}/synthesize`, { text: 'hello' }],
  ['list shares', 'GET', `/api/voice/${id}/shares`],
  ['share', 'POST', `/api/voice/${id}/shares`, { user_id: userId }],
  ['revoke share', 'DELETE', `/api/voice/${id}/shares/${userId}`],
  ['verify_voice', 'POST', '/api/voice/verify_voice', { voice_id: id }],
];

describe.each(dialects)("another user's voice on %s", (dialect) => {
  let t: VoiceTestApp;
  let ownerId: string;
  let strangerToken: string;
  let strangerId: string;
  const ids: Record<'private' | 'processing' | 'failed', string> = {
    private: '',
    processing: '',
    failed: '',
  };

  beforeAll(async () => {
    t = await voiceApp(dialect);
    const owner = await registerUser(t.app, 'owner');
    const stranger = await registerUser(t.app, 'stranger');
    ownerId = owner.userId;
    strangerToken = stranger.access;
    strangerId = stranger.userId;
    const sample = await uploadFixture(t.app, owner.access);
    ids.private = (await readyVoice(t.app, owner.access, sample)).voice_id;
    t.fake.fail('create', 'sample');
    ids.failed = (
      await createVoice(t.app, owner.access, sample, { is_public: true })
    ).json().voice_id;
    t.fake.reset();
    t.fake.deployment = { kind: 'forever' };
    ids.processing = (
      await createVoice(t.app, owner.access, sample, { is_public: true }, { query: '?async=1' })
    ).json().voice_id;
    await until(() => t.fake.calls.create === 1);
    t.fake.reset();
  });
  afterAll(async () => {
    t.fake.finishDeploying();
    await t.close();
  });

  const expected: Record<keyof typeof ids, number> = {
    private: 403,
    processing: 404,
    failed: 404,
  };

  for (const kind of ['private', 'processing', 'failed'] as const) {
    it(`a ${kind} voice: every endpoint answers ${expected[kind]}, never 200 or 500`, async () => {
      const rows = endpoints(ids[kind], strangerId);
      const seen: Record<string, number> = {};
      for (const [name, method, url, payload] of rows) {
        const res = await t.app.inject({
          method,
          url,
          headers: bearer(strangerToken),
          ...(payload ? { payload } : {}),
        });
        seen[name] = res.statusCode;
        expect(res.json().code).toBe(res.statusCode);
      }
      expect(seen).toEqual(Object.fromEntries(rows.map(([name]) => [name, expected[kind]])));
      expect(t.fake.calls.synthesize + t.fake.calls.delete).toBe(0);
    });
  }

  it('without a token every endpoint answers 401', async () => {
    for (const [, method, url, payload] of endpoints(ids.private, ownerId)) {
      const res = await t.app.inject({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('nothing changed for the owner', async () => {
    const rows = await t.db.db
      .selectFrom('voices')
      .select(['id', 'voice_name'])
      .where('id', '=', ids.private)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.voice_name).not.toBe('hijacked');
    const shares = await t.db.db.selectFrom('voice_shares').selectAll().execute();
    expect(shares).toEqual([]);
  });
});
