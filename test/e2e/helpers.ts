/**
 * Plumbing shared by the end-to-end suites: JSON calls and uploads over real
 * sockets, user registration, waiting for a voice, and small audio helpers.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are checked by the tests, not typed */
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/fixtures.js';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON (or empty) request against `base`; the reply body parsed when it is JSON. */
export async function call<T = any>(
  base: string,
  method: string,
  url: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${url}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T };
}

/** Raw bytes of a GET. */
export async function getBytes(
  base: string,
  url: string,
  token?: string,
): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const res = await fetch(`${base}${url}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

let counter = 0;

export interface User {
  userId: string;
  access: string;
  username: string;
}

/** Registers and logs in a fresh e-mail user over HTTP. */
export async function register(base: string, name = 'e2e'): Promise<User> {
  const n = ++counter;
  const username = `${name}${n}`.slice(0, 18);
  const email = `${name}.${Date.now()}.${n}.${process.pid}@example.com`;
  const reg = await call(base, 'POST', '/api/auth/register', {
    body: { username, identifier: email, type: 'email', password: 'secret123', code: '' },
  });
  if (reg.status !== 201)
    throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await call(base, 'POST', '/api/auth/login', {
    body: { identifier: email, type: 'email', password: 'secret123' },
  });
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  return { userId: login.body.user_id, access: login.body.access_token, username };
}

/** Uploads a sample (multipart) and returns its file id. */
export async function uploadSample(
  base: string,
  token: string,
  name: string,
  bytes: Uint8Array,
): Promise<string> {
  const form = new FormData();
  form.append('is_public', 'false');
  form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${base}/api/file/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const body = (await res.json()) as { file_id?: string };
  if (res.status !== 201 || !body.file_id) {
    throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
  }
  return body.file_id;
}

/** The committed 16 kHz mono speech sample DashScope accepts. */
export const SPEECH_WAV = 'speech/spk02_m_en_jfk_16k_mono.wav';
export const speechBytes = (rel = SPEECH_WAV): Buffer => readFileSync(fixture(rel));

/**
 * The 16 kHz mono 16-bit WAV resampled to 8 kHz by dropping every other
 * sample (speech stays speech; DashScope wants ≥ 16 kHz).
 */
export function speech8kWav(): Buffer {
  const src = speechBytes();
  let off = 12;
  let fmt: Buffer | undefined;
  let data: Buffer | undefined;
  while (off + 8 <= src.length) {
    const id = src.toString('ascii', off, off + 4);
    const size = src.readUInt32LE(off + 4);
    const body = src.subarray(off + 8, off + 8 + size);
    if (id === 'fmt ') fmt = body;
    if (id === 'data') data = body;
    off += 8 + size + (size % 2);
  }
  if (!fmt || !data || fmt.readUInt16LE(2) !== 1 || fmt.readUInt16LE(14) !== 16) {
    throw new Error('expected a mono 16-bit PCM WAV');
  }
  const n = Math.floor(data.length / 4);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) pcm.writeInt16LE(data.readInt16LE(i * 4), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}

/** Whether `b` starts like an MP3 stream (ID3 tag or an MPEG audio frame sync). */
export function looksLikeMp3(b: Buffer): boolean {
  if (b.length < 4) return false;
  if (b.toString('latin1', 0, 3) === 'ID3') return true;
  return b[0] === 0xff && (b[1]! & 0xe0) === 0xe0;
}

/** Polls `fn` until it returns a truthy value (returned) or the time runs out. */
export async function until<T>(
  fn: () => Promise<T> | T,
  what: string,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until the voice is `ready` or `failed` (as its owner sees it) and returns it. */
export async function settledVoice(
  base: string,
  token: string,
  voiceId: string,
  timeoutMs = 30_000,
): Promise<any> {
  return until(
    async () => {
      const r = await call(base, 'GET', `/api/voice/${voiceId}`, { token });
      const v = r.body?.voice;
      return v && (v.status === 'ready' || v.status === 'failed') ? v : undefined;
    },
    `voice ${voiceId} to settle`,
    timeoutMs,
    150,
  );
}
