import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { tokenKeyring } from '../../../src/services/keys.js';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';

const dialects = await testDialects();

describe.each(dialects)('auth on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp(dialect, { CAPTCHA_ECHO: 'true' });
  });
  afterAll(async () => t.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload: payload as object, headers });
  const userCount = async () =>
    Number(
      (
        await t.db.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('registers an e-mail user and logs in with the original envelope', async () => {
    const reg = await post('/api/auth/register', {
      username: 'alice',
      identifier: 'Alice@Example.com',
      type: 'email',
      password: 'secret123',
      code: '',
    });
    expect(reg.statusCode).toBe(201);
    const body = reg.json();
    expect(body).toMatchObject({ code: 201, message: 'create user success' });
    expect(body.user_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);

    const login = await post('/api/auth/login', {
      identifier: 'alice@example.com',
      type: 'email',
      password: 'secret123',
    });
    expect(login.statusCode).toBe(200);
    expect(login.json()).toMatchObject({
      code: 200,
      message: 'user login success',
      user_id: body.user_id,
      username: 'alice',
      avatar_url: null,
      phone: null,
      email: 'alice@example.com',
    });
    expect(login.json().access_token).toEqual(expect.any(String));
    expect(login.json().refresh_token).toEqual(expect.any(String));
  });

  it('registers a phone user with an 18-character Chinese username', async () => {
    const name = '声'.repeat(18);
    const reg = await post('/api/auth/register', {
      username: name,
      identifier: '13800138000',
      type: 'phone',
      password: 'secret123',
    });
    expect(reg.statusCode).toBe(201);
    const me = await post('/api/auth/login', {
      identifier: '13800138000',
      type: 'phone',
      password: 'secret123',
    });
    expect(me.json().username).toBe(name);
    expect(me.json().phone).toBe('13800138000');
  });

  it('rejects a duplicate identifier with 400 and writes no second row', async () => {
    const before = await userCount();
    const dup = await post('/api/auth/register', {
      username: 'other',
      identifier: 'alice@example.com',
      type: 'email',
      password: 'secret123',
    });
    expect(dup.statusCode).toBe(400);
    expect(dup.json()).toMatchObject({ code: 400, message: 'user already exists' });
    expect(await userCount()).toBe(before);
  });

  it.each([
    [
      {
        username: 'x'.repeat(19),
        identifier: 'a1@example.com',
        type: 'email',
        password: 'secret123',
      },
      'username must be at most 18 characters',
    ],
    [
      { username: 'bob', identifier: 'not-an-email', type: 'email', password: 'secret123' },
      'identifier is not a valid email address',
    ],
    [
      { username: 'bob', identifier: 'bob@example.com', type: 'phone', password: 'secret123' },
      'identifier is not a valid phone number',
    ],
    [
      { username: 'bob', identifier: '12800138000', type: 'phone', password: 'secret123' },
      'identifier is not a valid phone number',
    ],
    [
      { username: 'bob', identifier: 'bob@example.com', type: 'fax', password: 'secret123' },
      "type must be 'phone' or 'email'",
    ],
    [
      { username: '   ', identifier: 'bob@example.com', type: 'email', password: 'secret123' },
      'Missing fields: username',
    ],
    [
      { username: 'bob', identifier: 'bob@example.com', type: 'email', password: '123' },
      'password must be at least 6 characters',
    ],
    [{ identifier: 'bob@example.com', type: 'email' }, 'Missing fields: username'],
    [
      { username: 42, identifier: 'bob@example.com', type: 'email', password: 'secret123' },
      'Invalid field: username',
    ],
    [
      { username: 'bob', identifier: ['x'], type: 'email', password: 'secret123' },
      'Invalid field: identifier',
    ],
  ])('rejects bad registration %j with 400 "%s" and stores nothing', async (payload, message) => {
    const before = await userCount();
    const res = await post('/api/auth/register', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 400, message });
    expect(await userCount()).toBe(before);
  });

  it('answers a wrong password and an unknown user with the same 401', async () => {
    const wrong = await post('/api/auth/login', {
      identifier: 'alice@example.com',
      type: 'email',
      password: 'nope-nope',
    });
    const unknown = await post('/api/auth/login', {
      identifier: 'ghost@example.com',
      type: 'email',
      password: 'nope-nope',
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json()).toMatchObject({
      code: 401,
      message: 'user login fail',
      error_info: expect.any(String),
    });
  });

  it('verifies a $2b$ hash written by the original (pyca/bcrypt)', async () => {
    const now = new Date().toISOString();
    await t.db.db
      .insertInto('users')
      .values({
        id: '0190f0e0-0000-7000-8000-000000000001',
        username: 'legacy',
        phone: null,
        email: 'legacy@example.com',
        password_hash: '$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm',
        avatar_url: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const res = await post('/api/auth/login', {
      identifier: 'legacy@example.com',
      type: 'email',
      password: 'Kk4DQuMMfZL9o',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().user_id).toBe('0190f0e0-0000-7000-8000-000000000001');
  });

  it('refreshes with a refresh token and refuses an access token there', async () => {
    const u = await registerUser(t.app);
    const ok = await post('/api/auth/refresh', {}, bearer(u.refresh));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ code: 200, message: 'token refreshed' });
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: bearer(ok.json().access_token),
    });
    expect(me.json().user.user_id).toBe(u.userId);

    const wrongType = await post('/api/auth/refresh', {}, bearer(u.access));
    expect(wrongType.statusCode).toBe(401);
    expect(wrongType.json()).toMatchObject({ code: 401, msg: 'Only refresh tokens are allowed' });
  });

  it('never accepts a refresh token as an access token', async () => {
    const u = await registerUser(t.app);
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: bearer(u.refresh),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 401, msg: 'Only non-refresh tokens are allowed' });
  });

  it.each([
    ['absent', undefined, 'Missing Authorization Header'],
    ['not bearer', 'Basic abc', "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"],
    ['malformed', 'Bearer not.a.jwt', 'Invalid token'],
  ])('answers an %s token with 401 and the original msg', async (_label, header, msg) => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: header ? { authorization: header } : {},
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ code: 401, message: msg, msg });
  });

  it('rejects a tampered token and one signed with another key', async () => {
    const u = await registerUser(t.app);
    const [h, p, s] = u.access.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`;
    const r1 = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(forged) });
    expect(r1.statusCode).toBe(401);
    expect(r1.json().msg).toBe('Signature verification failed');

    const foreign = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(u.userId)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-another-secret-0123456789'));
    const r2 = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(foreign) });
    expect(r2.statusCode).toBe(401);
  });

  it('rejects an expired access token with "Token has expired"', async () => {
    const u = await registerUser(t.app);
    // Signed with the installation's token key (derived from the secret), but expired.
    const [signing] = tokenKeyring(t.config.jwt.secret);
    const expired = await new SignJWT({ type: 'access', sid: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: signing!.kid })
      .setSubject(u.userId)
      .setJti('j')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 1200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
      .sign(signing!.key);
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: bearer(expired),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 401, msg: 'Token has expired' });
  });

  it('issues single-use captcha codes and tells first use from known identifiers', async () => {
    const first = await post('/api/auth/send_captcha', {
      identifier: 'newbie@example.com',
      type: 'email',
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      code: 200,
      message: 'email first use',
      is_first_use: true,
    });
    expect(first.json().captcha).toMatch(/^\d{6}$/);

    const known = await post('/api/auth/send_captcha', {
      identifier: 'alice@example.com',
      type: 'email',
    });
    expect(known.statusCode).toBe(200);
    expect(known.json()).toMatchObject({ code: 204, is_first_use: false });
    const code = known.json().captcha as string;

    const wrong = await post('/api/auth/login', {
      identifier: 'alice@example.com',
      type: 'email',
      code: code === '000000' ? '111111' : '000000',
    });
    expect(wrong.statusCode).toBe(401);
    const ok = await post('/api/auth/login', {
      identifier: 'alice@example.com',
      type: 'email',
      code,
    });
    expect(ok.statusCode).toBe(200);
    const again = await post('/api/auth/login', {
      identifier: 'alice@example.com',
      type: 'email',
      code,
    });
    expect(again.statusCode).toBe(401);
  });
});

describe('auth envelope and limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp('sqlite');
  });
  afterAll(async () => t.close());

  it('keeps captcha codes out of responses unless dev echo is on', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/send_captcha',
      payload: { identifier: '13900139000', type: 'phone' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ code: 200, message: 'phone first use', is_first_use: true });
  });

  it('rejects an expired captcha code', async () => {
    const late = await makeApp('sqlite', { CAPTCHA_ECHO: 'true', CAPTCHA_TTL_SEC: '1' });
    try {
      await registerUser(late.app, 'late');
      const row = await late.db.db.selectFrom('users').select('email').executeTakeFirstOrThrow();
      const sent = await late.app.inject({
        method: 'POST',
        url: '/api/auth/send_captcha',
        payload: { identifier: row.email, type: 'email' },
      });
      await new Promise((r) => setTimeout(r, 1100));
      const res = await late.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { identifier: row.email, type: 'email', code: sent.json().captcha },
      });
      expect(res.statusCode).toBe(401);
    } finally {
      await late.close();
    }
  });

  it('answers unknown routes with a 404 envelope', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 404, message: 'Not found' });
  });

  it('answers malformed JSON with 400', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"identifier": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 400, message: 'Malformed JSON body' });
  });

  it('answers an oversized body with 413', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        identifier: 'x'.repeat(2 * 1024 * 1024),
        type: 'email',
        password: 'x',
      }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 413 });
  });

  it('reports the database in /api/health', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      code: 200,
      status: 'ok',
      checks: { database: { ok: true } },
    });
  });

  it('echoes a sane x-request-id and makes one up otherwise', async () => {
    const given = await t.app.inject({
      method: 'GET',
      url: '/api/health',
      headers: { 'x-request-id': 'abcdef123456' },
    });
    expect(given.headers['x-request-id']).toBe('abcdef123456');
    const evil = await t.app.inject({
      method: 'GET',
      url: '/api/health',
      headers: { 'x-request-id': 'a b\nc' },
    });
    expect(evil.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
