import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../../src/app.js';
import { openDatabase } from '../../../src/repositories/db.js';
import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { MYSQL_ADMIN_URL, mysqlAvailable } from '../../helpers/db.js';
import { freePort } from '../../helpers/spawn.js';

const available = await mysqlAvailable();

const createBody = {
  audio_file_id: '01900000-0000-7000-8000-000000000000',
  voice_name: 'During the outage',
  voice_gender: 'female',
  voice_description: 'd',
};

describe.runIf(available)('a MariaDB outage', () => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await makeApp('mysql', { RETRY_AFTER_SEC: '7', CREATE_RATE_LIMIT_PER_HOUR: '1' });
    token = (await registerUser(t.app, 'outage')).access;
  });
  afterAll(async () => t?.close());

  it('answers 503 with Retry-After while the server is unreachable, and eats no creation quota', async () => {
    // The same installation, pointed at a port nothing listens on.
    const closed = await freePort();
    const database = {
      dialect: 'mysql' as const,
      url: `mysql://root@127.0.0.1:${closed}/timbre`,
    };
    const db = openDatabase(database);
    const down = await build({
      config: { ...t.config, database },
      db,
      logger: false,
      runWorker: false,
    });
    await down.ready();
    try {
      const list = await down.inject({
        method: 'GET',
        url: '/api/voice/my_voices',
        headers: bearer(token),
      });
      expect(list.statusCode, list.body).toBe(503);
      expect(list.headers['retry-after']).toBe('7');
      expect(list.json()).toMatchObject({
        code: 503,
        message: 'Service temporarily unavailable',
        request_id: expect.any(String),
      });
      expect(list.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|mysql/i);

      // The hourly quota is 1: two creations failed for the server's reasons
      // both answer 503, never 429.
      for (let i = 0; i < 2; i++) {
        const res = await down.inject({
          method: 'POST',
          url: '/api/voice/create_voice',
          headers: bearer(token),
          payload: createBody,
        });
        expect(res.statusCode, res.body).toBe(503);
        expect(res.headers['retry-after']).toBe('7');
      }
      const health = await down.inject({ method: 'GET', url: '/api/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ checks: { database: { ok: false } } });
    } finally {
      await down.close();
      await db.close();
    }

    // Back on a database that answers, the one creation of the hour is still there:
    // it is refused for the missing file (404), the next one for the quota (429).
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/voice/create_voice',
      headers: bearer(token),
      payload: createBody,
    });
    expect(ok.statusCode, ok.body).toBe(404);
    const over = await t.app.inject({
      method: 'POST',
      url: '/api/voice/create_voice',
      headers: bearer(token),
      payload: createBody,
    });
    expect(over.statusCode, over.body).toBe(429);
  });

  it('answers 503 with Retry-After when its database is dropped mid-run', async () => {
    const name = new URL(t.db.database.dialect === 'mysql' ? t.db.database.url : '').pathname.slice(
      1,
    );
    const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
    try {
      await admin.query(`DROP DATABASE \`${name}\``);
    } finally {
      await admin.end();
    }
    for (const [method, url, payload] of [
      ['GET', '/api/voice/my_voices', undefined],
      ['POST', '/api/file/list', {}],
      ['POST', '/api/voice/get_voices', { key_word: 'x' }],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: bearer(token), payload });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(503);
      expect(res.headers['retry-after']).toBe('7');
      expect(res.json()).toMatchObject({ code: 503, request_id: expect.any(String) });
    }
  });
});
