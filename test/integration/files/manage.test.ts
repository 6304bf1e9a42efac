import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { audioSamples } from '../../helpers/fixtures.js';
import {
  download,
  fileRowCount,
  makeWav,
  rowKeys,
  serveApp,
  sha256,
  storedFiles,
  upload,
  type Json,
  type Served,
} from './helpers.js';

const dialects = await testDialects();
const samples = audioSamples();
const read = (file: string) => readFileSync(samples.find((s) => s.entry.file === file)!.path);
const png = read('images/sample_256x256.png');
const jpg = read('images/sample_256x256.jpg');
const UNKNOWN = '018f0000-0000-7000-8000-000000000000';

type User = Awaited<ReturnType<typeof registerUser>>;

describe.each(dialects)('file management on %s', (dialect) => {
  let t: Served;
  let alice: User;
  let bob: User;
  let carol: User;

  const up = async (user: User, name: string, isPublic: boolean, bytes: Buffer = makeWav(0.5)) => {
    const r = await upload(
      t.base,
      user.access,
      { name, bytes },
      { is_public: String(isPublic), description: `${name} by ${user.username}` },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.file_id as string;
  };
  const list = (user: User, payload: unknown) =>
    t.app.inject({
      method: 'POST',
      url: '/api/file/list',
      headers: bearer(user.access),
      payload: payload as object,
    });

  beforeAll(async () => {
    t = await serveApp(dialect);
    alice = await registerUser(t.app, 'alice');
    bob = await registerUser(t.app, 'bob');
    carol = await registerUser(t.app, 'carol');
  });
  afterAll(async () => t.close());

  describe('list', () => {
    let alicePublic: string[];
    let alicePrivate: string[];
    let bobPublic: string;
    let bobPrivate: string;
    beforeAll(async () => {
      alicePublic = [];
      alicePrivate = [];
      for (let i = 0; i < 12; i++) alicePublic.push(await up(alice, `a-pub-${i}.wav`, true));
      for (let i = 0; i < 3; i++) alicePrivate.push(await up(alice, `a-priv-${i}.wav`, false));
      bobPublic = await up(bob, 'b-pub.wav', true);
      bobPrivate = await up(bob, 'b-priv.wav', false);
    });

    it("lists public files plus the caller's own, newest first, with the contract fields", async () => {
      const r = await list(bob, { page: 1, page_size: 100 });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body).toMatchObject({
        code: 200,
        message: 'get file list success',
        has_next: false,
        total_items: 14,
        total_pages: 1,
        current_page: 1,
      });
      const ids = body.files.map((f: Json) => f.file_id);
      expect(new Set(ids)).toEqual(new Set([...alicePublic, bobPublic, bobPrivate]));
      for (const id of alicePrivate) expect(ids).not.toContain(id);
      expect(ids[0]).toBe(bobPrivate); // newest first
      const own = body.files.find((f: Json) => f.file_id === bobPrivate);
      expect(Object.keys(own).sort()).toEqual(
        [
          'file_id',
          'file_name',
          'file_path',
          'file_size',
          'file_type',
          'created_at',
          'created_by_username',
          'created_by_user_id',
          'is_public',
          'description',
          'is_owner',
          'origin',
        ].sort(),
      );
      expect(own).toMatchObject({
        file_name: 'b-priv.wav',
        file_path: `/api/file/download/${bobPrivate}`,
        file_type: 'audio/wav',
        created_by_username: 'bob',
        created_by_user_id: bob.userId,
        is_public: false,
        description: 'b-priv.wav by bob',
        is_owner: true,
      });
      const theirs = body.files.find((f: Json) => f.file_id === alicePublic[0]);
      expect(theirs).toMatchObject({ is_owner: false, created_by_username: 'alice' });
    });

    it("never shows another user's private file on Json page", async () => {
      const seen: string[] = [];
      for (let page = 1; page <= 5; page++) {
        const r = (await list(carol, { page, page_size: 4 })).json();
        seen.push(...r.files.map((f: Json) => f.file_id));
      }
      expect(seen).toHaveLength(13);
      for (const id of [...alicePrivate, bobPrivate]) expect(seen).not.toContain(id);
    });

    it('pages with page and page_size, has_next and total_pages', async () => {
      const p1 = (await list(alice, { page: 1, page_size: 5, only_mine: true })).json();
      expect(p1).toMatchObject({
        has_next: true,
        total_items: 15,
        total_pages: 3,
        current_page: 1,
      });
      expect(p1.files).toHaveLength(5);
      const p3 = (await list(alice, { page: 3, page_size: 5, only_mine: true })).json();
      expect(p3).toMatchObject({ has_next: false, current_page: 3 });
      expect(p3.files).toHaveLength(5);
      const p2 = (await list(alice, { page: '2', page_size: '5', only_mine: true })).json();
      const all = [...p1.files, ...p2.files, ...p3.files].map((f: Json) => f.file_id);
      expect(new Set(all).size).toBe(15);
      const beyond = (await list(alice, { page: 9, page_size: 5, only_mine: true })).json();
      expect(beyond).toMatchObject({ files: [], has_next: false, message: 'no file found' });
    });

    it("restricts to the caller's files with only_mine", async () => {
      const r = (await list(bob, { only_mine: true })).json();
      expect(r.total_items).toBe(2);
      expect(r.files.every((f: Json) => f.is_owner)).toBe(true);
      const s = (await list(bob, { only_mine: 'true' })).json();
      expect(s.total_items).toBe(2);
    });

    it.each([
      [{}, 1, 10],
      [{ page: 0, page_size: 0 }, 1, 10],
      [{ page: -1, page_size: -5 }, 1, 10],
      [{ page: 'x', page_size: 'y' }, 1, 10],
      [{ page: 1.5, page_size: 2.5 }, 1, 10],
      [{ page: null, page_size: null }, 1, 10],
      [{ page_size: 1000 }, 1, 100],
    ])('falls back to defaults for %j (page %i, page_size %i)', async (payload, page, size) => {
      const r = (await list(alice, payload)).json();
      expect(r.current_page).toBe(page);
      expect(r.files.length).toBe(Math.min(size, r.total_items));
      expect(r.total_pages).toBe(Math.ceil(r.total_items / size));
    });

    it('accepts an empty body', async () => {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/file/list',
        headers: bearer(alice.access),
      });
      expect(r.statusCode).toBe(200);
      expect(r.json().current_page).toBe(1);
    });

    it('answers 401 without a token', async () => {
      const r = await t.app.inject({ method: 'POST', url: '/api/file/list', payload: {} });
      expect(r.statusCode).toBe(401);
    });

    it('says no file found with an empty list for a user who sees nothing', async () => {
      const lonely = await serveApp(dialect);
      try {
        const u = await registerUser(lonely.app);
        const r = await lonely.app.inject({
          method: 'POST',
          url: '/api/file/list',
          headers: bearer(u.access),
          payload: {},
        });
        expect(r.json()).toMatchObject({
          code: 200,
          message: 'no file found',
          files: [],
          has_next: false,
          total_items: 0,
          total_pages: 0,
        });
      } finally {
        await lonely.close();
      }
    });
  });

  describe('update', () => {
    const put = (user: User | undefined, id: string, payload: unknown) =>
      t.app.inject({
        method: 'PUT',
        url: `/api/file/update/${id}`,
        headers: user ? bearer(user.access) : {},
        payload: payload as object,
      });

    it('lets the owner rename, publish and describe, answering with file', async () => {
      const id = await up(alice, 'old.wav', false);
      const r = await put(alice, id, {
        file_name: '新名字.wav',
        is_public: true,
        description: 'fresh',
      });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({
        code: 200,
        message: 'update file success',
        file: {
          file_id: id,
          file_name: '新名字.wav',
          is_public: true,
          is_private: true,
          description: 'fresh',
          file_type: 'audio/wav',
          file_path: `/api/file/download/${id}`,
        },
      });
      const row = await t.db.db
        .selectFrom('files')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ file_name: '新名字.wav', description: 'fresh' });
      expect(Number(row.is_public)).toBe(1);
      expect(row.updated_at > row.created_at || row.updated_at === row.created_at).toBe(true);
      // Now public: bob can read it.
      expect((await download(`${t.base}/api/file/download/${id}`, bearer(bob.access))).status).toBe(
        200,
      );
    });

    it("accepts the original's is_private key as a synonym of is_public (its quirk)", async () => {
      const id = await up(alice, 'q.wav', true);
      const r = await put(alice, id, { is_private: false });
      expect(r.statusCode).toBe(200);
      expect(r.json().file).toMatchObject({ is_public: false, is_private: false });
      const r2 = await put(alice, id, { is_private: 'true' });
      expect(r2.json().file).toMatchObject({ is_public: true, is_private: true });
    });

    it('prefers is_public when both keys are sent', async () => {
      const id = await up(alice, 'both.wav', true);
      const r = await put(alice, id, { is_public: false, is_private: true });
      expect(r.json().file.is_public).toBe(false);
    });

    it('sanitizes a new file name', async () => {
      const id = await up(alice, 'n.wav', true);
      const r = await put(alice, id, { file_name: '../../etc/passwd.wav' });
      expect(r.json().file.file_name).toBe('passwd.wav');
    });

    it.each([
      [{}, 'Nothing to update'],
      [{ unknown: 1 }, 'Nothing to update'],
      [{ file_name: '' }, 'Invalid field: file_name'],
      [{ file_name: 5 }, 'Invalid field: file_name'],
      [{ is_public: 'maybe' }, 'Invalid field: is_public'],
      [{ description: 5 }, 'Invalid field: description'],
      [{ description: 'x'.repeat(1001) }, 'Invalid field: description'],
    ])('answers 400 for %j', async (payload, message) => {
      const id = await up(alice, 'e.wav', true);
      const r = await put(alice, id, payload);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 400, message });
    });

    it('answers 403 to another user, even for a public file, and changes nothing', async () => {
      const id = await up(alice, 'mine.wav', true);
      const r = await put(bob, id, { file_name: 'stolen.wav' });
      expect(r.statusCode).toBe(403);
      const row = await t.db.db
        .selectFrom('files')
        .select('file_name')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row.file_name).toBe('mine.wav');
    });

    it('answers 404 for an unknown id, 400 for a malformed one, 401 without a token', async () => {
      expect((await put(alice, UNKNOWN, { description: 'x' })).statusCode).toBe(404);
      expect((await put(alice, 'nope', { description: 'x' })).statusCode).toBe(400);
      expect((await put(undefined, UNKNOWN, { description: 'x' })).statusCode).toBe(401);
    });
  });

  describe('update_content', () => {
    const replace = (user: User, id: string, file: { name: string; bytes: Buffer }) =>
      upload(t.base, user.access, file, {}, `/api/file/update_content/${id}`);
    const keyOf = async (id: string) =>
      (
        await t.db.db
          .selectFrom('files')
          .select('storage_key')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).storage_key;

    it('replaces audio by audio, serves the new bytes and removes the old blob', async () => {
      const id = await up(alice, 'v1.wav', false, makeWav(1, 16000, 300));
      const oldKey = await keyOf(id);
      const mp3 = read('speech/spk02_m_en_jfk.mp3');
      const r = await replace(alice, id, { name: 'v2.mp3', bytes: mp3 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({
        code: 200,
        file: {
          file_id: id,
          file_name: 'v2.mp3',
          file_type: 'audio/mpeg',
          file_size: mp3.length,
          is_public: false,
          audio: { sample_rate: 44100, channels: 1 },
        },
      });
      const dl = await download(`${t.base}/api/file/download/${id}`, bearer(alice.access));
      expect(dl.headers.get('content-type')).toBe('audio/mpeg');
      expect(sha256(dl.bytes)).toBe(sha256(mp3));
      expect(storedFiles(t)).not.toContain(oldKey);
      expect(storedFiles(t)).toContain(await keyOf(id));
    });

    it('changes the ETag when the content changes', async () => {
      const id = await up(alice, 'etag.wav', false, makeWav(1, 16000, 300));
      const before = (
        await download(`${t.base}/api/file/download/${id}`, bearer(alice.access))
      ).headers.get('etag');
      await replace(alice, id, { name: 'etag.wav', bytes: makeWav(1, 16000, 500) });
      const after = await download(`${t.base}/api/file/download/${id}`, {
        ...bearer(alice.access),
        'if-none-match': before!,
      });
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(before);
    });

    it('refuses an image for audio with 415, keeps serving the old bytes and leaves no new blob', async () => {
      const wav = makeWav(1, 16000, 330);
      const id = await up(alice, 'keep.wav', false, wav);
      const files = storedFiles(t);
      const r = await replace(alice, id, { name: 'pic.png', bytes: png });
      expect(r.status).toBe(415);
      expect(r.body.message).toMatch(/audio file can only be replaced by audio/);
      const dl = await download(`${t.base}/api/file/download/${id}`, bearer(alice.access));
      expect(sha256(dl.bytes)).toBe(sha256(wav));
      expect(storedFiles(t)).toEqual(files);
    });

    it('replaces an image by an image, and refuses audio for an image', async () => {
      const id = await up(alice, 'pic.png', true, png);
      const ok = await replace(alice, id, { name: 'pic.jpg', bytes: jpg });
      expect(ok.status).toBe(200);
      expect(ok.body.file).toMatchObject({ file_type: 'image/jpeg', audio: null });
      const files = storedFiles(t);
      const no = await replace(alice, id, { name: 'a.wav', bytes: makeWav(1) });
      expect(no.status).toBe(415);
      expect(storedFiles(t)).toEqual(files);
    });

    it('refuses corrupt audio with 422 and keeps the old content', async () => {
      const wav = makeWav(1);
      const id = await up(alice, 'c.wav', false, wav);
      const files = storedFiles(t);
      const r = await replace(alice, id, {
        name: 'bad.wav',
        bytes: read('bad/wrong_header_sizes.wav'),
      });
      expect(r.status).toBe(422);
      expect(storedFiles(t)).toEqual(files);
      const dl = await download(`${t.base}/api/file/download/${id}`, bearer(alice.access));
      expect(sha256(dl.bytes)).toBe(sha256(wav));
    });

    it('answers 403 to another user and stores nothing', async () => {
      const id = await up(alice, 'x.wav', true);
      const files = storedFiles(t);
      const r = await replace(bob, id, { name: 'y.wav', bytes: makeWav(1) });
      expect(r.status).toBe(403);
      expect(storedFiles(t)).toEqual(files);
    });

    it('answers 400 without a file part, 404 for an unknown id', async () => {
      const id = await up(alice, 'z.wav', true);
      const none = await upload(
        t.base,
        alice.access,
        undefined,
        { x: '1' },
        `/api/file/update_content/${id}`,
      );
      expect(none.status).toBe(400);
      expect(none.body.message).toBe('Missing fields: file');
      const unknown = await replace(alice, UNKNOWN, { name: 'y.wav', bytes: makeWav(1) });
      expect(unknown.status).toBe(404);
    });
  });

  describe('delete', () => {
    const del = (user: User, id: string) =>
      t.app.inject({
        method: 'DELETE',
        url: `/api/file/delete/${id}`,
        headers: bearer(user.access),
      });

    it('lets the owner delete: the row and the blob go', async () => {
      const id = await up(alice, 'd.wav', true);
      const key = (await rowKeys(t)).length;
      const row = await t.db.db
        .selectFrom('files')
        .select('storage_key')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(storedFiles(t)).toContain(row.storage_key);
      const r = await del(alice, id);
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ code: 200, message: 'delete file success', file_id: id });
      expect(await rowKeys(t)).toHaveLength(key - 1);
      expect(storedFiles(t)).not.toContain(row.storage_key);
      expect(
        (await download(`${t.base}/api/file/download/${id}`, bearer(alice.access))).status,
      ).toBe(404);
      expect((await del(alice, id)).statusCode).toBe(404);
    });

    it('answers 403 to another user, even for a public file', async () => {
      const id = await up(alice, 'keep.wav', true);
      const count = await fileRowCount(t);
      expect((await del(bob, id)).statusCode).toBe(403);
      expect(await fileRowCount(t)).toBe(count);
    });

    it('answers 400 for a malformed id', async () => {
      expect((await del(alice, 'zzz')).statusCode).toBe(400);
    });

    it('answers 409 naming the voice that uses the file, and keeps it', async () => {
      const id = await up(alice, 'sample.wav', false);
      const now = new Date().toISOString();
      const voiceId = '018f0000-0000-7000-8000-0000000000aa';
      await t.db.db
        .insertInto('voices')
        .values({
          id: voiceId,
          voice_name: 'Alice Voice',
          voice_gender: 'female',
          voice_description: 'd',
          is_public: 0,
          sample_file_id: id,
          audition_file_id: null,
          call_name: null,
          provider: 'offline',
          target_model: 'offline-v1',
          status: 'ready',
          error_info: null,
          quality: null,
          created_by: alice.userId,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const files = storedFiles(t);
      const r = await del(alice, id);
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({
        code: 409,
        message: expect.stringContaining('Alice Voice'),
        voice_id: voiceId,
      });
      expect(storedFiles(t)).toEqual(files);
      expect(
        (await download(`${t.base}/api/file/download/${id}`, bearer(alice.access))).status,
      ).toBe(200);
    });
  });
});
