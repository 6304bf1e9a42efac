import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import {
  fileRowCount,
  makeWav,
  serveApp,
  storedFiles,
  until,
  type Served,
} from '../files/helpers.js';
import { rawRequest } from './raw.js';

/** Every answer of the API is the `{code, message}` envelope with code = HTTP status. */
function expectEnvelope(status: number, body: string, want: number) {
  expect(status, body).toBe(want);
  const json = JSON.parse(body);
  expect(json).toMatchObject({ code: want, message: expect.any(String) });
  return json;
}

describe('the HTTP edge answers bad input with a 4xx inside the envelope', () => {
  let t: Served;
  let token: string;
  let port: number;

  beforeAll(async () => {
    t = await serveApp('sqlite', { UPLOAD_IDLE_TIMEOUT_SEC: '1', UPLOAD_TIMEOUT_SEC: '3' });
    token = (await registerUser(t.app)).access;
    port = Number(new URL(t.base).port);
  });
  afterAll(async () => t.close());

  const post = (url: string, payload: string | object, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { ...bearer(token), 'content-type': 'application/json', ...headers },
      payload,
    });

  it.each(['/api/voice/get_voices', '/api/file/list'])(
    '%s: absurd page numbers fall back to page 1 (contract), never a 500',
    async (url) => {
      for (const raw of [
        '{"page":1e21}',
        '{"page":"99999999999999999999999"}',
        '{"page":1e308,"page_size":1e308}',
        '{"page":-1e21,"page_size":"1e21"}',
      ]) {
        const res = await post(url, raw);
        const body = expectEnvelope(res.statusCode, res.body, 200);
        if (url.includes('file')) expect(body.current_page).toBe(1);
      }
    },
  );

  it('get_voices: a key_word over 1000 characters is a 400 naming it; a long one matches nothing', async () => {
    const huge = await post('/api/voice/get_voices', { key_word: 'x'.repeat(50_000) });
    const body = expectEnvelope(huge.statusCode, huge.body, 400);
    expect(body.message).toBe('Invalid field: key_word');
    const long = await post('/api/voice/get_voices', { key_word: '名'.repeat(51) });
    expect(expectEnvelope(long.statusCode, long.body, 200)).toMatchObject({
      message: 'no voice found',
      voices: [],
    });
  });

  it('wrong types are a 400 naming the field', async () => {
    const res = await post('/api/file/list', { only_mine: 'maybe' });
    expect(expectEnvelope(res.statusCode, res.body, 400).message).toBe('Invalid field: only_mine');
  });

  it.each([
    ['garbage after the boundary', 'multipart/form-data; boundary=XyZ', 'not a multipart body'],
    [
      'a part that never ends',
      'multipart/form-data; boundary=XyZ',
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF',
    ],
    [
      'a malformed part header',
      'multipart/form-data; boundary=XyZ',
      '--XyZ\r\nContent-Disposition\r\n\r\nxx\r\n--XyZ--\r\n',
    ],
    ['no boundary at all', 'multipart/form-data', '--XyZ\r\n\r\n'],
  ])('a malformed multipart body (%s) is a 4xx and stores nothing', async (_name, type, body) => {
    const rows = await fileRowCount(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/file/upload',
      headers: { ...bearer(token), 'content-type': type },
      payload: body,
    });
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, res.body).toBeLessThan(500);
    expectEnvelope(res.statusCode, res.body, res.statusCode);
    expect(await fileRowCount(t)).toBe(rows);
  });

  it('a body cut short inside a file part is a 400 at once, not a wait for the upload timeout', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/file/upload',
      headers: { ...bearer(token), 'content-type': 'multipart/form-data; boundary=XyZ' },
      payload: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF',
    });
    expect(expectEnvelope(res.statusCode, res.body, 400)).toMatchObject({
      message: 'Malformed multipart body',
    });
  });

  it('bad percent-encoding in the path is a 400', async () => {
    const res = await fetch(`${t.base}/api/file/download/%E0%A4%A`, { headers: bearer(token) });
    expectEnvelope(res.status, await res.text(), 400);
  });

  it('bad percent-encoding in the query is not a 5xx', async () => {
    const res = await fetch(`${t.base}/api/voice/create_voice?async=%ZZ%E0%A4%A`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: '{}',
    });
    expectEnvelope(res.status, await res.text(), 400);
  });

  it('a path parameter longer than any id is a 414', async () => {
    const res = await fetch(`${t.base}/api/file/download/${'a'.repeat(500)}`, {
      headers: bearer(token),
    });
    expectEnvelope(res.status, await res.text(), 414);
  });

  it('a URL over 8 KiB is a 414, request headers over 16 KiB a 431', async () => {
    const res = await fetch(`${t.base}/api/voice/my_voices?x=${'a'.repeat(9000)}`, {
      headers: bearer(token),
    });
    expectEnvelope(res.status, await res.text(), 414);
    const big = await rawRequest(port, [
      `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]);
    expectEnvelope(big.status, big.body, 431);
  });

  it.each([
    ['a non-numeric Content-Length', 'Content-Length: abc\r\n'],
    ['two different Content-Lengths', 'Content-Length: 2\r\nContent-Length: 3\r\n'],
    [
      'Content-Length beside chunked encoding',
      'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n',
    ],
  ])('%s is a 400', async (_name, header) => {
    const res = await rawRequest(port, [
      `POST /api/file/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${header}\r\n{}`,
    ]);
    expectEnvelope(res.status, res.body, 400);
  });

  it('a request line that is not HTTP is a 400', async () => {
    const res = await rawRequest(port, ['HELLO THERE\r\n\r\n']);
    expectEnvelope(res.status, res.body, 400);
  });

  it('a body over the JSON limit is a 413, an unknown content type a 415', async () => {
    const big = await post('/api/file/list', JSON.stringify({ x: 'a'.repeat(1_100_000) }));
    expectEnvelope(big.statusCode, big.body, 413);
    const odd = await post('/api/file/list', 'page=1', { 'content-type': 'text/x-odd' });
    expectEnvelope(odd.statusCode, odd.body, 415);
  });

  describe('slow uploads', () => {
    const boundary = 'slowBoundary';
    const head = (length: number) =>
      `POST /api/file/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n`;
    const partHead =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.wav"\r\n` +
      'Content-Type: audio/wav\r\n\r\n';

    it('an upload that stalls gets 408 and leaves no temporary file, row or blob', async () => {
      const rows = await fileRowCount(t);
      const blobs = storedFiles(t).filter((f) => f.startsWith('blobs/')).length;
      const wav = makeWav(2);
      const res = await rawRequest(
        port,
        [head(partHead.length + wav.length + 100), partHead, wav.subarray(0, 20_000)],
        { timeoutMs: 8000 },
      );
      const body = expectEnvelope(res.status, res.body, 408);
      expect(body.error_info).toMatch(/no data received/);
      expect(res.headers.connection).toBe('close');
      await until(() => !storedFiles(t).some((f) => f.startsWith('.tmp/')), 3000);
      expect(await fileRowCount(t)).toBe(rows);
      expect(storedFiles(t).filter((f) => f.startsWith('blobs/')).length).toBe(blobs);
    });

    it('an upload that trickles past the total time limit gets 408', async () => {
      const wav = makeWav(2);
      const chunks: Buffer[] = [];
      for (let i = 0; i < 40; i++) chunks.push(wav.subarray(i * 100, (i + 1) * 100));
      const res = await rawRequest(
        port,
        [head(partHead.length + wav.length + 100), partHead, ...chunks],
        { gapMs: 250, timeoutMs: 10_000 },
      );
      const body = expectEnvelope(res.status, res.body, 408);
      expect(body.error_info).toMatch(/longer than 3 s/);
      await until(() => !storedFiles(t).some((f) => f.startsWith('.tmp/')), 3000);
    });
  });
});
