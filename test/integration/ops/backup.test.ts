import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../../src/cli/backup.js';
import { makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { createTestDb, mysqlAvailable } from '../../helpers/db.js';

const hasMysql = await mysqlAvailable();

describe('backup', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp('sqlite');
  });
  afterAll(async () => t.close());

  it('copies the SQLite database and every blob, and the copy opens with the same rows', async () => {
    await registerUser(t.app, 'backupuser');
    const blob = path.join(t.config.storage.dir, 'blobs', 'sample-blob');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(path.dirname(blob), { recursive: true });
    writeFileSync(blob, 'bytes');
    writeFileSync(path.join(t.config.storage.dir, '.tmp', 'half-upload'), 'partial');

    const r = await backup({ ...t.config, database: t.db.database });
    expect(existsSync(r.database)).toBe(true);
    const copy = new SQLite(r.database, { readonly: true });
    const n = copy.prepare('select count(*) as n from users').get() as { n: number };
    copy.close();
    expect(n.n).toBe(1);
    expect(readFileSync(path.join(r.dir, 'files', 'blobs', 'sample-blob'), 'utf8')).toBe('bytes');
    expect(existsSync(path.join(r.dir, 'files', '.tmp'))).toBe(false);
    const manifest = JSON.parse(readFileSync(path.join(r.dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ database: { dialect: 'sqlite' }, blobs: 1 });
    expect(manifest.database.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.skipIf(!hasMysql)('dumps a MySQL database with mariadb-dump', async () => {
    const db = await createTestDb('mysql');
    try {
      const r = await backup(
        { ...t.config, database: db.database },
        path.join(t.dataDir, 'mysql-backups'),
      );
      const dump = readFileSync(r.database, 'utf8');
      expect(dump).toMatch(/CREATE TABLE `voices`/);
      expect(readdirSync(r.dir)).toContain('manifest.json');
      rmSync(r.dir, { recursive: true, force: true });
    } finally {
      await db.drop();
    }
  });
});
