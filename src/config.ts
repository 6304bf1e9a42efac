import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  PUBLIC_BASE_URL: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: databaseUrl.optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be redis://host:port[/db]')
    .optional(),
  JWT_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ACCESS_TTL_SEC: durationSec.default(600),
  JWT_REFRESH_TTL_SEC: durationSec.default(3600),
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
  AUDITION_TEXT: z.string().min(1).max(500).default('今天天气怎么样？'),
  CREATE_VOICE_WAIT_SEC: int(0, 600).default(60),
  VOICE_READY_TIMEOUT_SEC: int(1, 3600).default(300),
  JOB_CONCURRENCY: int(1, 64).default(2),
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool.default(false),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  publicBaseUrl: string;
  dataDir: string;
  database: { dialect: 'sqlite'; path: string } | { dialect: 'mysql'; url: string };
  redisUrl?: string;
  jwt: { secret: string; accessTtlSec: number; refreshTtlSec: number };
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
    dashscope: { apiKey?: string; baseUrl: string; wsUrl: string; targetModel: string };
  };
  voice: { auditionText: string; createWaitSec: number; readyTimeoutSec: number };
  /**
   * `runInServer`: the HTTP process also runs jobs (turn off when `npm run worker` nodes do).
   * `leaseSec`: a running SQL job whose process stopped renewing it is re-run after this.
   * `queueName`: the BullMQ queue (installs sharing one Redis use different names).
   */
  jobs: {
    concurrency: number;
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
  cacheTtlSec: number;
  logLevel: Env['LOG_LEVEL'];
  trustProxy: boolean;
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
    ? { dialect: 'sqlite', path: dbUrl.slice('sqlite:'.length) }
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
      },
    },
    voice: {
      auditionText: e.AUDITION_TEXT,
      createWaitSec: e.CREATE_VOICE_WAIT_SEC,
      readyTimeoutSec: e.VOICE_READY_TIMEOUT_SEC,
    },
    jobs: {
      concurrency: e.JOB_CONCURRENCY,
      runInServer: e.RUN_WORKER,
      leaseSec: e.JOB_LEASE_SEC,
      queueName: e.QUEUE_NAME,
      heartbeatSec: e.WORKER_HEARTBEAT_SEC,
    },
    shutdownGraceSec: e.SHUTDOWN_GRACE_SEC,
    metricsToken: e.METRICS_TOKEN,
    rateLimit: { perMinute: e.RATE_LIMIT_PER_MIN, createPerHour: e.CREATE_RATE_LIMIT_PER_HOUR },
    cacheTtlSec: e.CACHE_TTL_SEC,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
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
