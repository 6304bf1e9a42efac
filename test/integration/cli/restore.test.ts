import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../../src/cli/backup.js';
import { CliError, EXIT } from '../../../src/cli/common.js';
import { restore, verifyBackup } from '../../../src/cli/restore.js';
import type { Config } from '../../../src/config.js';
import { createTestDb, testDialects, type TestDb } from '../../helpers/db.js';
import { registerUser } from '../../helpers/app.js';
import { loginOn } from '../../helpers/login.js';
import { filesUnder, serveApp, upload, type Served } from '../files/helpers.js';
import { makeWav } from '../files/helpers.js';

const dialects = await testDialects();

async function tableRows(db: TestDb['db']) {
  const out: Record<string, unknown[]> = {};
  for (const t of ['users', 'files', 'voices', 'voice_shares'] as const) {
    out[t] = await db.selectFrom(t).selectAll().execute();
    out[t].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

for (const dialect of dialects) {
  describe(`backup and restore round trip (${dialect})`, () => {
    let source: Served;
    let target: TestDb;
    let targetStorage: string;
    let backupRoot: string;
    let backupDir: string;
    let email: string;
    let targetConfig: Config;

    beforeAll(async () => {
      source = await serveApp(dialect);
      const user = await registerUser(source.app, 'roundtrip');
      email = user.email;
      for (const [i, seconds] of [1, 2].entries()) {
        const r = await upload(source.base, user.access, {
          name: `clip${i}.wav`,
          bytes: makeWav(seconds, 16000, 300 + i * 100),
        });
        expect(r.status).toBe(201);
      }
      backupRoot = mkdtempSync(path.join(tmpdir(), 'timbre-backups-'));
      const config = { ...source.config, database: source.db.database };
      backupDir = (await backup(config, backupRoot)).dir;

      // The target: an empty, unmigrated-or-empty database and an empty storage folder.
      target = await createTestDb(dialect);
      targetStorage = mkdtempSync(path.join(tmpdir(), 'timbre-restore-store-'));
      targetConfig = {
        ...source.config,
        database: target.database,
        storage: { ...source.config.storage, dir: targetStorage },
      };
    });
    afterAll(async () => {
      await source?.close();
      await target?.drop();
      for (const d of [targetStorage, backupRoot])
        if (d) rmSync(d, { recursive: true, force: true });
    });

    it('the manifest carries every blob checksum and verifies', async () => {
      const v = await verifyBackup(backupDir);
      expect(v.problems).toEqual([]);
      expect(v.blobsVerified).toBe(true);
      expect(v.manifest.files).toHaveLength(2);
    });

    it('restores into an empty target: same rows, same bytes, and a login still works', async () => {
      const r = await restore(targetConfig, backupDir);
      expect(r.blobs).toBe(2);
      // Read the restored database through a fresh handle (SQLite's file was swapped).
      const fresh = await import('../../../src/repositories/db.js').then((m) =>
        m.openDatabase(target.database),
      );
      try {
        expect(await tableRows(fresh.db)).toEqual(await tableRows(source.db.db));
        const login = await loginOn(fresh.db, 'email', email, 'secret123');
        expect(login.username).toBe('roundtrip');
      } finally {
        await fresh.close();
      }
      const srcFiles = filesUnder(source.config.storage.dir).filter((f) => !f.startsWith('.tmp'));
      expect(filesUnder(targetStorage).filter((f) => !f.startsWith('.tmp'))).toEqual(srcFiles);
      for (const f of srcFiles) {
        expect(readFileSync(path.join(targetStorage, f))).toEqual(
          readFileSync(path.join(source.config.storage.dir, f)),
        );
      }
    });

    it('refuses a target that holds data unless forced', async () => {
      const err = await restore(targetConfig, backupDir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT.refused);
      expect((err as CliError).message).toMatch(/not empty/);
      await expect(restore(targetConfig, backupDir, { force: true })).resolves.toMatchObject({
        blobs: 2,
      });
    });

    it('refuses a backup whose blob was altered', async () => {
      const v = await verifyBackup(backupDir);
      const blob = path.join(backupDir, 'files', v.manifest.files![0]!.path);
      // Replace (not modify) the file: it may be a hard link to the live blob.
      const bytes = readFileSync(blob);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      rmSync(blob);
      writeFileSync(blob, bytes);
      const err = await restore(targetConfig, backupDir, { force: true }).catch((e: unknown) => e);
      expect((err as CliError).exitCode).toBe(EXIT.corrupt);
      expect((err as CliError).message).toMatch(/checksum does not match/);
    });
  });
}
