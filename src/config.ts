import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * Typed configuration, read once from the environment at start-up.
 * Every bad value is reported together; nothing reads `process.env` elsewhere.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const durationSec = int(1, 365 * 24 * 3600);

const databaseUrl = z
  .string()
  .refine(
    (v) => /^sqlite:.+/.test(v) || /^mysql:\/\/[^/]+\/[A-Za-z0-9_$-]+/.test(v),
    'must be sqlite:<path> or mysql://user:password@host[:port]/database',
  );

/** The original's audition text ("how is the weather today?"), the default of AUDITION_TEXT. */
export const DEFAULT_AUDITION_TEXT = '今天天气怎么样？';

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  PUBLIC_BASE_URL: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: databaseUrl.optional(),
  SQLITE_READ_THREADS: int(0, 64).default(2),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be redis://host:port[/db]')
    .optional(),
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ACCESS_TTL_SEC: durationSec.default(600),
  JWT_REFRESH_TTL_SEC: durationSec.default(3600),
  JWT_PREVIOUS_SECRETS: z.string().optional(),
  SESSION_CHECK_CACHE_SEC: int(0, 60).default(5),
  LOGIN_MAX_FAILURES: int(1, 1_000_000).default(10),
  LOGIN_MAX_FAILURES_PER_ADDRESS: int(1, 1_000_000).default(100),
  LOGIN_FAILURE_WINDOW_SEC: durationSec.default(900),
  CAPTCHA_SENDS_PER_IDENTIFIER: int(1, 1_000_000).default(5),
  CAPTCHA_SEND_WINDOW_SEC: durationSec.default(900),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1–40 letters, digits, ., - or _')
    .optional(),
  BCRYPT_ROUNDS: int(4, 15).default(12),
  CAPTCHA_TTL_SEC: durationSec.default(300),
  CAPTCHA_NOTIFIER: z.enum(['log', 'webhook']).default('log'),
  CAPTCHA_WEBHOOK_URL: z.url().optional(),
  CAPTCHA_ECHO: bool.default(false),
  REGISTER_REQUIRE_CAPTCHA: bool.default(false),
  STORAGE_DIR: z.string().min(1).optional(),
  STORAGE_URL: z
    .string()
    .regex(
      /^(file:.+|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9!_.*'()/-]*)?)$/,
      'must be file:<folder> or s3://bucket[/prefix]',
    )
    .optional(),
  S3_ENDPOINT: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  DOWNLOAD_MODE: z.enum(['stream', 'redirect', 'x-accel']).default('stream'),
  DOWNLOAD_REDIRECT_TTL_SEC: int(1, 7 * 24 * 3600).default(60),
  X_ACCEL_PREFIX: z
    .string()
    .regex(/^\/[A-Za-z0-9_/-]*\/$/, 'must be a path that starts and ends with /')
    .default('/_timbre_blobs/'),
  WORKER_HEARTBEAT_SEC: int(1, 3600).default(10),
  SHUTDOWN_GRACE_SEC: int(0, 3600).default(30),
  FILE_MAX_BYTES: int(1, 2 ** 40).default(50 * 1024 * 1024),
  SIGNED_URL_TTL_SEC: durationSec.default(600),
  SWEEP_INTERVAL_SEC: int(0, 86400).default(3600),
  VOICE_PROVIDER: z.enum(['offline', 'dashscope']).default('offline'),
  DASHSCOPE_API_KEY: z.string().min(1).optional(),
  DASHSCOPE_BASE_URL: z.url().default('https://dashscope.aliyuncs.com/api/v1'),
  DASHSCOPE_WS_URL: z
    .string()
    .regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL')
    .default('wss://dashscope.aliyuncs.com/api-ws/v1/inference'),
  DASHSCOPE_TARGET_MODEL: z.string().min(1).default('cosyvoice-v2'),
  DASHSCOPE_CREATE_TIMEOUT_SEC: int(120, 3600).default(120),
  DASHSCOPE_CREATE_SETTLE_SEC: int(0, 3600).default(180),
  DASHSCOPE_WS_MAX_SOCKETS: int(1, 100).default(20),
  AUDITION_TEXT: z.string().min(1).max(500).default(DEFAULT_AUDITION_TEXT),
  CREATE_VOICE_WAIT_SEC: int(0, 600).default(60),
  VOICE_READY_TIMEOUT_SEC: int(1, 3600).default(300),
  VOICE_POLL_MIN_MS: int(10, 60_000).default(100),
  VOICE_POLL_MAX_MS: int(10, 60_000).default(2000),
  // Jobs mostly wait on the provider; their CPU work queues on the CPU pool.
  JOB_CONCURRENCY: int(1, 1000).default(100),
  JOB_START_MAX_LOOP_UTILIZATION: z.coerce.number().gt(0).max(1).default(0.7),
  RUN_WORKER: bool.default(true),
  // At least 3 s: the lease is renewed every second at the fastest.
  JOB_LEASE_SEC: int(3, 3600).default(60),
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, - or _')
    .default('timbre-jobs'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  RATE_LIMIT_PER_MIN: int(1, 1_000_000).default(300),
  CREATE_RATE_LIMIT_PER_HOUR: int(1, 1_000_000).default(30),
  CACHE_TTL_SEC: int(1, 86400).default(60),
  CREATE_IN_PROGRESS_PER_USER: int(1, 10_000).default(10),
  CREATE_SETUP_CONCURRENCY: int(1, 1000).default(4),
  CREATE_SETUP_QUEUE: int(0, 100_000).default(1000),
  CREATE_SETUP_HOLD_SEC: int(1, 3600).default(10),
  ASSESS_IN_FLIGHT_PER_USER: int(1, 10_000).default(2),
  SYNTHESIZE_IN_FLIGHT_PER_USER: int(1, 10_000).default(2),
  RETRY_AFTER_SEC: int(1, 3600).default(5),
  UPLOAD_IDLE_TIMEOUT_SEC: int(1, 3600).default(30),
  UPLOAD_TIMEOUT_SEC: int(1, 86_400).default(600),
  SHED_EVENT_LOOP_DELAY_MS: int(0, 60_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool.default(false),
  CPU_POOL_THREADS: int(1, 256).optional(),
  CPU_POOL_MAX_QUEUE: int(1, 100_000).default(64),
  CPU_TASK_TIMEOUT_SEC: int(1, 3600).default(30),
  CPU_TASK_MEMORY_MB: int(32, 65_536).default(256),
  MAX_SAMPLE_SEC: int(10, 3600).default(120),
  SYNTH_MAX_CHARS: int(1, 1_000_000).default(20_000),
  OPENAI_MAX_INPUT_CHARS: int(1, 1_000_000).default(4096),
  SPEECH_TIMEOUT_SEC: int(1, 3600).default(300),
  ENCODER_CONCURRENCY: int(1, 256).default(4),
  FFMPEG_PATH: z.string().min(1).optional(),
  OPENAI_DEFAULT_VOICE: z.string().min(1).max(100).optional(),
  OPENAI_PUBLIC_LISTS: bool.default(false),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  publicBaseUrl: string;
  dataDir: string;
  /**
   * `readThreads` (SQLite): worker threads that run the slow reads (listing,
   * keyword search) off the event loop; 0 runs them on the main connection.
   * Absent: 2.
   */
  database:
    { dialect: 'sqlite'; path: string; readThreads?: number } | { dialect: 'mysql'; url: string };
  redisUrl?: string;
  /**
   * `refreshTtlSec`: a session's (and so its refresh tokens') lifetime, counted from login.
   * `previousSecrets`: former JWT_SECRET_KEY values whose tokens are still accepted (rotation).
   * `sessionCheckCacheSec`: how long a process trusts that a session or API key is still live.
   */
  jwt: {
    secret: string;
    accessTtlSec: number;
    refreshTtlSec: number;
    previousSecrets: string[];
    sessionCheckCacheSec: number;
  };
  /** Failed logins allowed per identifier / per address in a window, and captcha sends per identifier. */
  bruteForce: {
    maxFailures: number;
    maxFailuresPerAddress: number;
    windowSec: number;
    captchaSendsPerIdentifier: number;
    captchaSendWindowSec: number;
  };
  /**
   * Namespace of every Redis key (cache, limits, queue). `queuePrefix` is
   * BullMQ's prefix: `bull` unless REDIS_PREFIX is set.
   */
  redisPrefix: { keys: string; queue: string };
  bcryptRounds: number;
  captcha: {
    ttlSec: number;
    notifier: 'log' | 'webhook';
    webhookUrl?: string;
    /** Echo codes in API responses: only ever true outside production. */
    echo: boolean;
    requiredForRegister: boolean;
  };
  storage: {
    dir: string;
    maxBytes: number;
    signedUrlTtlSec: number;
    sweepIntervalSec: number;
    /** Where blobs live: the local folder `dir`, or an S3-compatible bucket. */
    backend: 'disk' | 's3';
    s3?: {
      bucket: string;
      prefix: string;
      endpoint?: string;
      region: string;
      credentials?: { accessKeyId: string; secretAccessKey: string };
      forcePathStyle: boolean;
    };
    /**
     * How downloads leave: `stream` through Timbre; `redirect` to a short presigned
     * URL (S3 only); `x-accel` hands the file to nginx (`X-Accel-Redirect`, disk only).
     */
    downloadMode: 'stream' | 'redirect' | 'x-accel';
    redirectTtlSec: number;
    xAccelPrefix: string;
  };
  provider: {
    kind: 'offline' | 'dashscope';
    dashscope: {
      apiKey?: string;
      baseUrl: string;
      wsUrl: string;
      targetModel: string;
      createTimeoutSec: number;
      createSettleSec: number;
      /** Synthesis WebSockets open at once (tasks beyond wait for one). */
      wsMaxSockets: number;
    };
  };
  voice: {
    auditionText: string;
    createWaitSec: number;
    readyTimeoutSec: number;
    /** First and longest interval between provider status polls while a voice deploys (ms). */
    pollMinMs: number;
    pollMaxMs: number;
  };
  /**
   * `runInServer`: the HTTP process also runs jobs (turn off when `npm run worker` nodes do).
   * `leaseSec`: a running SQL job whose process stopped renewing it is re-run after this.
   * `queueName`: the BullMQ queue (installs sharing one Redis use different names).
   */
  jobs: {
    concurrency: number;
    /** A job starts only once the event loop was at most this busy lately (1: always). */
    startMaxLoopUtilization: number;
    runInServer: boolean;
    leaseSec: number;
    queueName: string;
    /** Seconds between worker heartbeats; a worker silent for 3 beats counts as gone. */
    heartbeatSec: number;
  };
  /** On SIGTERM: stop taking work, then give requests and jobs in flight this long. */
  shutdownGraceSec: number;
  metricsToken?: string;
  rateLimit: { perMinute: number; createPerHour: number };
  /**
   * Heavy work per user at once: voices being created (pending/processing),
   * assessments and syntheses in flight. Past them: 429 with Retry-After.
   */
  inFlight: { createInProgress: number; assess: number; synthesize: number };
  /**
   * Voice creation requests in set-up at once (from arrival until the voice is
   * queued), how many may wait for a turn (then 503), and the longest a
   * request keeps its turn: see api/plugins/admission.ts.
   */
  createSetup: {
    concurrent: number;
    maxWaiting: number;
    holdMs: number;
    /** Retry-After of the 503 when too many wait (s). */
    retryAfterSec: number;
  };
  /** Retry-After (s) of 429s for work in flight, 503s for load shedding and database outages. */
  retryAfterSec: number;
  /** Uploads: cut (408) after this long without a byte, or this long in total. */
  upload: { idleTimeoutSec: number; totalTimeoutSec: number };
  /** Answer 503 while the event loop lags more than this (0 = never shed). */
  shedEventLoopDelayMs: number;
  cacheTtlSec: number;
  logLevel: Env['LOG_LEVEL'];
  trustProxy: boolean;
  /**
   * The worker pool for CPU work: `threads` (default: the cores), `maxQueue`
   * tasks waiting at most, `taskTimeoutSec` per task, `taskMemoryMb` V8 heap
   * per thread.
   */
  cpu: { threads: number; maxQueue: number; taskTimeoutSec: number; taskMemoryMb: number };
  /** Longest audio accepted as a sample (seconds); longer audio is never decoded whole. */
  maxSampleSec: number;
  /**
   * Speech synthesis bounds. `maxChars`: text limit of `/api/voice/<id>/synthesize`
   * (characters = Unicode code points); `timeoutSec`: a whole synthesis, encoding
   * included; `encoderConcurrency`: ffmpeg encoders running at once in this process;
   * `ffmpegPath`: the encoder binary (default: the one shipped by @ffmpeg-installer).
   */
  speech: { maxChars: number; timeoutSec: number; encoderConcurrency: number; ffmpegPath?: string };
  /**
   * The `/v1` OpenAI-compatible API. `defaultVoice`: a voice id or name that
   * OpenAI's built-in voice names (alloy, nova…) speak with when the caller chose
   * none; `publicLists`: `/v1/models` and `/v1/audio/voices` answer without a key
   * (public voices only).
   */
  openai: { maxInputChars: number; defaultVoice?: string; publicLists: boolean };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates `env` and returns a frozen Config, or throws ConfigError listing
 * every bad key. Side effect: on the embedded default (no JWT_SECRET_KEY,
 * not production) a random secret is generated once and kept in DATA_DIR.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET_KEY) {
    problems.push('JWT_SECRET_KEY: required in production (at least 32 characters)');
  }
  if (e.VOICE_PROVIDER === 'dashscope' && !e.DASHSCOPE_API_KEY) {
    problems.push('DASHSCOPE_API_KEY: required when VOICE_PROVIDER=dashscope');
  }
  if (e.CAPTCHA_NOTIFIER === 'webhook' && !e.CAPTCHA_WEBHOOK_URL) {
    problems.push('CAPTCHA_WEBHOOK_URL: required when CAPTCHA_NOTIFIER=webhook');
  }
  if (e.NODE_ENV === 'production' && e.CAPTCHA_ECHO) {
    problems.push('CAPTCHA_ECHO: must not be enabled in production');
  }
  const previousSecrets = (e.JWT_PREVIOUS_SECRETS ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (previousSecrets.some((v) => v.length < 32)) {
    problems.push('JWT_PREVIOUS_SECRETS: each secret must be at least 32 characters');
  }
  const storageUrl = e.STORAGE_URL ?? `file:${e.STORAGE_DIR ?? path.join(e.DATA_DIR, 'files')}`;
  const s3Match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(storageUrl);
  if (s3Match && !!e.S3_ACCESS_KEY_ID !== !!e.S3_SECRET_ACCESS_KEY) {
    problems.push('S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: set both or neither');
  }
  if (e.DOWNLOAD_MODE === 'redirect' && !s3Match) {
    problems.push('DOWNLOAD_MODE: redirect needs STORAGE_URL=s3://…');
  }
  if (e.DOWNLOAD_MODE === 'x-accel' && s3Match) {
    problems.push('DOWNLOAD_MODE: x-accel needs local storage (nginx serves the folder)');
  }
  if (problems.length) throw new ConfigError(problems);

  const dataDir = path.resolve(e.DATA_DIR);
  const dbUrl = e.DATABASE_URL ?? `sqlite:${path.join(dataDir, 'timbre.db')}`;
  const database: Config['database'] = dbUrl.startsWith('sqlite:')
    ? { dialect: 'sqlite', path: dbUrl.slice('sqlite:'.length), readThreads: e.SQLITE_READ_THREADS }
    : { dialect: 'mysql', url: dbUrl };

  const port = e.PORT;
  const config: Config = {
    env: e.NODE_ENV,
    host: e.HOST,
    port,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, ''),
    dataDir,
    database,
    redisUrl: e.REDIS_URL,
    jwt: {
      secret: e.JWT_SECRET_KEY ?? localSecret(dataDir),
      accessTtlSec: e.JWT_ACCESS_TTL_SEC,
      refreshTtlSec: e.JWT_REFRESH_TTL_SEC,
      previousSecrets,
      sessionCheckCacheSec: e.SESSION_CHECK_CACHE_SEC,
    },
    bruteForce: {
      maxFailures: e.LOGIN_MAX_FAILURES,
      maxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowSec: e.LOGIN_FAILURE_WINDOW_SEC,
      captchaSendsPerIdentifier: e.CAPTCHA_SENDS_PER_IDENTIFIER,
      captchaSendWindowSec: e.CAPTCHA_SEND_WINDOW_SEC,
    },
    redisPrefix: {
      keys: e.REDIS_PREFIX ?? 'timbre',
      queue: e.REDIS_PREFIX ? `${e.REDIS_PREFIX}-bull` : 'bull',
    },
    bcryptRounds: e.BCRYPT_ROUNDS,
    captcha: {
      ttlSec: e.CAPTCHA_TTL_SEC,
      notifier: e.CAPTCHA_NOTIFIER,
      webhookUrl: e.CAPTCHA_WEBHOOK_URL,
      echo: e.CAPTCHA_ECHO,
      requiredForRegister: e.REGISTER_REQUIRE_CAPTCHA,
    },
    storage: {
      dir: path.resolve(
        storageUrl.startsWith('file:')
          ? storageUrl.slice('file:'.length)
          : (e.STORAGE_DIR ?? path.join(dataDir, 'files')),
      ),
      maxBytes: e.FILE_MAX_BYTES,
      signedUrlTtlSec: e.SIGNED_URL_TTL_SEC,
      sweepIntervalSec: e.SWEEP_INTERVAL_SEC,
      backend: s3Match ? 's3' : 'disk',
      s3: s3Match
        ? {
            bucket: s3Match[1]!,
            prefix: (s3Match[2] ?? '').replace(/^\/+|\/+$/g, ''),
            endpoint: e.S3_ENDPOINT,
            region: e.S3_REGION,
            credentials:
              e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
                ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
                : undefined,
            forcePathStyle: e.S3_FORCE_PATH_STYLE,
          }
        : undefined,
      downloadMode: e.DOWNLOAD_MODE,
      redirectTtlSec: e.DOWNLOAD_REDIRECT_TTL_SEC,
      xAccelPrefix: e.X_ACCEL_PREFIX,
    },
    provider: {
      kind: e.VOICE_PROVIDER,
      dashscope: {
        apiKey: e.DASHSCOPE_API_KEY,
        baseUrl: e.DASHSCOPE_BASE_URL.replace(/\/+$/, ''),
        wsUrl: e.DASHSCOPE_WS_URL,
        targetModel: e.DASHSCOPE_TARGET_MODEL,
        createTimeoutSec: e.DASHSCOPE_CREATE_TIMEOUT_SEC,
        createSettleSec: e.DASHSCOPE_CREATE_SETTLE_SEC,
        wsMaxSockets: e.DASHSCOPE_WS_MAX_SOCKETS,
      },
    },
    voice: {
      auditionText: e.AUDITION_TEXT,
      createWaitSec: e.CREATE_VOICE_WAIT_SEC,
      readyTimeoutSec: e.VOICE_READY_TIMEOUT_SEC,
      pollMinMs: e.VOICE_POLL_MIN_MS,
      pollMaxMs: Math.max(e.VOICE_POLL_MIN_MS, e.VOICE_POLL_MAX_MS),
    },
    jobs: {
      concurrency: e.JOB_CONCURRENCY,
      startMaxLoopUtilization: e.JOB_START_MAX_LOOP_UTILIZATION,
      runInServer: e.RUN_WORKER,
      leaseSec: e.JOB_LEASE_SEC,
      queueName: e.QUEUE_NAME,
      heartbeatSec: e.WORKER_HEARTBEAT_SEC,
    },
    shutdownGraceSec: e.SHUTDOWN_GRACE_SEC,
    metricsToken: e.METRICS_TOKEN,
    rateLimit: { perMinute: e.RATE_LIMIT_PER_MIN, createPerHour: e.CREATE_RATE_LIMIT_PER_HOUR },
    createSetup: {
      concurrent: e.CREATE_SETUP_CONCURRENCY,
      maxWaiting: e.CREATE_SETUP_QUEUE,
      holdMs: e.CREATE_SETUP_HOLD_SEC * 1000,
      retryAfterSec: e.RETRY_AFTER_SEC,
    },
    inFlight: {
      createInProgress: e.CREATE_IN_PROGRESS_PER_USER,
      assess: e.ASSESS_IN_FLIGHT_PER_USER,
      synthesize: e.SYNTHESIZE_IN_FLIGHT_PER_USER,
    },
    retryAfterSec: e.RETRY_AFTER_SEC,
    upload: { idleTimeoutSec: e.UPLOAD_IDLE_TIMEOUT_SEC, totalTimeoutSec: e.UPLOAD_TIMEOUT_SEC },
    shedEventLoopDelayMs: e.SHED_EVENT_LOOP_DELAY_MS,
    cacheTtlSec: e.CACHE_TTL_SEC,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    cpu: {
      threads: e.CPU_POOL_THREADS ?? availableParallelism(),
      maxQueue: e.CPU_POOL_MAX_QUEUE,
      taskTimeoutSec: e.CPU_TASK_TIMEOUT_SEC,
      taskMemoryMb: e.CPU_TASK_MEMORY_MB,
    },
    maxSampleSec: e.MAX_SAMPLE_SEC,
    speech: {
      maxChars: e.SYNTH_MAX_CHARS,
      timeoutSec: e.SPEECH_TIMEOUT_SEC,
      encoderConcurrency: e.ENCODER_CONCURRENCY,
      ffmpegPath: e.FFMPEG_PATH,
    },
    openai: {
      maxInputChars: e.OPENAI_MAX_INPUT_CHARS,
      defaultVoice: e.OPENAI_DEFAULT_VOICE,
      publicLists: e.OPENAI_PUBLIC_LISTS,
    },
  };
  return Object.freeze(config);
}

/** A per-installation secret kept in the data folder (embedded default only). */
function localSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  try {
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
}
