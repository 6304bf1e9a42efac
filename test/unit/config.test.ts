import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'timbre-cfg-'));

describe('loadConfig', () => {
  it('runs on embedded defaults: SQLite in the data folder, offline provider, port 3000', () => {
    const dir = tmp();
    const c = loadConfig({ DATA_DIR: dir });
    expect(c.port).toBe(3000);
    expect(c.database).toEqual({
      dialect: 'sqlite',
      path: path.join(dir, 'timbre.db'),
      readThreads: 2,
    });
    expect(c.provider.kind).toBe('offline');
    expect(c.storage.dir).toBe(path.join(dir, 'files'));
    expect(c.jwt.accessTtlSec).toBe(600);
    expect(c.jwt.refreshTtlSec).toBe(3600);
    expect(c.publicBaseUrl).toBe('http://127.0.0.1:3000');
  });

  it('generates a JWT secret once and keeps it in the data folder', () => {
    const dir = tmp();
    const a = loadConfig({ DATA_DIR: dir });
    const b = loadConfig({ DATA_DIR: dir });
    expect(a.jwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(b.jwt.secret).toBe(a.jwt.secret);
    expect(readFileSync(path.join(dir, 'jwt-secret'), 'utf8').trim()).toBe(a.jwt.secret);
  });

  it('refuses to start in production without JWT_SECRET_KEY', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: tmp() })).toThrow(
      /JWT_SECRET_KEY: required in production/,
    );
  });

  it('lists every bad key at once', () => {
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'postgres://x/y',
        FILE_MAX_BYTES: '-1',
        VOICE_PROVIDER: 'acme',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/PORT: must be a whole number/);
      expect(problems).toMatch(/DATABASE_URL: must be sqlite:<path> or mysql:/);
      expect(problems).toMatch(/FILE_MAX_BYTES/);
      expect(problems).toMatch(/VOICE_PROVIDER/);
    }
  });

  it('requires a DashScope key when the DashScope provider is chosen', () => {
    expect(() => loadConfig({ VOICE_PROVIDER: 'dashscope', DATA_DIR: tmp() })).toThrow(
      /DASHSCOPE_API_KEY/,
    );
  });

  it("parses a MySQL DATABASE_URL in the seed's form", () => {
    const c = loadConfig({
      DATABASE_URL: 'mysql://user:password@localhost/database',
      JWT_SECRET_KEY: 'x'.repeat(32),
    });
    expect(c.database).toEqual({
      dialect: 'mysql',
      url: 'mysql://user:password@localhost/database',
    });
  });

  it('takes the SQLite reader threads from SQLITE_READ_THREADS, 0 meaning none', () => {
    const c = loadConfig({ DATA_DIR: tmp(), SQLITE_READ_THREADS: '0' });
    expect(c.database).toMatchObject({ dialect: 'sqlite', readThreads: 0 });
    expect(() => loadConfig({ DATA_DIR: tmp(), SQLITE_READ_THREADS: 'many' })).toThrow(
      /SQLITE_READ_THREADS/,
    );
    expect(() => loadConfig({ DATA_DIR: tmp(), SQLITE_READ_THREADS: '65' })).toThrow(
      /SQLITE_READ_THREADS/,
    );
  });

  it('bounds the DashScope synthesis sockets by DASHSCOPE_WS_MAX_SOCKETS (1–100, default 20)', () => {
    expect(loadConfig({ DATA_DIR: tmp() }).provider.dashscope.wsMaxSockets).toBe(20);
    expect(
      loadConfig({ DATA_DIR: tmp(), DASHSCOPE_WS_MAX_SOCKETS: '64' }).provider.dashscope
        .wsMaxSockets,
    ).toBe(64);
    expect(() => loadConfig({ DATA_DIR: tmp(), DASHSCOPE_WS_MAX_SOCKETS: '0' })).toThrow(
      /DASHSCOPE_WS_MAX_SOCKETS/,
    );
    expect(() => loadConfig({ DATA_DIR: tmp(), DASHSCOPE_WS_MAX_SOCKETS: '101' })).toThrow(
      /DASHSCOPE_WS_MAX_SOCKETS/,
    );
  });

  it('never enables captcha echo in production', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', JWT_SECRET_KEY: 'x'.repeat(32), CAPTCHA_ECHO: 'true' }),
    ).toThrow(/CAPTCHA_ECHO/);
  });
});
