import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';

const dialects = await testDialects();

describe.each(dialects)('API keys on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp(dialect, { RATE_LIMIT_PER_MIN: '100000' });
  });
  afterAll(async () => t.close());

  const create = (token: string, name: unknown) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/api_keys',
      headers: bearer(token),
      payload: { name } as object,
    });
  const me = (token: string) =>
    t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) });

  it('creates a tmb_ key shown once, stored only as a hash', async () => {
    const u = await registerUser(t.app);
    const r = await create(u.access, 'my app');
    expect(r.statusCode, r.body).toBe(201);
    const body = r.json();
    expect(Object.keys(body).sort()).toEqual([
      'code',
      'created_at',
      'id',
      'key',
      'message',
      'name',
    ]);
    expect(body.name).toBe('my app');
    expect(body.key).toMatch(/^tmb_[A-Za-z0-9_-]{40,}$/);
    const rows = await t.db.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', body.id)
      .execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).not.toContain(body.key.slice(12));
    expect(rows[0]!.key_hash).toMatch(/^[0-9a-f]{64}$/);

    const list = await t.app.inject({
      method: 'GET',
      url: '/api/auth/api_keys',
      headers: bearer(u.access),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().api_keys).toEqual([
      {
        id: body.id,
        name: 'my app',
        prefix: body.key.slice(0, 12),
        created_at: body.created_at,
        last_used_at: null,
      },
    ]);
    expect(list.body).not.toContain(body.key);
  });

  it('works wherever an access token does, and records its last use', async () => {
    const u = await registerUser(t.app);
    const key = (await create(u.access, 'cli')).json().key as string;
    const r = await me(key);
    expect(r.statusCode).toBe(200);
    expect(r.json().user.user_id).toBe(u.userId);
    const files = await t.app.inject({
      method: 'POST',
      url: '/api/file/list',
      headers: bearer(key),
      payload: {},
    });
    expect(files.statusCode).toBe(200);
    const voices = await t.app.inject({
      method: 'GET',
      url: '/api/voice/my_voices',
      headers: bearer(key),
    });
    expect(voices.statusCode).toBe(200);
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/auth/api_keys',
      headers: bearer(u.access),
    });
    expect(list.json().api_keys[0].last_used_at).toEqual(expect.any(String));
  });

  it('refuses unknown keys, and revokes at once', async () => {
    const u = await registerUser(t.app);
    const made = (await create(u.access, 'temp')).json();
    expect((await me(made.key)).statusCode).toBe(200);
    expect((await me(made.key.slice(0, -2) + 'xx')).statusCode).toBe(401);
    const stranger = await registerUser(t.app);
    const notTheirs = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/api_keys/${made.id}`,
      headers: bearer(stranger.access),
    });
    expect(notTheirs.statusCode).toBe(404);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/api_keys/${made.id}`,
      headers: bearer(u.access),
    });
    expect(del.statusCode).toBe(200);
    expect((await me(made.key)).statusCode).toBe(401);
  });

  it('a key cannot mint more keys (a leaked key stays revocable)', async () => {
    const u = await registerUser(t.app);
    const key = (await create(u.access, 'a')).json().key as string;
    expect((await create(key, 'b')).statusCode).toBe(403);
  });

  it('needs a name', async () => {
    const u = await registerUser(t.app);
    expect((await create(u.access, '  ')).statusCode).toBe(400);
  });
});
