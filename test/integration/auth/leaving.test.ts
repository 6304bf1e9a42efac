import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import {
  api,
  readyVoice,
  until,
  uploadFixture,
  voiceApp,
  type VoiceTestApp,
} from '../voices/helpers.js';

const dialects = await testDialects();

/** Every stored blob under the storage folder (recursively). */
function blobs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

describe.each(dialects)('deleting an account on %s', (dialect) => {
  let t: VoiceTestApp;
  beforeAll(async () => {
    t = await voiceApp(dialect);
  }, 60_000);
  afterAll(async () => t.close());

  const rows = async (
    table: 'sessions' | 'api_keys' | 'files' | 'voices' | 'voice_shares' | 'captchas',
    col: string,
    id: string,
  ) =>
    Number(
      (
        await t.db.db
          .selectFrom(table)
          // any: the column is chosen per table by the caller
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          .where(col as any, '=', id)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('needs the password: a wrong one deletes nothing', async () => {
    const u = await registerUser(t.app);
    const r = await t.app.inject({
      method: 'DELETE',
      url: '/api/auth/me',
      headers: bearer(u.access),
      payload: { password: 'not-it-at-all' },
    });
    expect(r.statusCode).toBe(401);
    expect((await api(t.app, u.access, 'GET', '/api/auth/me')).statusCode).toBe(200);
  });

  it('deletes the account with its files, voices, shares, sessions and keys; leaves nothing behind', async () => {
    const alice = await registerUser(t.app, 'alice');
    const bob = await registerUser(t.app, 'bob');
    const blobsBefore = blobs(t.config.storage.dir).length;
    const key = (await api(t.app, alice.access, 'POST', '/api/auth/api_keys', { name: 'k' })).json()
      .key as string;
    const file = await uploadFixture(t.app, alice.access, undefined, { is_public: 'true' });
    const voice = await readyVoice(t.app, alice.access, file);
    expect(
      (
        await api(t.app, alice.access, 'POST', `/api/voice/${voice.voice_id}/shares`, {
          user_id: bob.userId,
        })
      ).statusCode,
    ).toBeLessThan(300);
    // Bob cloned her public recording, and shared one of his with her.
    const clone = await readyVoice(t.app, bob.access, file, { consent: true });
    const bobFile = await uploadFixture(t.app, bob.access);
    const bobVoice = await readyVoice(t.app, bob.access, bobFile);
    await api(t.app, bob.access, 'POST', `/api/voice/${bobVoice.voice_id}/shares`, {
      user_id: alice.userId,
    });
    expect(blobs(t.config.storage.dir).length).toBeGreaterThan(blobsBefore);

    const r = await t.app.inject({
      method: 'DELETE',
      url: '/api/auth/me',
      headers: bearer(alice.access),
      payload: { password: 'secret123' },
    });
    expect(r.statusCode, r.body).toBe(200);

    // Tokens and keys stop at once.
    expect((await api(t.app, alice.access, 'GET', '/api/auth/me')).statusCode).toBe(401);
    expect((await api(t.app, key, 'GET', '/api/auth/me')).statusCode).toBe(401);
    expect((await api(t.app, alice.access, 'POST', '/api/file/list', {})).statusCode).toBe(401);
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      headers: bearer(alice.refresh),
    });
    expect(refresh.statusCode).toBe(401);

    // Nothing of hers stays.
    expect(
      await t.db.db.selectFrom('users').selectAll().where('id', '=', alice.userId).execute(),
    ).toEqual([]);
    expect(await rows('sessions', 'user_id', alice.userId)).toBe(0);
    expect(await rows('api_keys', 'user_id', alice.userId)).toBe(0);
    expect(await rows('files', 'owner_id', alice.userId)).toBe(0);
    expect(await rows('voices', 'created_by', alice.userId)).toBe(0);
    expect(await rows('voice_shares', 'user_id', alice.userId)).toBe(0);
    expect(await rows('voice_shares', 'voice_id', voice.voice_id)).toBe(0);
    expect(await rows('captchas', 'identifier', alice.email)).toBe(0);
    // Her provider voice is deleted through the job; Bob's clone of her recording is withdrawn.
    await until(() => !t.fake.voices.has(voice.call_name), 8000, 'her provider voice deleted');
    await until(
      () => !t.fake.voices.has(clone.call_name),
      8000,
      'the clone’s provider voice deleted',
    );
    const seen = await api(t.app, bob.access, 'GET', `/api/voice/${clone.voice_id}`);
    expect(seen.json().voice.status).toBe('revoked');
    // Bob's own voice is untouched, and only his blobs remain.
    expect(
      (await api(t.app, bob.access, 'GET', `/api/voice/${bobVoice.voice_id}`)).json().voice.status,
    ).toBe('ready');
    const left = await t.db.db.selectFrom('files').select('storage_key').execute();
    expect(blobs(t.config.storage.dir).length).toBe(left.length);
  });
});
