/** Test plumbing: a sample file server, raw HTTP calls and a raw WebSocket client. */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { EmulatorHandle } from '../server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const fixtureDir = path.resolve(here, '..', '..', 'test', 'fixtures', 'audio');

export const KEY = 'sk-test';

// ---- sample server ----

export interface SampleServer {
  url(name: string): string;
  /** Serve these bytes at `/mem/<name>`. */
  put(name: string, bytes: Uint8Array): string;
  /** Bytes written for `/endless` (to show the emulator stops reading early). */
  endlessBytesSent(): number;
  close(): Promise<void>;
}

/**
 * Serves `test/fixtures/audio/<path>` at `/fixtures/<path>`, generated files at `/mem/<name>`,
 * `/status/<code>` and `/endless` (WAV-looking bytes forever, no Content-Length).
 */
export async function startSampleServer(): Promise<SampleServer> {
  const mem = new Map<string, Uint8Array>();
  let endless = 0;
  const server: Server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (bytes: Uint8Array, type = 'application/octet-stream'): void => {
      res.writeHead(200, { 'content-type': type, 'content-length': bytes.byteLength });
      res.end(bytes);
    };
    if (p.startsWith('/fixtures/')) {
      const rel = p.slice('/fixtures/'.length);
      if (rel.includes('..')) return void res.writeHead(403).end();
      readFile(path.join(fixtureDir, rel)).then(
        (b) => send(b),
        () => void res.writeHead(404).end('not found'),
      );
      return;
    }
    if (p.startsWith('/mem/')) {
      const b = mem.get(p.slice('/mem/'.length));
      if (b) send(b);
      else res.writeHead(404).end();
      return;
    }
    const st = /^\/status\/(\d{3})$/.exec(p);
    if (st) return void res.writeHead(Number(st[1])).end('nope');
    if (p === '/endless') {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = (): void => {
        while (!res.destroyed) {
          endless += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => undefined);
      pump();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (name) => `${base}/${name}`,
    put: (name, bytes) => {
      mem.set(name, bytes);
      return `${base}/mem/${name}`;
    },
    endlessBytesSent: () => endless,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

// ---- HTTP ----

export interface ApiResponse {
  status: number;
  // any: arbitrary JSON from the emulator, inspected field by field in assertions
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
  contentType: string | null;
}

export async function rawPost(
  url: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${KEY}` },
): Promise<ApiResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, contentType: res.headers.get('content-type') };
}

/** POST a voice-enrollment call: `{"model":"voice-enrollment","input":{action,...}}`. */
export function enroll(
  emu: EmulatorHandle,
  input: Record<string, unknown>,
  key = KEY,
): Promise<ApiResponse> {
  return rawPost(
    `${emu.httpBaseUrl}/services/audio/tts/customization`,
    { model: 'voice-enrollment', input },
    { authorization: `Bearer ${key}` },
  );
}

export async function waitFor<T>(
  fn: () => Promise<T> | T,
  ok: (v: T) => boolean,
  ms = 5000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Create a voice from a fixture and wait until it is OK. */
export async function createOkVoice(
  emu: EmulatorHandle,
  samples: SampleServer,
  targetModel = 'cosyvoice-v2',
  prefix = 'test',
): Promise<string> {
  const r = await enroll(emu, {
    action: 'create_voice',
    target_model: targetModel,
    prefix,
    url: samples.url('fixtures/speech/spk02_m_en_jfk_16k_mono.wav'),
  });
  if (r.status !== 200) throw new Error(`create_voice failed: ${r.text}`);
  const id = (r.body as { output: { voice_id: string } }).output.voice_id;
  await waitFor(
    () => emu.voices().find((v) => v.voice_id === id)?.status,
    (s) => s === 'OK',
  );
  return id;
}

// ---- WebSocket ----

export type WsMessage =
  // any: server events are arbitrary JSON, inspected field by field in assertions
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { kind: 'event'; event: string; data: any }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'text'; data: string };

export class WsClient {
  readonly closed: Promise<{ code: number; reason: string }>;
  private queue: WsMessage[] = [];
  private waiters: ((m: WsMessage | null) => void)[] = [];
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      let m: WsMessage;
      if (isBinary) m = { kind: 'binary', data: buf };
      else {
        try {
          // any: parsed server event
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const j: any = JSON.parse(buf.toString('utf8'));
          m = { kind: 'event', event: String(j?.header?.event), data: j };
        } catch {
          m = { kind: 'text', data: buf.toString('utf8') };
        }
      }
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) w(null);
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on('error', () => undefined);
  }

  static open(url: string, key: string | null = KEY): Promise<WsClient> {
    const headers: Record<string, string> = key ? { authorization: `bearer ${key}` } : {};
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsClient(ws)));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`unexpected-response ${res.statusCode ?? 0}`)),
      );
      ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Next message, or null once the socket is closed. */
  next(timeoutMs = 5000): Promise<WsMessage | null> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.isClosed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const waiter = (v: WsMessage | null): void => {
        clearTimeout(t);
        resolve(v);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('no message within timeout'));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Everything up to and including the first event named in `until` (or the close). */
  async collect(
    until: string[] = ['task-finished', 'task-failed'],
    timeoutMs = 10_000,
  ): Promise<WsMessage[]> {
    const out: WsMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (!m) return out;
      out.push(m);
      if (m.kind === 'event' && until.includes(m.event)) return out;
    }
  }

  async expectEvent(event: string, timeoutMs = 5000): Promise<WsMessage & { kind: 'event' }> {
    const m = await this.next(timeoutMs);
    if (!m || m.kind !== 'event' || m.event !== event)
      throw new Error(
        `expected ${event}, got ${m ? JSON.stringify(m.kind === 'binary' ? 'binary' : m.data) : 'close'}`,
      );
    return m;
  }

  close(): void {
    this.ws.close();
  }
}

export function newTaskId(): string {
  return randomUUID();
}

export function runTask(
  taskId: string,
  model: string,
  parameters: Record<string, unknown>,
  extra: { header?: Record<string, unknown>; payload?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    header: { action: 'run-task', task_id: taskId, streaming: 'duplex', ...extra.header },
    payload: {
      task_group: 'audio',
      task: 'tts',
      function: 'SpeechSynthesizer',
      model,
      parameters: { text_type: 'PlainText', format: 'pcm', sample_rate: 16000, ...parameters },
      input: {},
      ...extra.payload,
    },
  };
}

export function continueTask(
  taskId: string,
  text: string,
  input: Record<string, unknown> = {},
): unknown {
  return {
    header: { action: 'continue-task', task_id: taskId, streaming: 'duplex' },
    payload: { input: { text, ...input } },
  };
}

export function finishTask(taskId: string): unknown {
  return {
    header: { action: 'finish-task', task_id: taskId, streaming: 'duplex' },
    payload: { input: {} },
  };
}

/** Concatenate the binary frames of a message list. */
export function audioOf(msgs: WsMessage[]): Buffer {
  return Buffer.concat(msgs.flatMap((m) => (m.kind === 'binary' ? [m.data] : [])));
}

export function eventsOf(msgs: WsMessage[]): (WsMessage & { kind: 'event' })[] {
  return msgs.filter((m): m is WsMessage & { kind: 'event' } => m.kind === 'event');
}
