import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { build, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Dialect } from '../../src/repositories/db.js';
import { createTestDb, type TestDb } from './db.js';

export interface TestApp {
  app: FastifyInstance;
  db: TestDb;
  config: Config;
  dataDir: string;
  close(): Promise<void>;
}

/** Builds the app on a fresh database of `dialect` with test-sized settings. */
export async function makeApp(
  dialect: Dialect,
  env: Record<string, string> = {},
  deps: Partial<Omit<AppDeps, 'config' | 'db'>> = {},
): Promise<TestApp> {
  const db = await createTestDb(dialect);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'timbre-data-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    JWT_SECRET_KEY: 'test-secret-test-secret-test-secret-0123',
    BCRYPT_ROUNDS: '4',
    CPU_POOL_THREADS: '2',
    CPU_TASK_TIMEOUT_SEC: '120',
    LOG_LEVEL: 'silent',
    // Suites share two cores; a test of load shedding turns it on itself.
    SHED_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
  const app = await build({
    config: { ...config, database: db.database },
    db,
    logger: false,
    ...deps,
  });
  await app.ready();
  return {
    app,
    db,
    config,
    dataDir,
    close: async () => {
      await app.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** Registers and logs in a fresh e-mail user; returns its id and tokens. */
export async function registerUser(
  app: FastifyInstance,
  name = `user${++counter}`,
): Promise<{ userId: string; access: string; refresh: string; email: string; username: string }> {
  const email = `${name}.${Date.now()}.${counter}@example.com`;
  const reg = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      username: name.slice(0, 18),
      identifier: email,
      type: 'email',
      password: 'secret123',
      code: '',
    },
  });
  if (reg.statusCode !== 201) throw new Error(`register failed: ${reg.body}`);
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { identifier: email, type: 'email', password: 'secret123' },
  });
  const body = login.json<{ user_id: string; access_token: string; refresh_token: string }>();
  return {
    userId: body.user_id,
    access: body.access_token,
    refresh: body.refresh_token,
    email,
    username: name.slice(0, 18),
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
