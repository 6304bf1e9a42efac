import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { AppDeps } from '../../../src/app.js';
import type { Dialect } from '../../../src/repositories/db.js';
import { FakeProvider } from '../../doubles/fake-provider.js';
import { bearer, makeApp, type TestApp } from '../../helpers/app.js';
import { fixture } from '../../helpers/fixtures.js';

/** A good committed sample that is cheap to assess (16 kHz mono WAV, 11 s). */
export const GOOD_SAMPLE = 'speech/spk02_m_en_jfk_16k_mono.wav';

const cache = new Map<string, Buffer>();
export function fixtureBytes(rel: string): Buffer {
  let b = cache.get(rel);
  if (!b) {
    b = readFileSync(fixture(rel));
    cache.set(rel, b);
  }
  return b;
}

/** The first `seconds` of a committed 16 kHz mono 16-bit WAV fixture (44-byte header). */
export function wavSlice(rel: string, seconds: number): Buffer {
  const buf = fixtureBytes(rel);
  const n = Math.min(buf.length - 44, Math.round(seconds * 16000) * 2);
  const h = Buffer.from(buf.subarray(0, 44));
  h.writeUInt32LE(36 + n, 4);
  h.writeUInt32LE(n, 40);
  return Buffer.concat([h, buf.subarray(44, 44 + n)]);
}

export interface VoiceTestApp extends TestApp {
  fake: FakeProvider;
}

/** The app with a FakeProvider, short job polling and generous rate limits. */
export async function voiceApp(
  dialect: Dialect,
  env: Record<string, string> = {},
  deps: Partial<Omit<AppDeps, 'config' | 'db'>> = {},
  fake = new FakeProvider(),
): Promise<VoiceTestApp> {
  const t = await makeApp(
    dialect,
    {
      CREATE_VOICE_WAIT_SEC: '10',
      CREATE_RATE_LIMIT_PER_HOUR: '100000',
      RATE_LIMIT_PER_MIN: '100000',
      ...env,
    },
    {
      provider: fake,
      sqlQueue: { pollMs: 20, baseBackoffMs: 20 },
      jobSettings: { pollMinMs: 10, pollMaxMs: 50 },
      ...deps,
    },
  );
  return Object.assign(t, { fake });
}

/** A multipart/form-data body built by hand, for `inject`. */
export function multipartBody(
  fields: Record<string, string>,
  file?: { name: string; bytes: Uint8Array; type?: string },
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----timbre${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`),
    );
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n` +
          `Content-Type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.from(file.bytes),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** Uploads bytes through `POST /api/file/upload`; returns the response. */
export async function uploadBytes(
  app: FastifyInstance,
  token: string,
  name: string,
  bytes: Uint8Array,
  fields: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const { payload, headers } = multipartBody(fields, { name, bytes });
  return app.inject({
    method: 'POST',
    url: '/api/file/upload',
    payload,
    headers: { ...headers, ...bearer(token) },
  });
}

/** Uploads a committed fixture (private unless told otherwise) and returns its file id. */
export async function uploadFixture(
  app: FastifyInstance,
  token: string,
  rel = GOOD_SAMPLE,
  fields: Record<string, string> = { is_public: 'false' },
): Promise<string> {
  const res = await uploadBytes(app, token, path.basename(rel), fixtureBytes(rel), fields);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ file_id: string }>().file_id;
}

export interface CreateBody {
  audio_file_id?: unknown;
  voice_name?: unknown;
  voice_gender?: unknown;
  voice_description?: unknown;
  is_public?: unknown;
  consent?: unknown;
}

/** A parsed JSON body (untyped, as `inject` gives it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

let nameCounter = 0;

/** `POST /api/voice/create_voice` with a complete body unless overridden. */
export function createVoice(
  app: FastifyInstance,
  token: string,
  fileId: string,
  over: CreateBody = {},
  opts: { query?: string; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: `/api/voice/create_voice${opts.query ?? ''}`,
    headers: { ...bearer(token), ...opts.headers },
    payload: {
      audio_file_id: fileId,
      voice_name: `voice ${++nameCounter}`,
      voice_gender: 'female',
      voice_description: 'a test voice',
      ...over,
    },
  });
}

/** Creates a voice synchronously and expects it ready; returns the 200 body's voice. */
export async function readyVoice(
  app: FastifyInstance,
  token: string,
  fileId: string,
  over: CreateBody = {},
): Promise<Json> {
  const res = await createVoice(app, token, fileId, over);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().voice;
}

export const api = (
  app: FastifyInstance,
  token: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
) =>
  app.inject({
    method,
    url,
    headers: bearer(token),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

export async function count(t: TestApp, table: 'voices' | 'files' | 'voice_shares' | 'jobs') {
  const r = await t.db.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Waits until `cond` holds (polling), or fails after `ms`. */
export async function until(
  cond: () => Promise<boolean> | boolean,
  ms = 8000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `GET /api/voice/<id>` until the voice reaches `status`; returns the voice. */
export async function waitForStatus(
  app: FastifyInstance,
  token: string,
  voiceId: string,
  status: string,
  ms = 8000,
): Promise<Json> {
  let last: Json;
  await until(
    async () => {
      const r = await api(app, token, 'GET', `/api/voice/${voiceId}`);
      last = r.json().voice;
      return last?.status === status;
    },
    ms,
    `voice ${voiceId} ${status} (last: ${JSON.stringify(last?.status)})`,
  );
  return last;
}
