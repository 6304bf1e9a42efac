import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { audioSamples, type ManifestEntry } from '../../helpers/fixtures.js';
import {
  download,
  fileRowCount,
  filesUnder,
  makeWav,
  serveApp,
  sha256,
  storedFiles,
  upload,
  uploadFile,
  type Json,
  type Served,
} from './helpers.js';

const dialects = await testDialects();
const samples = audioSamples();
const AUDIO_EXTS = ['wav', 'mp3', 'ogg', 'flac', 'm4a', 'aac'];
const MIME: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  png: 'image/png',
  jpg: 'image/jpeg',
};

const good = samples.filter(
  (s) => s.entry.expected_verdict === 'good' && AUDIO_EXTS.includes(s.entry.extension),
);
const images = samples.filter((s) => s.entry.category === 'image');

/** The status a bad sample must get at upload, from its manifest verdicts. */
function expectedStatuses(e: ManifestEntry): number[] {
  if (e.size_bytes === 0) return [400];
  const verdicts = [e.expected_verdict, ...(e.alternative_verdicts ?? [])];
  if (e.expected_verdict === 'wrong_type') return [415];
  if (e.expected_verdict === 'corrupt') return verdicts.includes('wrong_type') ? [422, 415] : [422];
  return [201]; // a valid audio file with a quality problem: judged later, not at upload
}
const bad = samples.filter((s) => s.entry.category === 'bad');
const rejected = bad.filter((s) => !expectedStatuses(s.entry).includes(201));
const acceptedBad = bad.filter((s) => expectedStatuses(s.entry).includes(201));

describe.each(dialects)('file upload on %s', (dialect) => {
  let t: Served;
  let token: string;
  beforeAll(async () => {
    t = await serveApp(dialect);
    token = (await registerUser(t.app)).access;
  });
  afterAll(async () => t.close());

  it('covers every audio format in the data set', () => {
    expect(new Set(good.map((s) => s.entry.extension))).toEqual(new Set(AUDIO_EXTS));
  });

  it.each(good.map((s) => [s.entry.file, s] as const))(
    'accepts the good sample %s with the original envelope and serves it byte-identical',
    async (_name, s) => {
      const up = await uploadFile(t, token, s.path, { is_public: 'false', description: 'd' });
      expect(up.status, JSON.stringify(up.body)).toBe(201);
      const b = up.body;
      expect(b).toMatchObject({
        code: 201,
        message: 'upload file success',
        file_name: path.basename(s.entry.file),
        file_path: `/api/file/download/${b.file_id}`,
        file_size: s.entry.size_bytes,
        file_type: MIME[s.entry.extension],
        is_private: false,
        is_public: false,
        description: 'd',
      });
      expect(b.file_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(b.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(b.audio).toMatchObject({
        sample_rate: s.entry.sample_rate_hz,
        channels: s.entry.channels,
        codec: expect.any(String),
      });
      expect(Math.abs(b.audio.duration_sec - s.entry.duration_s!)).toBeLessThanOrEqual(0.3);

      const dl = await download(`${t.base}${b.file_path}`, { authorization: `Bearer ${token}` });
      expect(dl.status).toBe(200);
      expect(dl.headers.get('content-type')).toBe(MIME[s.entry.extension]);
      expect(dl.bytes.length).toBe(s.entry.size_bytes);
      expect(sha256(dl.bytes)).toBe(s.entry.sha256);
    },
  );

  it.each(images.map((s) => [s.entry.file, s] as const))(
    'accepts the image %s without audio info',
    async (_name, s) => {
      const up = await uploadFile(t, token, s.path);
      expect(up.status, JSON.stringify(up.body)).toBe(201);
      expect(up.body).toMatchObject({
        file_type: MIME[s.entry.extension],
        file_size: s.entry.size_bytes,
        is_public: true,
        is_private: true,
        audio: null,
      });
      const dl = await download(`${t.base}${up.body.file_path}`, {
        authorization: `Bearer ${token}`,
      });
      expect(sha256(dl.bytes)).toBe(s.entry.sha256);
    },
  );

  it('keeps the is_private quirk: it carries is_public, which is correct', async () => {
    const wav = makeWav(1);
    const pub = await upload(t.base, token, { name: 'a.wav', bytes: wav });
    expect(pub.body).toMatchObject({ is_public: true, is_private: true });
    const priv = await upload(t.base, token, { name: 'a.wav', bytes: wav }, { is_public: 'false' });
    expect(priv.body).toMatchObject({ is_public: false, is_private: false });
    const row = await t.db.db
      .selectFrom('files')
      .select('is_public')
      .where('id', '=', priv.body.file_id)
      .executeTakeFirstOrThrow();
    expect(Number(row.is_public)).toBe(0);
  });

  it('rejects an is_public that is not a boolean with 400 naming the field', async () => {
    const before = await fileRowCount(t);
    const r = await upload(t.base, token, { name: 'a.wav', bytes: makeWav(1) }, { is_public: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('Invalid field: is_public');
    expect(await fileRowCount(t)).toBe(before);
  });

  it.each(acceptedBad.map((s) => [s.entry.file, s.entry.expected_verdict, s] as const))(
    'accepts %s (a valid recording judged %s later, by quality assessment)',
    async (_name, _verdict, s) => {
      const up = await uploadFile(t, token, s.path);
      expect(up.status, JSON.stringify(up.body)).toBe(201);
      expect(up.body.file_size).toBe(s.entry.size_bytes);
      expect(up.body.audio.sample_rate).toBe(s.entry.sample_rate_hz);
    },
  );

  it.each(rejected.map((s) => [s.entry.file, expectedStatuses(s.entry).join(' or '), s] as const))(
    'rejects %s with %s and leaves no row and no blob',
    async (_name, _codes, s) => {
      const rows = await fileRowCount(t);
      const blobs = storedFiles(t);
      const up = await uploadFile(t, token, s.path);
      expect(expectedStatuses(s.entry), JSON.stringify(up.body)).toContain(up.status);
      expect(up.body).toMatchObject({ code: up.status, message: expect.any(String) });
      expect(up.body.error_info ?? up.body.message).toBeTruthy();
      expect(await fileRowCount(t)).toBe(rows);
      expect(storedFiles(t)).toEqual(blobs);
    },
  );

  describe('request shape', () => {
    const expectNothingStored = async (rows: number, blobs: string[]) => {
      expect(await fileRowCount(t)).toBe(rows);
      expect(storedFiles(t)).toEqual(blobs);
    };

    it('answers 400 "Missing fields: file" without a file part', async () => {
      const r = await upload(t.base, token, undefined, { description: 'x' });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 400, message: 'Missing fields: file' });
    });

    it('answers 400 for a file in another field', async () => {
      const form = new FormData();
      form.append('audio', new Blob([makeWav(1)]), 'a.wav');
      const res = await fetch(`${t.base}/api/file/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      expect(res.status).toBe(400);
    });

    it('answers 400 for two files and stores nothing', async () => {
      const rows = await fileRowCount(t);
      const blobs = storedFiles(t);
      const form = new FormData();
      form.append('file', new Blob([makeWav(1)]), 'a.wav');
      form.append('file', new Blob([makeWav(1, 16000, 220)]), 'b.wav');
      const res = await fetch(`${t.base}/api/file/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).message).toBe('Only one file may be uploaded');
      await expectNothingStored(rows, blobs);
    });

    it('answers 415 with a reason for a JSON body', async () => {
      const res = await fetch(`${t.base}/api/file/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ file: 'x' }),
      });
      expect([400, 415]).toContain(res.status);
      const body = (await res.json()) as Json;
      expect(body.code).toBe(res.status);
      expect(body.message).toMatch(/multipart/i);
    });

    it('answers 415 for a raw octet-stream body', async () => {
      const res = await fetch(`${t.base}/api/file/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: makeWav(1),
      });
      expect([400, 415]).toContain(res.status);
      expect(((await res.json()) as Json).code).toBe(res.status);
    });

    it('answers 401 without a token', async () => {
      const form = new FormData();
      form.append('file', new Blob([makeWav(1)]), 'a.wav');
      const res = await fetch(`${t.base}/api/file/upload`, { method: 'POST', body: form });
      expect(res.status).toBe(401);
    });

    it.each(['notes.txt', 'setup.exe', 'a.wav.exe'])(
      'answers 415 for the unsupported name %s',
      async (name) => {
        const rows = await fileRowCount(t);
        const blobs = storedFiles(t);
        const r = await upload(t.base, token, { name, bytes: makeWav(1) });
        expect(r.status).toBe(415);
        expect(r.body.message).toMatch(/Unsupported file type/);
        await expectNothingStored(rows, blobs);
      },
    );

    it('answers 415 for an extension that lies about a real image', async () => {
      const png = readFileSync(images.find((s) => s.entry.extension === 'png')!.path);
      const r = await upload(t.base, token, { name: 'voice.wav', bytes: png });
      expect(r.status).toBe(415);
      expect(r.body.message).toMatch(/does not match/);
    });

    it('accepts a file without an extension by its content', async () => {
      const r = await upload(t.base, token, { name: 'recording', bytes: makeWav(1) });
      expect(r.status).toBe(201);
      expect(r.body.file_type).toBe('audio/wav');
    });

    it.each(['../../x.mp3', '..\\..\\x.mp3', '/etc/x.mp3', 'C:\\tmp\\x.mp3'])(
      'stores %s as x.mp3 and writes nothing outside the storage dir',
      async (name) => {
        const mp3 = good.find((s) => s.entry.extension === 'mp3')!;
        const before = storedFiles(t);
        const r = await upload(t.base, token, { name, bytes: readFileSync(mp3.path) });
        expect(r.status).toBe(201);
        expect(r.body.file_name).toBe('x.mp3');
        const after = storedFiles(t);
        const added = after.filter((f) => !before.includes(f));
        expect(added).toHaveLength(1);
        expect(added[0]).toMatch(/^blobs\/[0-9a-f-]{36}$/);
        const key = await t.db.db
          .selectFrom('files')
          .select('storage_key')
          .where('id', '=', r.body.file_id)
          .executeTakeFirstOrThrow();
        expect(key.storage_key).toBe(added[0]);
        // Nothing named x.mp3 landed in the data dir or where the traversal points.
        expect(filesUnder(t.dataDir).filter((f) => f.endsWith('x.mp3'))).toEqual([]);
        const storage = t.config.storage.dir;
        for (const dir of [storage, `${storage}/blobs`, `${storage}/..`, `${storage}/../..`]) {
          expect(existsSync(path.resolve(dir, 'x.mp3'))).toBe(false);
        }
      },
    );

    it('round-trips a Chinese file name and downloads it with an RFC 5987 filename*', async () => {
      const name = '我的声音 样本.wav';
      const r = await upload(t.base, token, { name, bytes: makeWav(1) });
      expect(r.status).toBe(201);
      expect(r.body.file_name).toBe(name);
      const dl = await download(`${t.base}${r.body.file_path}`, {
        authorization: `Bearer ${token}`,
      });
      const cd = dl.headers.get('content-disposition')!;
      expect(cd).toContain(`filename*=UTF-8''${encodeURIComponent(name)}`);
      expect(cd).toMatch(/filename="[\x20-\x7e]+"/);
      const list = await t.app.inject({
        method: 'POST',
        url: '/api/file/list',
        headers: { authorization: `Bearer ${token}` },
        payload: { only_mine: true, page_size: 100 },
      });
      expect(list.json().files.map((f: Json) => f.file_name)).toContain(name);
    });
  });

  describe('size limit', () => {
    let small: Served;
    let smallToken: string;
    beforeAll(async () => {
      small = await serveApp(dialect, { FILE_MAX_BYTES: '100000' });
      smallToken = (await registerUser(small.app)).access;
    });
    afterAll(async () => small.close());

    it('answers 413 over FILE_MAX_BYTES and leaves no row, blob or temporary file', async () => {
      const before = storedFiles(small);
      const r = await upload(small.base, smallToken, { name: 'big.wav', bytes: makeWav(10) });
      expect(r.status).toBe(413);
      expect(r.body).toMatchObject({ code: 413, message: 'File too large' });
      expect(r.body.error_info).toContain('100000');
      expect(await fileRowCount(small)).toBe(0);
      expect(storedFiles(small)).toEqual(before);
    });

    it('keeps the connection usable after a refused upload (the unread rest is drained)', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await upload(small.base, smallToken, { name: 'big.wav', bytes: makeWav(10) });
        expect(r.status).toBe(413);
        const ok = await upload(small.base, smallToken, { name: 'ok.wav', bytes: makeWav(1) });
        expect(ok.status).toBe(201);
      }
    });

    it('accepts a file of exactly FILE_MAX_BYTES', async () => {
      const wav = makeWav((100000 - 44) / 2 / 16000);
      expect(wav.length).toBe(100000);
      const r = await upload(small.base, smallToken, { name: 'edge.wav', bytes: wav });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.file_size).toBe(100000);
    });
  });
});
