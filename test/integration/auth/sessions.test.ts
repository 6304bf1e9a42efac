import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';

const dialects = await testDialects();

/** A clock the test moves by hand. */
function clock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance: (sec: number) => {
      offsetMs += sec * 1000;
    },
  };
}

describe.each(dialects)('sessions on %s', (dialect) => {
  let t: TestApp;
  const c = clock();
  beforeAll(async () => {
    t = await makeApp(
      dialect,
      { JWT_REFRESH_TTL_SEC: '1000', JWT_ACCESS_TTL_SEC: '5000', RATE_LIMIT_PER_MIN: '100000' },
      { now: c.now },
    );
  });
  afterAll(async () => t.close());

  const refresh = (token: string) =>
    t.app.inject({ method: 'POST', url: '/api/auth/refresh', headers: bearer(token) });
  const me = (token: string) =>
    t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) });
  const login = async (email: string, ua = 'test-agent/1.0') => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'user-agent': ua },
      payload: { identifier: email, type: 'email', password: 'secret123' },
    });
    expect(r.statusCode, r.body).toBe(200);
    return r.json<{ access_token: string; refresh_token: string }>();
  };

  it('rotates the refresh token: the used one stops working', async () => {
    const u = await registerUser(t.app);
    const r1 = await refresh(u.refresh);
    expect(r1.statusCode).toBe(200);
    const next = r1.json().refresh_token;
    expect(next).not.toBe(u.refresh);
    expect((await refresh(next)).statusCode).toBe(200);
  });

  it('a reused refresh token ends the whole session (reuse detection)', async () => {
    const u = await registerUser(t.app);
    const r1 = await refresh(u.refresh);
    const { access_token, refresh_token } = r1.json();
    const reuse = await refresh(u.refresh);
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().msg).toMatch(/reused/);
    // Everything the session issued is dead now, including the newest pair.
    expect((await refresh(refresh_token)).statusCode).toBe(401);
    expect((await me(access_token)).statusCode).toBe(401);
    expect((await me(u.access)).statusCode).toBe(401);
  });

  it('counts the refresh lifetime from login, not from the last refresh', async () => {
    const u = await registerUser(t.app);
    c.advance(600);
    const r1 = await refresh(u.refresh);
    expect(r1.statusCode).toBe(200);
    c.advance(600); // 1200 s after login, 600 s after the refresh
    const r2 = await refresh(r1.json().refresh_token);
    expect(r2.statusCode).toBe(401);
  });

  it('logout ends this session only, at once', async () => {
    const u = await registerUser(t.app);
    const other = await login(u.email);
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(u.access),
    });
    expect(out.statusCode).toBe(200);
    expect((await me(u.access)).statusCode).toBe(401);
    expect((await refresh(u.refresh)).statusCode).toBe(401);
    expect((await me(other.access_token)).statusCode).toBe(200);
  });

  it('logout_all ends every session', async () => {
    const u = await registerUser(t.app);
    const other = await login(u.email);
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout_all',
      headers: bearer(u.access),
    });
    expect(out.statusCode).toBe(200);
    expect(out.json().sessions_ended).toBe(2);
    expect((await me(u.access)).statusCode).toBe(401);
    expect((await me(other.access_token)).statusCode).toBe(401);
    expect((await refresh(other.refresh_token)).statusCode).toBe(401);
  });

  it('lists sessions with device, times and which one is current; ends one by id', async () => {
    const u = await registerUser(t.app);
    const phone = await login(u.email, 'PhoneApp/2.0');
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/auth/sessions',
      headers: bearer(phone.access_token),
    });
    expect(list.statusCode).toBe(200);
    const sessions = list.json().sessions as {
      id: string;
      device: string;
      created_at: string;
      last_used_at: string;
      current: boolean;
    }[];
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual([
        'created_at',
        'current',
        'device',
        'id',
        'last_used_at',
      ]);
    }
    const current = sessions.find((s) => s.current)!;
    expect(current.device).toBe('PhoneApp/2.0');
    const first = sessions.find((s) => !s.current)!;

    const stranger = await registerUser(t.app);
    const theirs = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/sessions/${first.id}`,
      headers: bearer(stranger.access),
    });
    expect(theirs.statusCode).toBe(404);
    expect((await me(u.access)).statusCode).toBe(200);

    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/sessions/${first.id}`,
      headers: bearer(phone.access_token),
    });
    expect(del.statusCode).toBe(200);
    expect((await me(u.access)).statusCode).toBe(401);
    expect((await me(phone.access_token)).statusCode).toBe(200);
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/sessions/${first.id}`,
      headers: bearer(phone.access_token),
    });
    expect(again.statusCode).toBe(404);
  });

  it('access tokens name their session (sid) and a key (kid)', async () => {
    const u = await registerUser(t.app);
    const [h, p] = u.access
      .split('.')
      .slice(0, 2)
      .map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
    expect(h.kid).toEqual(expect.any(String));
    expect(p.sid).toEqual(expect.any(String));
  });

  it('change_password checks the old one and ends every other session', async () => {
    const u = await registerUser(t.app);
    const other = await login(u.email);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/change_password',
      headers: bearer(u.access),
      payload: { old_password: 'nope-nope', new_password: 'brandnew1' },
    });
    expect(wrong.statusCode).toBe(401);
    expect((await me(other.access_token)).statusCode).toBe(200);
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/auth/change_password',
      headers: bearer(u.access),
      payload: { old_password: 'secret123', new_password: 'brandnew1' },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().sessions_ended).toBe(1);
    expect((await me(u.access)).statusCode).toBe(200);
    expect((await me(other.access_token)).statusCode).toBe(401);
    const oldPw = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { identifier: u.email, type: 'email', password: 'secret123' },
    });
    expect(oldPw.statusCode).toBe(401);
    const newPw = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { identifier: u.email, type: 'email', password: 'brandnew1' },
    });
    expect(newPw.statusCode).toBe(200);
  });

  it('an access token of a deleted user is refused (401), uploads included', async () => {
    const u = await registerUser(t.app);
    await t.db.db.deleteFrom('sessions').where('user_id', '=', u.userId).execute();
    await t.db.db.deleteFrom('users').where('id', '=', u.userId).execute();
    expect((await me(u.access)).statusCode).toBe(401);
    const list = await t.app.inject({
      method: 'POST',
      url: '/api/file/list',
      headers: bearer(u.access),
      payload: {},
    });
    expect(list.statusCode).toBe(401);
    const upload = await t.app.inject({
      method: 'POST',
      url: '/api/file/upload',
      headers: { ...bearer(u.access), 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x--\r\n',
    });
    expect(upload.statusCode).toBe(401);
  });
});

describe.each(dialects)('password reset on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp(dialect, { CAPTCHA_ECHO: 'true', RATE_LIMIT_PER_MIN: '100000' });
  });
  afterAll(async () => t.close());

  it('resets the password with a verification code and ends every session', async () => {
    const u = await registerUser(t.app);
    const code = (
      await t.app.inject({
        method: 'POST',
        url: '/api/auth/send_captcha',
        payload: { identifier: u.email, type: 'email' },
      })
    ).json().captcha as string;
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset_password',
      payload: {
        identifier: u.email,
        type: 'email',
        code: code === '000000' ? '111111' : '000000',
        new_password: 'resetpw1',
      },
    });
    expect(bad.statusCode).toBe(400);
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset_password',
      payload: { identifier: u.email, type: 'email', code, new_password: 'resetpw1' },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().sessions_ended).toBe(1);
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: bearer(u.access),
    });
    expect(me.statusCode).toBe(401);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/reset_password',
      payload: { identifier: u.email, type: 'email', code, new_password: 'resetpw2' },
    });
    expect(again.statusCode).toBe(400);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { identifier: u.email, type: 'email', password: 'resetpw1' },
    });
    expect(login.statusCode).toBe(200);
  });
});
