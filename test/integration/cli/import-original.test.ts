import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOriginalSource } from '../../../src/repositories/original.repository.js';
import { VoiceRepository } from '../../../src/repositories/voice.repository.js';
import { ImportOriginalService } from '../../../src/services/import-original.service.js';
import { DiskBlobStore } from '../../../src/storage/disk.js';
import { createTestDb, mysqlAvailable, testDialects, type TestDb } from '../../helpers/db.js';
import { loginOn } from '../../helpers/login.js';
import { createOriginalDb, type OriginalDb } from '../../helpers/original-db.js';
import { seedOriginal, type Seeded } from './original-fixture.js';

const canRun = await mysqlAvailable();
const dialects = await testDialects();

/** Every row of the imported tables, for before/after comparisons. */
async function dump(t: TestDb) {
  return {
    users: await t.db.selectFrom('users').selectAll().orderBy('id').execute(),
    files: await t.db.selectFrom('files').selectAll().orderBy('id').execute(),
    voices: await t.db.selectFrom('voices').selectAll().orderBy('id').execute(),
    grams: await t.db
      .selectFrom('voice_name_grams')
      .selectAll()
      .orderBy('gram')
      .orderBy('voice_id')
      .execute(),
  };
}

function blobFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.tmp') continue;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

describe.skipIf(!canRun)('import from the original (MariaDB source)', () => {
  let orig: OriginalDb;
  let uploads: string;
  let seeded: Seeded;
  let expectedVoiceTime: string;

  beforeAll(async () => {
    orig = await createOriginalDb();
    uploads = mkdtempSync(path.join(tmpdir(), 'timbre-orig-uploads-'));
    seeded = await seedOriginal(orig, uploads);
    // Naive times are in the server's zone: ask the same server what instant it meant.
    const [rows] = await orig.conn.query(`SELECT UNIX_TIMESTAMP(?) AS t`, [seeded.voiceCreatedAt]);
    expectedVoiceTime = new Date(Number((rows as { t: string }[])[0]!.t) * 1000).toISOString();
  });
  afterAll(async () => {
    await orig?.drop();
    rmSync(uploads, { recursive: true, force: true });
  });

  for (const dialect of dialects) {
    describe(`into ${dialect}`, () => {
      let target: TestDb;
      let storage: string;
      let service: ImportOriginalService;
      let source: Awaited<ReturnType<typeof openOriginalSource>>;

      beforeAll(async () => {
        target = await createTestDb(dialect);
        storage = mkdtempSync(path.join(tmpdir(), 'timbre-import-store-'));
        const blobs = new DiskBlobStore(storage);
        await blobs.init();
        service = new ImportOriginalService(target.db, blobs);
        source = await openOriginalSource(orig.url);
      });
      afterAll(async () => {
        await source?.close();
        await target?.drop();
        rmSync(storage, { recursive: true, force: true });
      });
      const run = (dryRun: boolean) =>
        service.run(source, { uploadsDir: uploads, dryRun, maxBytes: 50 * 1024 * 1024 });

      it('a dry run reports what it would do and writes nothing', async () => {
        const r = await run(true);
        expect(r.dry_run).toBe(true);
        expect(r.users).toEqual({ total: 3, imported: 2, existing: 0, skipped: 1 });
        expect(r.files).toEqual({ total: 7, imported: 3, existing: 0, skipped: 4 });
        expect(r.voices).toEqual({ total: 3, imported: 1, existing: 0, skipped: 2 });
        const d = await dump(target);
        expect([d.users.length, d.files.length, d.voices.length]).toEqual([0, 0, 0]);
        expect(blobFiles(storage)).toEqual([]);
      });

      it('imports users, files and voices with their ids, and reports every row it skips', async () => {
        const r = await run(false);
        expect(r.users).toEqual({ total: 3, imported: 2, existing: 0, skipped: 1 });
        expect(r.files).toEqual({ total: 7, imported: 3, existing: 0, skipped: 4 });
        expect(r.voices).toEqual({ total: 3, imported: 1, existing: 0, skipped: 2 });
        const reason = (id: string) =>
          r.problems.find((p) => p.id === id && p.outcome === 'skipped')?.reason;
        expect(reason(seeded.carol)).toMatch(/not a bcrypt hash/);
        expect(reason(seeded.bad.missing)).toMatch(/not in the upload folders/);
        expect(reason(seeded.bad.text)).toMatch(/not a recognised audio or image format/);
        expect(reason(seeded.bad.traversal)).toMatch(/not a stored upload name/);
        expect(reason(seeded.bad.carols)).toMatch(/owner .* was not imported/);
        expect(reason(seeded.badVoices.missingAudition)).toMatch(
          /audition file .* was not imported/,
        );
        expect(reason(seeded.badVoices.gender)).toMatch(/voice_gender 'robot'/);
        // Bob's e-mail repeats Alice's (in other case): he keeps his phone, loses the e-mail.
        expect(r.problems).toContainEqual(
          expect.objectContaining({ table: 'users', id: seeded.bob, outcome: 'imported' }),
        );

        const d = await dump(target);
        expect(d.users.map((u) => u.id).sort()).toEqual([seeded.alice, seeded.bob].sort());
        const bob = d.users.find((u) => u.id === seeded.bob)!;
        expect(bob).toMatchObject({ username: '鲍勃', phone: '13900139000', email: null });
        const alice = d.users.find((u) => u.id === seeded.alice)!;
        expect(alice).toMatchObject({
          email: 'alice@example.com',
          avatar_url: `/api/file/download/${seeded.good.png}`,
        });
        expect(d.files.map((f) => f.id).sort()).toEqual(Object.values(seeded.good).sort());
        for (const f of d.files) {
          const original = seeded.bytes.get(f.id)!;
          expect(f.sha256).toBe(createHash('sha256').update(original).digest('hex'));
          expect(Number(f.size)).toBe(original.length);
        }
        const wav = d.files.find((f) => f.id === seeded.good.wav)!;
        expect(wav).toMatchObject({
          file_name: '我的录音.wav',
          kind: 'audio',
          ext: 'wav',
          is_public: 0,
          audio_sample_rate: 16000,
          audio_channels: 1,
          origin: 'upload',
        });
        expect(d.files.find((f) => f.id === seeded.good.png)).toMatchObject({
          kind: 'image',
          ext: 'png',
        });
        expect(d.files.find((f) => f.id === seeded.good.mp3)).toMatchObject({ origin: 'audition' });

        expect(d.voices).toHaveLength(1);
        expect(d.voices[0]).toMatchObject({
          id: seeded.voice,
          voice_name: '温柔女声',
          provider: 'dashscope',
          target_model: 'cosyvoice-v1',
          status: 'ready',
          call_name: 'cosyvoice-prefix-abc123',
          audition_file_id: seeded.good.mp3,
          created_by: seeded.alice,
          is_public: 1,
          created_at: expectedVoiceTime,
        });
        expect(blobFiles(storage)).toHaveLength(3);
      });

      it('makes an imported voice findable by keyword, its index rows in its creation order', async () => {
        const repo = new VoiceRepository(target.db);
        const found = await repo.list({
          viewerId: seeded.bob,
          onlyMine: false,
          keyword: '女声',
          offset: 0,
          limit: 10,
        });
        expect(found.map((v) => v.id)).toEqual([seeded.voice]);
        const grams = await target.db
          .selectFrom('voice_name_grams')
          .select(['gram', 'created_at'])
          .where('voice_id', '=', seeded.voice)
          .execute();
        // MySQL returns the bytes of the varbinary column: as text here.
        expect(grams.map((g) => String(g.gram)).sort()).toEqual(
          ['温柔', '温柔女', '柔女', '柔女声', '女声'].sort(),
        );
        expect(new Set(grams.map((g) => g.created_at))).toEqual(new Set([expectedVoiceTime]));
      });

      it('keeps passwords working: the original bcrypt hashes log in', async () => {
        const a = await loginOn(target.db, 'email', 'ALICE@example.com', 'alice-pass');
        expect(a.user_id).toBe(seeded.alice);
        const b = await loginOn(target.db, 'phone', '13900139000', 'bob-pass-1');
        expect(b.user_id).toBe(seeded.bob);
        await expect(loginOn(target.db, 'phone', '13900139000', 'wrong-pass')).rejects.toThrow();
      });

      it('a rerun changes nothing', async () => {
        const before = await dump(target);
        const blobsBefore = blobFiles(storage);
        const r = await run(false);
        expect(r.users).toEqual({ total: 3, imported: 0, existing: 2, skipped: 1 });
        expect(r.files).toEqual({ total: 7, imported: 0, existing: 3, skipped: 4 });
        expect(r.voices).toEqual({ total: 3, imported: 0, existing: 1, skipped: 2 });
        expect(await dump(target)).toEqual(before);
        expect(blobFiles(storage)).toEqual(blobsBefore);
      });
    });
  }
});
