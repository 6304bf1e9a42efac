/**
 * Plumbing for the DashScope provider's integration tests: a fixture server
 * the emulator downloads samples from, a proxy that loses create answers, and
 * small audio helpers. Everything listens on 127.0.0.1 with an ephemeral port.
 */
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fixtureDir } from '../../helpers/fixtures.js';

export interface FixtureServer {
  /** URL of `test/fixtures/audio/<rel>`. */
  url(rel: string): string;
  /** Serves `bytes` at a fresh URL. */
  put(name: string, bytes: Uint8Array): string;
  /** How many times `rel` was downloaded. */
  hits(rel: string): number;
  close(): Promise<void>;
}

export async function startFixtureServer(): Promise<FixtureServer> {
  const mem = new Map<string, Uint8Array>();
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\//, '');
    hits.set(p, (hits.get(p) ?? 0) + 1);
    const send = (bytes: Uint8Array): void => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bytes.byteLength,
      });
      res.end(bytes);
    };
    const inMemory = mem.get(p);
    if (inMemory !== undefined) {
      send(inMemory);
      return;
    }
    if (p.includes('..')) {
      res.writeHead(403).end();
      return;
    }
    readFile(path.join(fixtureDir, p)).then(send, () => res.writeHead(404).end('not found'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (rel) => `${base}/${rel}`,
    put: (name, bytes) => {
      mem.set(`mem/${name}`, bytes);
      return `${base}/mem/${name}`;
    },
    hits: (rel) => hits.get(rel) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * An HTTP proxy in front of the emulator that can forward a create_voice,
 * let the emulator finish it, and then lose the answer: `hang` keeps the
 * client waiting (it times out), `reset` cuts the connection.
 */
export interface LossyProxy {
  /** Base URL to use instead of the emulator's `httpBaseUrl`. */
  baseUrl: string;
  /** Lose the answers of the next `times` creates. */
  loseCreates(mode: 'hang' | 'reset', times?: number): void;
  /** Creates forwarded whose answer was lost. */
  lost(): number;
  close(): Promise<void>;
}

export async function startLossyProxy(target: string): Promise<LossyProxy> {
  const upstream = new URL(target);
  let mode: 'hang' | 'reset' = 'hang';
  let toLose = 0;
  let lost = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const lose = toLose > 0 && body.toString('utf8').includes('"create_voice"');
      if (lose) toLose--;
      const up = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (upRes) => {
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            if (lose) {
              lost++;
              if (mode === 'reset') res.socket?.destroy();
              // 'hang': never answer; the client gives up on its own.
              return;
            }
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.end(Buffer.concat(parts));
          });
        },
      );
      up.on('error', () => res.socket?.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}${upstream.pathname}`,
    loseCreates: (m, times = 1) => {
      mode = m;
      toLose = times;
    },
    lost: () => lost,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Reads a whole stream of chunks. */
export async function collect(
  stream: AsyncIterable<Uint8Array>,
): Promise<{ bytes: Buffer; chunks: number }> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  dataBytes: number;
}

/** The canonical 44-byte header fields of a PCM WAV. */
export function wavInfo(bytes: Buffer): WavInfo {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  return {
    channels: bytes.readUInt16LE(22),
    sampleRate: bytes.readUInt32LE(24),
    bitsPerSample: bytes.readUInt16LE(34),
    dataBytes: bytes.length - 44,
  };
}

/** A 16-bit mono PCM WAV of `seconds` of `rate` Hz made from `samples` (repeated). */
export function makeWav(source: Int16Array, rate: number, seconds: number): Uint8Array {
  const n = Math.round(rate * seconds);
  const out = Buffer.alloc(44 + n * 2);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + n * 2, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) out.writeInt16LE(source[i % source.length] ?? 0, 44 + i * 2);
  return out;
}

/** The PCM samples of a canonical 16-bit mono WAV fixture. */
export async function readWavSamples(file: string): Promise<Int16Array> {
  const bytes = await readFile(path.join(fixtureDir, file));
  const dataAt = bytes.indexOf('data', 12, 'ascii');
  const size = bytes.readUInt32LE(dataAt + 4);
  const start = dataAt + 8;
  const copy = Buffer.from(bytes.subarray(start, start + size));
  return new Int16Array(copy.buffer, copy.byteOffset, Math.floor(copy.byteLength / 2));
}

export async function waitFor(
  check: () => boolean,
  timeoutMs = 3000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
