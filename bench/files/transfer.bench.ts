/**
 * Upload/download throughput of the files API against plain-Node baselines,
 * and the server's peak RSS while it receives a 100 MB upload.
 *
 *   npx tsx bench/files/transfer.bench.ts
 *
 * Everything runs in this one process: the app on SQLite in a temp dir, the
 * client (node:http, streaming from / to disk) and the RSS sampler (every
 * 10 ms), so the RSS figure is client + server together, an upper bound.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/repositories/db.js';
import { migrateToLatest } from '../../src/repositories/migrate.js';

const SIZE_MB = Number(process.env.BENCH_MB ?? 100);
const RUNS = 3;
const MB = 1024 * 1024;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A valid PCM WAV of about `bytes` bytes (16-bit mono 48 kHz noise), written in 1 MB chunks. */
async function writeWav(file: string, bytes: number): Promise<number> {
  const dataLen = Math.floor((bytes - 44) / 2) * 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + dataLen, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(48000, 24);
  h.writeUInt32LE(96000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(dataLen, 40);
  const out = createWriteStream(file);
  async function* chunks() {
    yield h;
    for (let left = dataLen; left > 0; left -= MB) yield randomBytes(Math.min(MB, left));
  }
  await pipeline(chunks, out);
  return 44 + dataLen;
}

/** Streams `file` as a one-part multipart upload; resolves with status and body. */
function streamUpload(
  base: string,
  token: string,
  file: string,
): Promise<{ status: number; body: string }> {
  const boundary = `----timbre-bench-${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.wav"\r\n` +
      'Content-Type: audio/wav\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + statSync(file).size + tail.length;
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/file/upload`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(length),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(head);
    const src = createReadStream(file, { highWaterMark: 1024 * 1024 });
    src.on('error', reject);
    src.pipe(req, { end: false });
    src.on('end', () => req.end(tail));
  });
}

/** GETs `url` and counts the bytes; resolves with seconds taken and bytes. */
function fetchAll(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ sec: number; bytes: number }>((resolve, reject) => {
    const t0 = performance.now();
    request(url, { headers }, (res: IncomingMessage) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
        else resolve({ sec: (performance.now() - t0) / 1000, bytes });
      });
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'timbre-bench-'));
  const wavPath = path.join(dir, 'bench.wav');
  const size = await writeWav(wavPath, SIZE_MB * MB);
  const sizeMb = size / MB;

  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    JWT_SECRET_KEY: 'bench-secret-bench-secret-bench-secret-00',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'silent',
    FILE_MAX_BYTES: String(size + MB),
  });
  const db = openDatabase(config.database);
  await migrateToLatest(db.db);
  const app = await build({ config, db, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  const email = `bench.${Date.now()}@example.com`;
  await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { username: 'bench', identifier: email, type: 'email', password: 'secret123' },
  });
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { identifier: email, type: 'email', password: 'secret123' },
  });
  const token = login.json<{ access_token: string }>().access_token;

  // Baseline server: plain node:http streaming the same file.
  const plain = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(size) });
    createReadStream(wavPath).pipe(res);
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  const paddr = plain.address();
  const plainUrl = `http://127.0.0.1:${typeof paddr === 'object' && paddr ? paddr.port : 0}/`;

  const upApi: number[] = [];
  const upDisk: number[] = [];
  const downApi: number[] = [];
  const downPlain: number[] = [];
  const peakRss: number[] = [];
  const startRss: number[] = [];
  let fileId = '';

  for (let i = 0; i < RUNS; i++) {
    // (a) baseline: raw disk copy of the same bytes
    const copy = path.join(dir, `copy-${i}.wav`);
    let t0 = performance.now();
    await pipeline(createReadStream(wavPath), createWriteStream(copy));
    upDisk.push(sizeMb / ((performance.now() - t0) / 1000));
    rmSync(copy);

    // (a) API upload, with (c) RSS sampled every 10 ms
    global.gc?.();
    let peak = process.memoryUsage().rss;
    startRss.push(peak / MB);
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    t0 = performance.now();
    const r = await streamUpload(base, token, wavPath);
    const sec = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    if (r.status !== 201) throw new Error(`upload failed: ${r.status} ${r.body}`);
    upApi.push(sizeMb / sec);
    peakRss.push(peak / MB);
    const id = (JSON.parse(r.body) as { file_id: string }).file_id;
    if (i === 0) fileId = id;
    else
      await app.inject({
        method: 'DELETE',
        url: `/api/file/delete/${id}`,
        headers: { authorization: `Bearer ${token}` },
      });

    // (b) downloads: API vs plain server, fetched the same way
    const api = await fetchAll(`${base}/api/file/download/${fileId}`, {
      authorization: `Bearer ${token}`,
    });
    if (api.bytes !== size) throw new Error(`API served ${api.bytes} of ${size} bytes`);
    downApi.push(sizeMb / api.sec);
    const p = await fetchAll(plainUrl);
    downPlain.push(sizeMb / p.sec);
  }

  const row = (name: string, api: number, baseline: number) =>
    `| ${name.padEnd(9)} | ${api.toFixed(0).padStart(7)} | ${baseline.toFixed(0).padStart(12)} | ${(api / baseline).toFixed(2).padStart(5)} |`;
  const out = [
    `files transfer bench: ${sizeMb.toFixed(0)} MB WAV, median of ${RUNS} runs, Node ${process.version}`,
    '',
    '| transfer  | API MB/s | baseline MB/s | ratio |',
    '|-----------|---------:|--------------:|------:|',
    row('upload', median(upApi), median(upDisk)),
    row('download', median(downApi), median(downPlain)),
    '',
    `upload baseline: fs stream copy to a temp file; download baseline: node:http + fs.createReadStream`,
    `peak RSS during upload (this process: server + client, sampled every 10 ms): ${median(peakRss).toFixed(0)} MB (runs: ${peakRss.map((x) => x.toFixed(0)).join(', ')}; RSS just before each upload: ${startRss.map((x) => x.toFixed(0)).join(', ')} MB)`,
    `raw: upload API ${upApi.map((x) => x.toFixed(0)).join('/')}, disk ${upDisk.map((x) => x.toFixed(0)).join('/')}; download API ${downApi.map((x) => x.toFixed(0)).join('/')}, plain ${downPlain.map((x) => x.toFixed(0)).join('/')}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);

  await new Promise<void>((r) => plain.close(() => r()));
  app.server.closeAllConnections();
  await app.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
