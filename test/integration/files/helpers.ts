import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Dialect } from '../../../src/repositories/db.js';
import type { AppDeps } from '../../../src/app.js';
import { makeApp, type TestApp } from '../../helpers/app.js';

/** A parsed JSON body (tests read fields freely). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are untyped JSON
export type Json = any;

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export { freePort } from '../../helpers/spawn.js';
import { freePort } from '../../helpers/spawn.js';

export interface Served extends TestApp {
  base: string;
}

/** The app on a fresh database, listening on 127.0.0.1 with PUBLIC_BASE_URL pointing at it. */
export async function serveApp(
  dialect: Dialect,
  env: Record<string, string> = {},
  deps: Partial<Omit<AppDeps, 'config' | 'db'>> = {},
): Promise<Served> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await makeApp(dialect, { PUBLIC_BASE_URL: base, ...env }, deps);
  await t.app.listen({ port, host: '127.0.0.1' });
  const close = t.close.bind(t);
  // fetch keeps connections alive; now and then one is not "idle" in Node's
  // eyes after its response, and server.close() would wait for the keep-alive
  // timeout. Tests end with every response read, so drop the sockets.
  t.close = async () => {
    t.app.server.closeAllConnections();
    await close();
  };
  return Object.assign(t, { base });
}

/** Uploads through the real socket with fetch + FormData. */
export async function upload(
  base: string,
  token: string,
  file: { name: string; bytes: Uint8Array; type?: string } | undefined,
  fields: Record<string, string> = {},
  url = '/api/file/upload',
): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) {
    form.append(
      'file',
      new Blob([file.bytes], { type: file.type ?? 'application/octet-stream' }),
      file.name,
    );
  }
  const res = await fetch(`${base}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const text = await res.text();
  let body: Json = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: res.status, body };
}

export async function uploadFile(
  t: Served,
  token: string,
  filePath: string,
  fields: Record<string, string> = {},
  name = path.basename(filePath),
) {
  return upload(t.base, token, { name, bytes: readFileSync(filePath) }, fields);
}

/** Downloads with fetch; returns status, headers and the body bytes. */
export async function download(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; bytes: Buffer; json?: Json }> {
  const res = await fetch(url, { headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: Json;
  if ((res.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(bytes.toString());
  return { status: res.status, headers: res.headers, bytes, json };
}

export async function fileRowCount(t: TestApp): Promise<number> {
  const r = await t.db.db
    .selectFrom('files')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Every file under the storage dir, relative, sorted (blobs and temporary leftovers). */
export function storedFiles(t: TestApp): string[] {
  return filesUnder(t.config.storage.dir);
}

/** Every file under `root`, relative, sorted. */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else out.push(r);
    }
  };
  walk(root, '');
  return out.sort();
}

/** The storage keys every row points to, sorted. */
export async function rowKeys(t: TestApp): Promise<string[]> {
  const rows = await t.db.db.selectFrom('files').select('storage_key').execute();
  return rows.map((r) => r.storage_key).sort();
}

/** A minimal valid 16-bit mono PCM WAV of `seconds` of a tone. */
export function makeWav(seconds: number, sampleRate = 16000, freq = 440): Buffer {
  const n = Math.round(seconds * sampleRate);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * freq * i) / sampleRate) * 8000), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Waits until `cond` holds (polling), or fails after `ms`. */
export async function until(cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
