import { readFileSync } from 'node:fs';
import { deriveKey } from '../../../src/services/keys.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { audioSamples } from '../../helpers/fixtures.js';
import { UrlSigner } from '../../../src/storage/signed-url.js';
import { download, serveApp, upload, type Served } from './helpers.js';

const dialects = await testDialects();
const wav = readFileSync(
  audioSamples().find((s) => s.entry.file === 'speech/spk02_m_en_jfk_16k_mono.wav')!.path,
);

describe.each(dialects)('signed provider download on %s', (dialect) => {
  let t: Served;
  let fileId: string;
  let otherId: string;
  let secret: string;

  beforeAll(async () => {
    t = await serveApp(dialect);
    // Links are signed with their own key, derived from the configured secret.
    secret = deriveKey(t.config.jwt.secret, 'signed-links').toString('base64url');
    const u = await registerUser(t.app);
    const r = await upload(
      t.base,
      u.access,
      { name: 'jfk.wav', bytes: wav },
      { is_public: 'false' },
    );
    const r2 = await upload(
      t.base,
      u.access,
      { name: 'b.wav', bytes: wav },
      { is_public: 'false' },
    );
    fileId = r.body.file_id;
    otherId = r2.body.file_id;
  });
  afterAll(async () => t.close());

  it('builds the link from PUBLIC_BASE_URL on the seed path with exp and sig', () => {
    const { url, expiresAt } = t.app.services.files.signedUrl(fileId);
    expect(url.startsWith(`${t.base}/api/temfile/download/${fileId}?exp=`)).toBe(true);
    expect(url).toMatch(/[?&]sig=[A-Za-z0-9_-]{43}$/);
    const ttl = expiresAt.getTime() - Date.now();
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
  });

  it.each(['temfile', 'tempfile'])(
    'serves a private file without a JWT on /api/%s/download',
    async (prefix) => {
      const signed = new URL(t.app.services.files.signedUrl(fileId).url);
      signed.pathname = `/api/${prefix}/download/${fileId}`;
      const r = await download(signed.toString());
      expect(r.status).toBe(200);
      expect(r.bytes.equals(wav)).toBe(true);
      expect(r.headers.get('content-type')).toBe('audio/wav');
      expect(r.headers.get('accept-ranges')).toBe('bytes');
    },
  );

  it('supports Range on the signed link', async () => {
    const r = await download(t.app.services.files.signedUrl(fileId).url, { range: 'bytes=0-43' });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 0-43/${wav.length}`);
    expect(r.bytes.equals(wav.subarray(0, 44))).toBe(true);
  });

  it('answers 403 without a signature', async () => {
    for (const prefix of ['temfile', 'tempfile']) {
      const r = await download(`${t.base}/api/${prefix}/download/${fileId}`);
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ code: 403, message: 'Invalid or missing download signature' });
    }
    const onlyExp = new URL(t.app.services.files.signedUrl(fileId).url);
    onlyExp.searchParams.delete('sig');
    expect((await download(onlyExp.toString())).status).toBe(403);
  });

  it('answers 403 for a tampered signature or expiry', async () => {
    const url = new URL(t.app.services.files.signedUrl(fileId).url);
    const sig = url.searchParams.get('sig')!;
    const flipped = new URL(url);
    flipped.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    expect((await download(flipped.toString())).status).toBe(403);
    const later = new URL(url);
    later.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600));
    expect((await download(later.toString())).status).toBe(403);
    const short = new URL(url);
    short.searchParams.set('sig', sig.slice(0, 10));
    expect((await download(short.toString())).status).toBe(403);
  });

  it("answers 403 for another file's signature", async () => {
    const theirs = new URL(t.app.services.files.signedUrl(otherId).url);
    const forged = `${t.base}/api/temfile/download/${fileId}${theirs.search}`;
    const r = await download(forged);
    expect(r.status).toBe(403);
  });

  it('answers 403 for an expired link (exp in the past, correctly signed)', async () => {
    const past = new UrlSigner(secret, t.base, 60, () => new Date(Date.now() - 3600_000));
    const r = await download(past.sign(fileId).url);
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ code: 403, message: 'Download link has expired' });
  });

  it('does not accept a link signed with another secret', async () => {
    const wrong = new UrlSigner('x'.repeat(40), t.base, 60);
    expect((await download(wrong.sign(fileId).url)).status).toBe(403);
  });

  it('verifies before looking up: an unknown id with a bad signature is 403, not 404', async () => {
    const r = await download(`${t.base}/api/temfile/download/018f0000-0000-7000-8000-000000000000`);
    expect(r.status).toBe(403);
  });

  it('answers 404 for a validly signed link to a deleted file', async () => {
    const url = t.app.services.files.signedUrl('018f0000-0000-7000-8000-000000000000').url;
    expect((await download(url)).status).toBe(404);
  });
});

describe.each(dialects)('signed link lifetime on %s', (dialect) => {
  let t: Served;
  beforeAll(async () => {
    t = await serveApp(dialect, { SIGNED_URL_TTL_SEC: '1' });
  });
  afterAll(async () => t.close());

  it('stops working once SIGNED_URL_TTL_SEC has passed', async () => {
    const u = await registerUser(t.app);
    const r = await upload(t.base, u.access, { name: 'a.wav', bytes: wav }, { is_public: 'false' });
    const { url, expiresAt } = t.app.services.files.signedUrl(r.body.file_id);
    expect((await download(url)).status).toBe(200);
    await new Promise((res) => setTimeout(res, expiresAt.getTime() - Date.now() + 1100));
    const late = await download(url);
    expect(late.status).toBe(403);
    expect(late.json.message).toBe('Download link has expired');
  });
});
