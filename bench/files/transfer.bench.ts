/**
 * Upload/download throughput of the files API against baselines measured in
 * the same run, and the server's peak RSS while it receives a 100 MB upload.
 *
 *   npx tsx bench/files/transfer.bench.ts        # BENCH_MB=5 for a quick run
 *
 * Uploads: the API against a bare @fastify/multipart route that only writes
 * the file to disk, and against a raw fs copy. Downloads: the direct path
 * (Timbre streams the blob), the accelerated path (Debian's nginx in front of
 * Timbre with deploy/nginx/timbre.conf, answered by X-Accel-Redirect), a
 * plain node:http server, all against nginx serving the same blob with
 * sendfile. nginx is required (`NGINX=/path/to/nginx` to use another): the
 * bench stops with an error when it is missing.
 *
 * The apps, the bare route and the node:http server share this process's
 * event loop; the client (node:http, streaming from / to disk) runs on a
 * thread of its own (client-thread.ts), nginx as a child process. The RSS
 * sampler (every 10 ms) sees client + server together, an upper bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/repositories/db.js';
import { migrateToLatest } from '../../src/repositories/migrate.js';
import { freePort } from '../../test/helpers/spawn.js';
import { startClientThread } from './client-thread.js';

const SIZE_MB = Number(process.env.BENCH_MB ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
/** Downloads per measurement, back to back (each a request of its own): one 0.03–0.1 s transfer alone is mostly noise. */
const REPEAT = Number(process.env.BENCH_REPEAT ?? 10);
const MB = 1024 * 1024;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A valid PCM WAV of about `bytes` bytes (16-bit stereo 48 kHz noise: 400 MB play for 36 min), written in 1 MB chunks. */
async function writeWav(file: string, bytes: number): Promise<number> {
  const dataLen = Math.floor((bytes - 44) / 4) * 4;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + dataLen, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(48000, 24);
  h.writeUInt32LE(192000, 28);
  h.writeUInt16LE(4, 32);
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

const portOf = (server: { address(): unknown }) => {
  const a = server.address();
  return typeof a === 'object' && a && 'port' in a ? Number(a.port) : 0;
};

/** The nginx binary: Debian's, unless NGINX names another. Missing: the bench fails. */
function nginxBinary(): string {
  const bin = process.env.NGINX ?? '/usr/sbin/nginx';
  if (!existsSync(bin)) {
    throw new Error(
      `nginx not found at ${bin}: the download baselines need it (apt-get install nginx-light, or NGINX=/path/to/nginx)`,
    );
  }
  return bin;
}

interface Nginx {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts nginx as the current user with a temporary configuration: one
 * server on a free port that serves `blobDir` at /plain/ (the baseline) and,
 * from deploy/nginx/timbre.conf, proxies everything else to Timbre at
 * `upstream` with the internal X-Accel location aliased to `blobDir`.
 */
async function startNginx(dir: string, blobDir: string, upstream: string): Promise<Nginx> {
  const bin = nginxBinary();
  const root = path.join(dir, 'nginx');
  for (const d of ['', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(path.join(root, d), { recursive: true });
  const port = await freePort();
  const folder = `${blobDir.replace(/\/+$/, '')}/`;
  const snippet = readFileSync(new URL('../../deploy/nginx/timbre.conf', import.meta.url), 'utf8')
    .replace('http://127.0.0.1:3000', upstream)
    .replace('/var/lib/timbre/files/', folder);
  const conf = `
# As root, nginx's workers would drop to "nobody", who cannot read the temp dirs.
${process.getuid?.() === 0 ? `user ${userInfo().username};` : ''}
daemon off;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${root}/body;
  proxy_temp_path ${root}/proxy;
  fastcgi_temp_path ${root}/fastcgi;
  uwsgi_temp_path ${root}/uwsgi;
  scgi_temp_path ${root}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /plain/ {
      alias ${folder};
      sendfile on;
      tcp_nopush on;
    }
${snippet}
  }
}
`;
  const confPath = path.join(root, 'nginx.conf');
  writeFileSync(confPath, conf);
  const proc: ChildProcess = spawn(bin, ['-p', root, '-c', confPath, '-e', 'stderr'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}):\n${out}`);
    const up = await new Promise<boolean>((resolve) => {
      request(`http://127.0.0.1:${port}/plain/`, (res) => {
        res.resume();
        resolve(true);
      })
        .on('error', () => resolve(false))
        .end();
    });
    if (up) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`nginx did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}

/**
 * A bare @fastify/multipart route that only writes the file to disk (into
 * `folder`, emptied by the caller between runs): the upload baseline.
 */
async function startBareMultipart(folder: string, maxBytes: number) {
  mkdirSync(folder, { recursive: true });
  const app = Fastify({ logger: false });
  await app.register(multipart);
  app.post('/upload', async (req, reply) => {
    const part = await req.file({ limits: { fileSize: maxBytes } });
    if (!part) return reply.code(400).send({ ok: false });
    const file = path.join(folder, randomUUID());
    await pipeline(part.file, createWriteStream(file));
    return reply.code(201).send({ ok: true, truncated: part.file.truncated });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${portOf(app.server)}/upload` };
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'timbre-bench-'));
  const wavPath = path.join(dir, 'bench.wav');
  const size = await writeWav(wavPath, SIZE_MB * MB);
  const sizeMb = size / MB;
  nginxBinary();

  const env = {
    NODE_ENV: 'test',
    DATA_DIR: dir,
    JWT_SECRET_KEY: 'bench-secret-bench-secret-bench-secret-00',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'silent',
    FILE_MAX_BYTES: String(size + MB),
    // The bench file plays for about 18 minutes; uploads refuse audio past this.
    MAX_SAMPLE_SEC: '3600',
    // Hundreds of requests a minute from one token (the per-request figures).
    RATE_LIMIT_PER_MIN: '100000',
  } as const;
  const config = loadConfig(env);
  const db = openDatabase(config.database);
  await migrateToLatest(db.db);
  const app = await build({ config, db, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${portOf(app.server)}`;

  // The same installation (database, storage folder) in x-accel mode, behind nginx.
  const accelConfig = loadConfig({ ...env, DOWNLOAD_MODE: 'x-accel' });
  const accelDb = openDatabase(accelConfig.database);
  const accelApp = await build({
    config: accelConfig,
    db: accelDb,
    logger: false,
    runWorker: false,
  });
  await accelApp.listen({ port: 0, host: '127.0.0.1' });
  const nginx = await startNginx(
    dir,
    config.storage.dir,
    `http://127.0.0.1:${portOf(accelApp.server)}`,
  );
  const nginxBase = `http://127.0.0.1:${nginx.port}`;

  const bareFolder = path.join(dir, 'bare');
  const bare = await startBareMultipart(bareFolder, size + MB);

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
  const auth = { authorization: `Bearer ${token}` };

  // The blob every download path serves: uploaded once, through the API.
  const client = startClientThread();
  const first = await client.upload(`${base}/api/file/upload`, auth, wavPath);
  if (first.status !== 201) throw new Error(`upload failed: ${first.status} ${first.body}`);
  const fileId = (JSON.parse(first.body) as { file_id: string }).file_id;
  const row = await db.db
    .selectFrom('files')
    .select('storage_key')
    .where('id', '=', fileId)
    .executeTakeFirstOrThrow();
  const blobPath = path.join(config.storage.dir, row.storage_key);

  // Baseline server: plain node:http streaming the same blob.
  const plain = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(size) });
    createReadStream(blobPath).pipe(res);
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  const plainUrl = `http://127.0.0.1:${portOf(plain)}/`;
  const nginxUrl = `${nginxBase}/plain/${row.storage_key}`;
  const directUrl = `${base}/api/file/download/${fileId}`;
  const accelUrl = `${nginxBase}/api/file/download/${fileId}`;

  // Every path serves the same bytes, and the accelerated one really is nginx's.
  const want = createHash('sha256').update(readFileSync(wavPath)).digest('hex');
  for (const [name, url, headers] of [
    ['direct', directUrl, auth],
    ['accel', accelUrl, auth],
    ['nginx', nginxUrl, {}],
    ['node:http', plainUrl, {}],
  ] as const) {
    const r = await client.fetch(url, headers, { hash: true });
    if (r.sha256 !== want) throw new Error(`${name} served other bytes (${r.bytes} of ${size})`);
  }
  const viaAccel = await accelApp.inject({
    method: 'GET',
    url: `/api/file/download/${fileId}`,
    headers: auth,
  });
  if (!viaAccel.headers['x-accel-redirect'] || viaAccel.rawPayload.length !== 0) {
    throw new Error('the x-accel app streamed the file itself instead of redirecting to nginx');
  }

  const up = { api: [] as number[], bare: [] as number[], disk: [] as number[] };
  const down = {
    direct: [] as number[],
    accel: [] as number[],
    nginx: [] as number[],
    plain: [] as number[],
  };
  const peakRss: number[] = [];
  const startRss: number[] = [];

  for (let i = 0; i < RUNS; i++) {
    // (a) baselines: raw disk copy, then the bare multipart route
    const copy = path.join(dir, `copy-${i}.wav`);
    const t0 = performance.now();
    await pipeline(createReadStream(wavPath), createWriteStream(copy));
    up.disk.push(sizeMb / ((performance.now() - t0) / 1000));
    rmSync(copy);

    const b = await client.upload(bare.url, {}, wavPath);
    if (b.status !== 201) throw new Error(`bare upload failed: ${b.status} ${b.body}`);
    up.bare.push(sizeMb / b.sec);
    rmSync(bareFolder, { recursive: true, force: true });
    mkdirSync(bareFolder);

    // (a) API upload, with (c) RSS sampled every 10 ms
    global.gc?.();
    let peak = process.memoryUsage().rss;
    startRss.push(peak / MB);
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const r = await client.upload(`${base}/api/file/upload`, auth, wavPath);
    clearInterval(sampler);
    if (r.status !== 201) throw new Error(`upload failed: ${r.status} ${r.body}`);
    up.api.push(sizeMb / r.sec);
    peakRss.push(peak / MB);
    const id = (JSON.parse(r.body) as { file_id: string }).file_id;
    await app.inject({ method: 'DELETE', url: `/api/file/delete/${id}`, headers: auth });

    // (b) downloads of the same blob, each fetched the same way
    for (const [into, url, headers] of [
      [down.nginx, nginxUrl, {}],
      [down.direct, directUrl, auth],
      [down.accel, accelUrl, auth],
      [down.plain, plainUrl, {}],
    ] as const) {
      const got = await client.fetch(url, headers, { times: REPEAT });
      if (got.bytes !== size) throw new Error(`GET ${url} served ${got.bytes} of ${size} bytes`);
      into.push((REPEAT * sizeMb) / got.sec);
    }
  }

  // What each download path adds per request, apart from the bytes: 200
  // one-byte Range requests back to back, mean ms each.
  const perRequest: string[] = [];
  for (const [name, url, headers] of [
    ['nginx', nginxUrl, {}],
    ['direct', directUrl, auth],
    ['accel', accelUrl, auth],
  ] as const) {
    const got = await client.fetch(url, { ...headers, range: 'bytes=0-0' }, { times: 200 });
    if (got.bytes !== 1) throw new Error(`GET ${url} with a one-byte Range served ${got.bytes}`);
    perRequest.push(`${name} ${((got.sec * 1000) / 200).toFixed(2)}`);
  }

  // The ratio is the median of the runs' own ratios: the path and its
  // baseline ran back to back, so a run's slow moment hits both.
  const ratio = (xs: number[], base: number[]) => median(xs.map((x, i) => x / base[i]!));
  const line = (name: string, path_: string, xs: number[], baseline: string, base: number[]) =>
    `| ${name.padEnd(8)} | ${path_.padEnd(23)} | ${median(xs).toFixed(0).padStart(5)} | ${baseline.padEnd(23)} | ${median(base).toFixed(0).padStart(13)} | ${ratio(xs, base).toFixed(2).padStart(5)} |`;
  const raw = (xs: number[]) => xs.map((x) => x.toFixed(0)).join('/');
  const out = [
    `files transfer bench: ${sizeMb.toFixed(0)} MB WAV, ${RUNS} runs, MB/s medians, ratio = median of the runs' ratios (downloads: ${REPEAT} back to back per run), client on its own thread, Node ${process.version}`,
    '',
    '| transfer | path                    | MB/s  | baseline                | baseline MB/s | ratio |',
    '|----------|-------------------------|------:|-------------------------|--------------:|------:|',
    line('upload', 'API', up.api, 'bare @fastify/multipart', up.bare),
    line('upload', 'API', up.api, 'raw fs copy', up.disk),
    line('download', 'direct (Timbre streams)', down.direct, 'nginx sendfile', down.nginx),
    line('download', 'nginx + X-Accel', down.accel, 'nginx sendfile', down.nginx),
    line('download', 'direct (Timbre streams)', down.direct, 'node:http + fs stream', down.plain),
    '',
    'targets: upload API / bare multipart >= 0.9; download direct / nginx >= 0.8; accel / nginx >= 0.95',
    `peak RSS during upload (this process: server + client, sampled every 10 ms): ${median(peakRss).toFixed(0)} MB (runs: ${raw(peakRss)}; RSS just before each upload: ${raw(startRss)} MB)`,
    `per request (one-byte Range GET, mean of 200, ms): ${perRequest.join(', ')}`,
    `raw MB/s: upload API ${raw(up.api)}, bare ${raw(up.bare)}, disk ${raw(up.disk)}; download direct ${raw(down.direct)}, accel ${raw(down.accel)}, nginx ${raw(down.nginx)}, node:http ${raw(down.plain)}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);

  await client.close();
  await nginx.stop();
  await new Promise<void>((r) => plain.close(() => r()));
  await bare.app.close();
  for (const a of [app, accelApp]) {
    a.server.closeAllConnections();
    await a.close();
  }
  await accelDb.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
