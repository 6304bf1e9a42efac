import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { audioSamples } from '../../helpers/fixtures.js';
import { download, serveApp, upload, type Served } from './helpers.js';

const dialects = await testDialects();
const mp3 = audioSamples().find((s) => s.entry.file === 'speech/spk02_m_en_jfk.mp3')!;
const bytes = readFileSync(mp3.path);
const size = bytes.length;

describe.each(dialects)('file download on %s', (dialect) => {
  let t: Served;
  let owner: { access: string; userId: string };
  let other: { access: string };
  let privateId: string;
  let publicId: string;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const url = (id: string) => `${t.base}/api/file/download/${id}`;

  beforeAll(async () => {
    t = await serveApp(dialect);
    owner = await registerUser(t.app);
    other = await registerUser(t.app);
    const priv = await upload(
      t.base,
      owner.access,
      { name: 'jfk.mp3', bytes },
      { is_public: 'false' },
    );
    const pub = await upload(
      t.base,
      owner.access,
      { name: 'jfk.mp3', bytes },
      { is_public: 'true' },
    );
    expect(priv.status).toBe(201);
    expect(pub.status).toBe(201);
    privateId = priv.body.file_id;
    publicId = pub.body.file_id;
  });
  afterAll(async () => t.close());

  describe('access', () => {
    it('serves a private file to its owner with type, length and Accept-Ranges', async () => {
      const r = await download(url(privateId), auth(owner.access));
      expect(r.status).toBe(200);
      expect(r.bytes.equals(bytes)).toBe(true);
      expect(r.headers.get('content-type')).toBe('audio/mpeg');
      expect(r.headers.get('content-length')).toBe(String(size));
      expect(r.headers.get('accept-ranges')).toBe('bytes');
      expect(r.headers.get('cache-control')).toMatch(/^private/);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it("answers 403 for another user's private file", async () => {
      const r = await download(url(privateId), auth(other.access));
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ code: 403, message: expect.stringMatching(/Permission/) });
      expect(r.headers.get('content-type')).toMatch(/json/);
    });

    it('serves a public file to another user', async () => {
      const r = await download(url(publicId), auth(other.access));
      expect(r.status).toBe(200);
      expect(r.bytes.equals(bytes)).toBe(true);
      expect(r.headers.get('cache-control')).toMatch(/^public/);
    });

    it('answers 404 for an unknown uuid', async () => {
      const r = await download(url('018f0000-0000-7000-8000-000000000000'), auth(owner.access));
      expect(r.status).toBe(404);
      expect(r.json).toMatchObject({ code: 404, message: 'File not found' });
    });

    it.each(['not-a-uuid', '1', "x' OR '1'='1", '018f0000-0000-7000-8000-00000000000g'])(
      'answers 400 for the malformed id %s',
      async (id) => {
        const r = await download(url(encodeURIComponent(id)), auth(owner.access));
        expect(r.status).toBe(400);
        expect(r.json).toMatchObject({ code: 400, message: 'Invalid file_id format' });
      },
    );

    it('answers 401 without a token, even for a public file', async () => {
      const r = await download(url(publicId));
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ code: 401, msg: 'Missing Authorization Header' });
    });

    it('answers 401 for a garbage token', async () => {
      const r = await download(url(publicId), auth('garbage'));
      expect(r.status).toBe(401);
    });
  });

  describe('ranges', () => {
    const get = (range: string, extra: Record<string, string> = {}) =>
      download(url(privateId), { ...auth(owner.access), range, ...extra });

    it('serves bytes=0-99 as 206 with Content-Range and exactly those bytes', async () => {
      const r = await get('bytes=0-99');
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes 0-99/${size}`);
      expect(r.headers.get('content-length')).toBe('100');
      expect(r.headers.get('content-type')).toBe('audio/mpeg');
      expect(r.bytes.equals(bytes.subarray(0, 100))).toBe(true);
    });

    it('serves a middle range', async () => {
      const r = await get('bytes=1000-1999');
      expect(r.status).toBe(206);
      expect(r.bytes.equals(bytes.subarray(1000, 2000))).toBe(true);
    });

    it('serves the suffix range bytes=-100 (the last 100 bytes)', async () => {
      const r = await get('bytes=-100');
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${size - 100}-${size - 1}/${size}`);
      expect(r.bytes.equals(bytes.subarray(size - 100))).toBe(true);
    });

    it('serves the open-ended range bytes=100-', async () => {
      const r = await get('bytes=100-');
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes 100-${size - 1}/${size}`);
      expect(r.bytes.equals(bytes.subarray(100))).toBe(true);
    });

    it('clamps an end past the file to its last byte', async () => {
      const r = await get(`bytes=${size - 10}-${size + 1000}`);
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
      expect(r.bytes.length).toBe(10);
    });

    it('answers 416 with Content-Range bytes */size for a range past the end', async () => {
      const r = await get(`bytes=${size}-`);
      expect(r.status).toBe(416);
      expect(r.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(r.json).toMatchObject({ code: 416 });
    });

    it.each(['bytes=abc', 'bytes=5-2', 'items=0-9', 'bytes=0-9,20-29', 'bytes=-'])(
      'ignores the malformed or unsupported Range %s and serves the whole body',
      async (range) => {
        const r = await get(range);
        expect(r.status).toBe(200);
        expect(r.headers.get('content-range')).toBeNull();
        expect(r.bytes.equals(bytes)).toBe(true);
      },
    );

    it('honours If-Range with the current ETag and ignores the range with a stale one', async () => {
      const etag = (await download(url(privateId), auth(owner.access))).headers.get('etag')!;
      const fresh = await get('bytes=0-9', { 'if-range': etag });
      expect(fresh.status).toBe(206);
      const stale = await get('bytes=0-9', { 'if-range': '"stale"' });
      expect(stale.status).toBe(200);
      expect(stale.bytes.length).toBe(size);
    });

    it('serves ranges through a public file to another user too', async () => {
      const r = await download(url(publicId), { ...auth(other.access), range: 'bytes=0-0' });
      expect(r.status).toBe(206);
      expect(r.bytes).toEqual(bytes.subarray(0, 1));
    });
  });

  describe('conditional requests', () => {
    it('sends an ETag and answers If-None-Match with 304 and no body', async () => {
      const first = await download(url(privateId), auth(owner.access));
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      const again = await download(url(privateId), {
        ...auth(owner.access),
        'if-none-match': etag!,
      });
      expect(again.status).toBe(304);
      expect(again.bytes.length).toBe(0);
      expect(again.headers.get('etag')).toBe(etag);
      const weak = await download(url(privateId), {
        ...auth(owner.access),
        'if-none-match': `"other", W/${etag}`,
      });
      expect(weak.status).toBe(304);
    });

    it('answers a non-matching If-None-Match with the full body', async () => {
      const r = await download(url(privateId), {
        ...auth(owner.access),
        'if-none-match': '"nope"',
      });
      expect(r.status).toBe(200);
      expect(r.bytes.length).toBe(size);
    });

    it('answers If-Modified-Since at or after Last-Modified with 304, before it with 200', async () => {
      const first = await download(url(privateId), auth(owner.access));
      const lm = first.headers.get('last-modified')!;
      expect(new Date(lm).toUTCString()).toBe(lm);
      const same = await download(url(privateId), {
        ...auth(owner.access),
        'if-modified-since': lm,
      });
      expect(same.status).toBe(304);
      const earlier = new Date(Date.parse(lm) - 60_000).toUTCString();
      const older = await download(url(privateId), {
        ...auth(owner.access),
        'if-modified-since': earlier,
      });
      expect(older.status).toBe(200);
      const garbage = await download(url(privateId), {
        ...auth(owner.access),
        'if-modified-since': 'yesterday',
      });
      expect(garbage.status).toBe(200);
    });

    it('checks access before answering 304 (no existence leak to other users)', async () => {
      const etag = (await download(url(privateId), auth(owner.access))).headers.get('etag')!;
      const r = await download(url(privateId), { ...auth(other.access), 'if-none-match': etag });
      expect(r.status).toBe(403);
    });
  });

  it('answers 404 with a reason when the blob vanished behind the row', async () => {
    const up = await upload(t.base, owner.access, { name: 'gone.mp3', bytes });
    const row = await t.db.db
      .selectFrom('files')
      .select('storage_key')
      .where('id', '=', up.body.file_id)
      .executeTakeFirstOrThrow();
    await t.app.services.blobs.delete(row.storage_key);
    const r = await download(url(up.body.file_id), auth(owner.access));
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ code: 404, message: 'File content is missing' });
  });
});
