/**
 * Synchronous `create_voice` wall time against the DashScope emulator's own
 * configured latency, and against the DashScope client alone doing the same
 * provider work (create → poll until OK → synthesize the audition clip) in the
 * same run, interleaved call for call.
 *
 *   npx tsx bench/voices/create-overhead.bench.ts [--n 10] [--deploy-ms 1000]
 *     [--create-latency-ms 200] [--ws-latency-ms 100] [--concurrent 100]
 *
 * The emulator's floor for one creation is deploy delay + the injected latency
 * of the create_voice HTTP call + the injected delay before the synthesis
 * task starts; everything else (sample download and check, polling,
 * synthesis, the job machinery) is overhead on top of it.
 *
 * Then (unless `--concurrent 0`) a spawned server process takes `--concurrent`
 * synchronous creations at once: the time until all are ready against the
 * floor of one, the server's RSS, and /api/health probed every 50 ms meanwhile.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { startEmulator, type EmulatorHandle } from '../../emulator/server.js';
import { DashScopeVoiceProvider } from '../../src/providers/dashscope/index.js';
import { call, register, uploadSample } from '../../test/e2e/helpers.js';
import { makeApp, registerUser } from '../../test/helpers/app.js';
import { freePort, intArg, log, machine, median, ms, percentile, ratio, table } from './lib.js';

const N = intArg('n', 10);
const DEPLOY_MS = intArg('deploy-ms', 1000);
const CREATE_LATENCY_MS = intArg('create-latency-ms', 200);
const WS_LATENCY_MS = intArg('ws-latency-ms', 100);
const FLOOR_MS = DEPLOY_MS + CREATE_LATENCY_MS + WS_LATENCY_MS;
const CONCURRENT = intArg('concurrent', 100);
/** Job worker processes beside the server in the concurrent phase (0: jobs in the server). */
const WORKERS = intArg('workers', 0);
/** The concurrent phase's targets (issue #11). */
const TARGET = { allReadyOverFloor: 3, healthP99Ms: 50 };
/** The spawned server's /metrics token (a bench-only value). */
const METRICS_TOKEN = 'bench-metrics-token-0123456789';
/** The job's provider polling in this bench (makeApp jobSettings); the client alone polls the same way. */
const POLL_MIN_MS = 50;
const POLL_MAX_MS = 200;

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLE = path.resolve(here, '../../test/fixtures/audio/speech/spk02_m_en_jfk_16k_mono.wav');

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

async function main(): Promise<void> {
  log(`# create_voice overhead benchmark — ${machine()}`);
  log(
    `emulator: deploy ${DEPLOY_MS} ms, create_voice latency ${CREATE_LATENCY_MS} ms, synthesis start latency ${WS_LATENCY_MS} ms → floor ${FLOOR_MS} ms; N=${N} each, interleaved, after one warm-up each`,
  );
  const emu = await startEmulator({ port: 0, keys: ['sk-test'], deployDelayMs: DEPLOY_MS });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await makeApp(
    'sqlite',
    {
      VOICE_PROVIDER: 'dashscope',
      DASHSCOPE_API_KEY: 'sk-test',
      DASHSCOPE_BASE_URL: emu.httpBaseUrl,
      DASHSCOPE_WS_URL: emu.wsUrl,
      PUBLIC_BASE_URL: base,
      CREATE_RATE_LIMIT_PER_HOUR: '10000',
      RATE_LIMIT_PER_MIN: '100000',
    },
    { sqlQueue: { pollMs: 20 }, jobSettings: { pollMinMs: POLL_MIN_MS, pollMaxMs: POLL_MAX_MS } },
  );
  const client = new DashScopeVoiceProvider({
    apiKey: 'sk-test',
    baseUrl: emu.httpBaseUrl,
    wsUrl: emu.wsUrl,
  });
  try {
    await t.app.listen({ port, host: '127.0.0.1' });
    const user = await registerUser(t.app, 'benchcreator');
    const auth = { authorization: `Bearer ${user.access}` };

    const form = new FormData();
    form.append('is_public', 'false');
    form.append(
      'file',
      new Blob([readFileSync(SAMPLE)], { type: 'audio/wav' }),
      path.basename(SAMPLE),
    );
    const up = await fetch(`${base}/api/file/upload`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    const upBody = (await up.json()) as { file_id?: string };
    if (up.status !== 201 || !upBody.file_id) {
      throw new Error(`upload failed: ${up.status} ${JSON.stringify(upBody)}`);
    }
    const fileId = upBody.file_id;
    const auditionText = t.config.voice.auditionText;

    const injectLatency = () => {
      emu.clearFaults();
      if (CREATE_LATENCY_MS > 0) {
        emu.injectFault({
          target: 'http',
          kind: 'latency',
          ms: CREATE_LATENCY_MS,
          action: 'create_voice',
        });
      }
      if (WS_LATENCY_MS > 0) emu.injectFault({ target: 'ws', kind: 'latency', ms: WS_LATENCY_MS });
    };
    const checkConsumed = (what: string) => {
      const left = emu.pendingFaults();
      if (left.length) throw new Error(`${what} left ${left.length} injected latencies unused`);
    };

    interface AppRun {
      wall: number;
      before: number;
      job: number;
      after: number;
    }
    let seq = 0;
    const viaApp = async (): Promise<AppRun> => {
      injectLatency();
      const startedAt = Date.now();
      const t0 = performance.now();
      const res = await fetch(`${base}/api/voice/create_voice`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          audio_file_id: fileId,
          voice_name: `Bench voice ${++seq}`,
          voice_gender: 'male',
          voice_description: 'create_voice overhead benchmark',
          is_public: false,
        }),
      });
      const body = (await res.json()) as { voice?: { voice_id: string; status: string } };
      const wall = performance.now() - t0;
      const endedAt = Date.now();
      if (res.status !== 200 || body.voice?.status !== 'ready') {
        throw new Error(`create_voice answered ${res.status}: ${JSON.stringify(body)}`);
      }
      checkConsumed('create_voice');
      // The voice row's timestamps split the wall time: before the job (validation,
      // sample assessment, row + job insert), the job, and noticing it finished.
      const row = await t.db.db
        .selectFrom('voices')
        .select(['created_at', 'updated_at'])
        .where('id', '=', body.voice.voice_id)
        .executeTakeFirstOrThrow();
      const created = Date.parse(row.created_at);
      const ready = Date.parse(row.updated_at);
      return { wall, before: created - startedAt, job: ready - created, after: endedAt - ready };
    };

    const sampleUrl = t.app.services.files.signedUrl(fileId).url;
    const clientAlone = async (): Promise<number> => {
      injectLatency();
      const t0 = performance.now();
      const v = await client.createVoice({
        sampleUrl,
        targetModel: 'cosyvoice-v2',
        prefix: `bench${++seq}`,
      });
      let delay = POLL_MIN_MS;
      for (;;) {
        const pv = await client.getVoice(v.id);
        if (pv.status === 'ok') break;
        if (pv.status === 'undeployed') throw new Error('the emulator undeployed the voice');
        await sleep(delay);
        delay = Math.min(delay * 2, POLL_MAX_MS);
      }
      let bytes = 0;
      for await (const c of client.synthesize({
        voiceId: v.id,
        targetModel: 'cosyvoice-v2',
        text: auditionText,
        format: 'mp3',
        sampleRate: 22050,
      })) {
        bytes += c.length;
      }
      const wall = performance.now() - t0;
      if (!bytes) throw new Error('no audio');
      checkConsumed('client alone');
      return wall;
    };

    await viaApp();
    await clientAlone();
    const app: AppRun[] = [];
    const alone: number[] = [];
    for (let i = 0; i < N; i++) {
      app.push(await viaApp());
      alone.push(await clientAlone());
      log(`  run ${i + 1}: app ${ms(app[i]!.wall)} ms, client alone ${ms(alone[i]!)} ms`);
    }

    const appWall = app.map((r) => r.wall);
    const stat = (xs: number[]) => ({ p50: median(xs), p90: percentile(xs, 90) });
    const a = stat(appWall);
    const c = stat(alone);
    log('\n## Results\n');
    log(
      table(
        ['path', 'n', 'median ms', 'p90 ms', 'floor ms', 'median / floor', 'p90 / floor'],
        [
          ['create_voice (app, sync)', N, ms(a.p50), ms(a.p90), FLOOR_MS, ratio(a.p50 / FLOOR_MS), ratio(a.p90 / FLOOR_MS)], // prettier-ignore
          ['DashScope client alone', N, ms(c.p50), ms(c.p90), FLOOR_MS, ratio(c.p50 / FLOOR_MS), ratio(c.p90 / FLOOR_MS)], // prettier-ignore
        ],
      ),
    );
    log('');
    log(
      table(
        ['app / client alone', 'median', 'p90', 'median difference ms'],
        [[N, ratio(a.p50 / c.p50), ratio(a.p90 / c.p90), ms(a.p50 - c.p50)]],
      ),
    );
    log('\nWhere the app spends it (medians, from the voice row timestamps, ms resolution):\n');
    log(
      table(
        ['before the job', 'job (row created → ready)', 'after the job (noticing ready)'],
        [
          [
            ms(median(app.map((r) => r.before))),
            ms(median(app.map((r) => r.job))),
            ms(median(app.map((r) => r.after))),
          ],
        ],
      ),
    );
    if (CONCURRENT > 0) await concurrentPhase(emu);
  } finally {
    await client.close();
    await t.close();
    await emu.close();
  }
}

/** The server process's resident set now and at its peak (MB), from /proc (Linux). */
function rssOf(pid: number): { now: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
    return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms) the process has used: its main thread (the event loop; on
 * Linux its task id is the pid) and all its threads, from /proc.
 */
function cpuOf(pid: number): { main: number; all: number } {
  const ticks = (file: string) => {
    const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat, i.e. 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  };
  return { main: ticks(`/proc/${pid}/task/${pid}/stat`), all: ticks(`/proc/${pid}/stat`) };
}
/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** The server's event loop delay maximum (s) since the previous scrape, from its /metrics. */
async function eventLoopLag(base: string): Promise<number> {
  const res = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const text = await res.text();
  return Number(/^timbre_nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1] ?? NaN);
}

/**
 * Probes `url` every 50 ms from a worker thread, sampling the server's RSS,
 * until stop() returns the latencies (ms) and the peak RSS sampled (MB).
 */
function startProbe(
  url: string,
  pid: number,
): {
  ready: Promise<void>;
  stop(): Promise<{ health: number[]; startedAt: number[]; rssPeakSampled: number }>;
} {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    const health = [], startedAt = [];
    let rssPeak = NaN, probing = true;
    parentPort.once('message', () => { probing = false; });
    const rss = () => { try { return Number(/VmRSS:\\s+(\\d+) kB/.exec(readFileSync('/proc/' + workerData.pid + '/status', 'utf8'))[1]) / 1024; } catch { return NaN; } };
    (async () => {
      // One request first, not counted: a new thread's first fetch loads and
      // compiles its HTTP client (hundreds of ms on a busy machine).
      await fetch(workerData.url).then((r) => r.arrayBuffer());
      parentPort.postMessage('ready');
      while (probing) {
        const t0 = performance.now();
        await fetch(workerData.url).then((r) => r.arrayBuffer());
        const dt = performance.now() - t0;
        health.push(dt);
        startedAt.push(performance.timeOrigin + t0);
        const r = rss();
        if (!(r <= rssPeak)) rssPeak = r;
        await new Promise((res) => setTimeout(res, Math.max(0, 50 - dt)));
      }
      parentPort.postMessage({ health, startedAt, rssPeakSampled: rssPeak });
    })();
  `;
  const worker = new Worker(code, { eval: true, workerData: { url, pid } });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    ready,
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once(
          'message',
          (m: { health: number[]; startedAt: number[]; rssPeakSampled: number }) => {
            void worker.terminate();
            resolve(m);
          },
        );
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

/**
 * CONCURRENT synchronous creations at once against a spawned server (its own
 * process, so its RSS is its own), while /api/health is probed every 50 ms.
 */
async function concurrentPhase(emu: EmulatorHandle): Promise<void> {
  log(
    `\n## ${CONCURRENT} concurrent creations (spawned server${WORKERS ? ` with RUN_WORKER=false, jobs in ${WORKERS} worker process${WORKERS > 1 ? 'es' : ''}` : ''})\n`,
  );
  const dataDir = mkdtempSync(path.join(tmpdir(), 'timbre-bench-create-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: base,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    VOICE_PROVIDER: 'dashscope',
    DASHSCOPE_API_KEY: 'sk-test',
    DASHSCOPE_BASE_URL: emu.httpBaseUrl,
    DASHSCOPE_WS_URL: emu.wsUrl,
    // The same provider polling as the first phase.
    VOICE_POLL_MIN_MS: String(POLL_MIN_MS),
    VOICE_POLL_MAX_MS: String(POLL_MAX_MS),
    RATE_LIMIT_PER_MIN: '100000',
    CREATE_RATE_LIMIT_PER_HOUR: '100000',
    CREATE_IN_PROGRESS_PER_USER: '10000',
    CPU_TASK_TIMEOUT_SEC: '120',
    METRICS_TOKEN,
    ...(WORKERS > 0 ? { RUN_WORKER: 'false' } : {}),
  };
  const spawnBundle = (bundle: string, extra: NodeJS.ProcessEnv = {}) =>
    spawn(
      process.execPath,
      // e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
      [
        ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        'scripts/build-if-stale.js',
        bundle,
      ],
      {
        cwd: path.resolve(here, '../..'),
        env: { ...env, ...extra },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
  const server = spawnBundle('dist/src/server.bundle.js');
  // --workers N: the jobs run in N worker processes (RUN_WORKER=false above), as
  // the README's "Many machines" deploys them; the figures below are the server's.
  const workers = Array.from({ length: WORKERS }, () =>
    spawnBundle('dist/src/worker.bundle.js', { RUN_WORKER: 'true' }),
  );
  const kill = () => {
    for (const p of [server, ...workers]) p.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/api/health`)).ok) break;
      } catch {
        // not up yet
      }
      if (i > 600 || server.exitCode !== null) throw new Error('the server did not start');
      await sleep(100);
    }
    const pid = server.pid!;
    const user = await register(base, 'benchburst');
    const fileId = await uploadSample(base, user.access, 'jfk.wav', readFileSync(SAMPLE));
    const create = async (name: string) => {
      const t0 = performance.now();
      const res = await call(base, 'POST', '/api/voice/create_voice', {
        token: user.access,
        body: {
          audio_file_id: fileId,
          voice_name: name,
          voice_gender: 'male',
          voice_description: 'concurrent creation benchmark',
          is_public: false,
        },
      });
      return { res, ms: performance.now() - t0 };
    };
    const latencies = (times: number) => {
      emu.clearFaults();
      if (CREATE_LATENCY_MS > 0) {
        emu.injectFault({ target: 'http', kind: 'latency', ms: CREATE_LATENCY_MS, action: 'create_voice', times }); // prettier-ignore
      }
      if (WS_LATENCY_MS > 0) emu.injectFault({ target: 'ws', kind: 'latency', ms: WS_LATENCY_MS, times }); // prettier-ignore
    };

    // Warm-up: one creation alone (its time is the single-creation figure of this server).
    latencies(1);
    const one = await create('Burst warm-up');
    if (one.res.status !== 200) throw new Error(`warm-up answered ${one.res.status}: ${JSON.stringify(one.res.body)}`); // prettier-ignore
    await sleep(500);
    const rssBefore = rssOf(pid);

    // Health probe and RSS sampling, every 50 ms, while the burst runs. The probe
    // runs on its own thread: this process also hosts the emulator (a stand-in
    // for a remote service), whose work must not delay the probe's requests.
    const probe = startProbe(`${base}/api/health`, pid);
    await probe.ready;
    const lagBefore = await eventLoopLag(base);
    const cpuBefore = cpuOf(pid);

    latencies(CONCURRENT);
    const t0 = performance.now();
    const burstAt = performance.timeOrigin + t0;
    const results = await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, i) => {
        const r = await create(`Burst voice ${i + 1}`);
        // Past CREATE_VOICE_WAIT_SEC the answer is 202: wait for the row like a client would.
        if (r.res.status === 202) {
          const id = (r.res.body as { voice_id: string }).voice_id;
          // Bounded: a voice that never settles, or a dead server, ends the wait.
          const deadline = Date.now() + 60 * FLOOR_MS;
          for (;;) {
            if (Date.now() > deadline || server.exitCode !== null) {
              return { ok: false, ms: performance.now() - t0, status: 0 };
            }
            const v = await call(base, 'GET', `/api/voice/${id}`, { token: user.access });
            const status = (v.body as { voice?: { status?: string } }).voice?.status;
            if (status === 'ready' || status === 'failed') {
              return { ok: status === 'ready', ms: performance.now() - t0, status: v.status };
            }
            await sleep(100);
          }
        }
        return { ok: r.res.status === 200, ms: r.ms, status: r.res.status };
      }),
    );
    const allReady = performance.now() - t0;
    const { health, startedAt, rssPeakSampled } = await probe.stop();
    const lagAfter = await eventLoopLag(base);
    const cpuAfter = cpuOf(pid);
    const rssAfter = rssOf(pid);
    const failed = results.filter((r) => !r.ok);
    if (failed.length) {
      log(`  ${failed.length} of ${CONCURRENT} did not end ready (statuses: ${[...new Set(failed.map((f) => f.status))].join(', ')})`); // prettier-ignore
    }
    const walls = results.map((r) => r.ms);
    const ratioAll = allReady / FLOOR_MS;
    const p99 = percentile(health, 99);
    log(
      table(
        [
          'creations',
          'ready',
          'all ready ms',
          'floor ms',
          'all ready / floor',
          'target',
          'median ms',
          'one alone ms',
        ],
        [
          [
            CONCURRENT,
            CONCURRENT - failed.length,
            ms(allReady),
            FLOOR_MS,
            ratio(ratioAll),
            `≤ ${TARGET.allReadyOverFloor}x`,
            ms(median(walls)),
            ms(one.ms),
          ],
        ],
      ),
    );
    log('');
    log(
      table(
        [
          'health probes',
          'p50 ms',
          'p99 ms',
          'max ms',
          'target p99',
          'RSS before MB',
          'RSS peak sampled MB',
          'RSS peak (VmHWM) MB',
        ],
        [
          [
            health.length,
            ms(median(health)),
            ms(p99),
            ms(Math.max(...health)),
            `< ${TARGET.healthP99Ms} ms`,
            ms(rssBefore?.now ?? NaN),
            ms(Math.max(rssPeakSampled, rssBefore?.now ?? NaN)),
            ms(rssAfter?.peak ?? NaN),
          ],
        ],
      ),
    );
    const worst = health
      .map((h, i) => ({ h, at: startedAt[i]! - burstAt }))
      .sort((a, b) => b.h - a.h)
      .slice(0, 3);
    log(
      `\nslowest health probes: ${worst.map((w) => `${ms(w.h)} ms sent at ${w.at >= 0 ? '+' : ''}${ms(w.at)} ms`).join(', ')} (from the burst's first call)`,
    );
    log(
      `\nserver CPU during the burst: main thread ${ms(cpuAfter.main - cpuBefore.main)} ms (${ms((cpuAfter.main - cpuBefore.main) / CONCURRENT)} ms per creation), all threads ${ms(cpuAfter.all - cpuBefore.all)} ms`,
    );
    log(
      `\nserver event loop delay (prom-client, since the previous scrape): before the burst max ${ms(lagBefore * 1000)} ms, during it max ${ms(lagAfter * 1000)} ms`,
    );
    log(
      `\nverdict: all ready ${ratioAll <= TARGET.allReadyOverFloor ? 'within' : 'OVER'} ${TARGET.allReadyOverFloor}x the floor; health p99 ${p99 < TARGET.healthP99Ms ? 'under' : 'OVER'} ${TARGET.healthP99Ms} ms`,
    );
  } finally {
    process.off('exit', kill);
    // A graceful stop first (a --cpu-prof profile is written on exit), then a kill.
    await Promise.all(
      [server, ...workers].map(async (p) => {
        if (p.exitCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
      }),
    );
    kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
