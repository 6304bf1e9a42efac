import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserRepository } from '../../../src/repositories/user.repository.js';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';

const dialects = await testDialects();

for (const dialect of dialects) {
  describe(`a disabled user (${dialect})`, () => {
    let t: TestApp;
    let user: Awaited<ReturnType<typeof registerUser>>;
    beforeAll(async () => {
      t = await makeApp(dialect);
      user = await registerUser(t.app, 'soon-disabled');
      await new UserRepository(t.db.db).setDisabled(user.userId, new Date().toISOString());
    });
    afterAll(() => t?.close());

    it('cannot log in', async () => {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { identifier: user.email, type: 'email', password: 'secret123' },
      });
      expect(r.statusCode).toBe(401);
      expect(r.json().error_info).toMatch(/disabled/);
    });

    it('cannot use an access token issued before', async () => {
      const r = await t.app.inject({
        method: 'GET',
        url: '/api/auth/me',
        headers: bearer(user.access),
      });
      expect(r.statusCode).toBe(401);
    });

    it('cannot refresh', async () => {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        headers: bearer(user.refresh),
      });
      expect(r.statusCode).toBe(401);
    });

    it('works again once enabled', async () => {
      await new UserRepository(t.db.db).setDisabled(user.userId, null);
      const r = await t.app.inject({
        method: 'GET',
        url: '/api/auth/me',
        headers: bearer(user.access),
      });
      expect(r.statusCode).toBe(200);
    });
  });
}
