/**
 * Hostile audio (hours behind headers that claim seconds or nothing, WAV
 * files with absurd headers) is refused with a 4xx at upload, at
 * assess_sample and at create_voice, leaves no row and no blob, and never
 * makes the process grow past the documented bound: decoding stops at
 * MAX_SAMPLE_SEC + 10 s of content whatever the headers say.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bearer, makeApp, registerUser, type TestApp } from '../../helpers/app.js';
import { hostileAudio, type HostileFile } from '../../helpers/hostile-audio.js';

/** Peak RSS bound of the process under test (also in the README). */
const RSS_BOUND_MB = 600;

let t: TestApp;
let token: string;
let userId: string;
let files: HostileFile[];
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

beforeAll(async () => {
  // A quarter of an hour is already seven times the decode bound.
  files = await hostileAudio(0.25);
  t = await makeApp('sqlite', { MAX_SAMPLE_SEC: '120' });
  ({ access: token, userId } = await registerUser(t.app));
}, 300_000);
afterAll(async () => {
  clearInterval(sampler);
  await t?.close();
});

function multipart(name: string, bytes: Uint8Array) {
  const boundary = '----hostile' + Math.random().toString(16).slice(2);
  return {
    headers: { ...bearer(token), 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
  };
}

function blobCount(): number {
  const dir = path.join(t.dataDir, 'files');
  const walk = (d: string): number =>
    readdirSync(d, { withFileTypes: true }).reduce(
      (n, e) => n + (e.isDirectory() ? walk(path.join(d, e.name)) : 1),
      0,
    );
  try {
    return walk(dir);
  } catch {
    return 0;
  }
}

async function fileCount(): Promise<number> {
  const r = await t.app.inject({
    method: 'POST',
    url: '/api/file/list',
    headers: bearer(token),
    payload: { page: 1, page_size: 100 },
  });
  return (r.json<{ files?: unknown[]; data?: unknown[] }>().files ?? []).length;
}

describe('hostile audio', () => {
  it('is refused at upload with a 4xx and a reason, leaving no row and no blob', async () => {
    const blobsBefore = blobCount();
    const rowsBefore = await fileCount();
    for (const f of files) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/file/upload',
        ...multipart(f.file, f.bytes),
      });
      expect(r.statusCode, `${f.name}: ${r.body}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, `${f.name}: ${r.body}`).toBeLessThan(500);
      const body = r.json<{ code: number; error_info?: string }>();
      expect(body.code).toBe(r.statusCode);
      expect(body.error_info, f.name).toBeTruthy();
    }
    expect(await fileCount()).toBe(rowsBefore);
    expect(blobCount()).toBe(blobsBefore);
  });

  it('is refused at assess_sample and create_voice when it was stored before these checks', async () => {
    const long = files.filter((f) => !f.file.endsWith('.wav'));
    for (const f of long) {
      // Rows that predate the upload checks (stored directly, as an old release would have).
      const row = await t.app.services.files.storeGenerated({
        ownerId: userId,
        name: f.file,
        ext: path.extname(f.file).slice(1),
        bytes: f.bytes,
        description: 'legacy',
        isPublic: false,
      });
      const assess = await t.app.inject({
        method: 'POST',
        url: '/api/voice/assess_sample',
        headers: bearer(token),
        payload: { audio_file_id: row.id },
      });
      expect(assess.statusCode, `${f.name}: ${assess.body}`).toBe(422);
      expect(assess.json<{ error_info: string }>().error_info).toMatch(/longer than 120 s/);
      const create = await t.app.inject({
        method: 'POST',
        url: '/api/voice/create_voice',
        headers: bearer(token),
        payload: {
          audio_file_id: row.id,
          voice_name: 'hostile',
          voice_gender: 'male',
          voice_description: 'x',
        },
      });
      expect(create.statusCode, `${f.name}: ${create.body}`).toBe(422);
    }
    const voices = await t.app.inject({
      method: 'POST',
      url: '/api/voice/get_voices',
      headers: bearer(token),
      payload: { created_by_current_user: true },
    });
    expect(voices.json<{ voices: unknown[] }>().voices).toHaveLength(0);
  });

  it(`keeps the process under ${RSS_BOUND_MB} MB of RSS throughout`, () => {
    expect(peakRss / 2 ** 20).toBeLessThan(RSS_BOUND_MB);
  });
});
