import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { JsonCache, NoCache, type Cache } from './cache/cache.js';
import { CachedFileRepository } from './cache/cached-file.repository.js';
import { RedisCache } from './cache/redis-cache.js';
import { MemoryThrottle, RedisThrottle } from './cache/throttle.js';
import type { Config } from './config.js';
import { createVoiceJob } from './jobs/create-voice.job.js';
import { deleteProviderVoiceJob } from './jobs/delete-provider-voice.job.js';
import { purgeProviderPrefixJob } from './jobs/purge-provider-prefix.job.js';
import type { JobHandlers, JobQueue } from './jobs/queue.js';
import { SqlJobQueue } from './jobs/sql-queue.js';
import { WorkerCensus, WorkerHeartbeats } from './jobs/heartbeat.js';
import { RedisVoiceEvents } from './jobs/redis-voice-events.js';
import { LocalVoiceEvents, type VoiceEvents } from './jobs/voice-events.js';
import { Metrics } from './metrics.js';
import { createProvider } from './providers/index.js';
import { InstrumentedProvider } from './providers/instrumented.js';
import type { VoiceProvider } from './providers/provider.js';
import { ApiKeyRepository } from './repositories/api-key.repository.js';
import { CaptchaRepository } from './repositories/captcha.repository.js';
import { SessionRepository } from './repositories/session.repository.js';
import type { DbHandle } from './repositories/db.js';
import { FileRepository } from './repositories/file.repository.js';
import { UserRepository } from './repositories/user.repository.js';
import { VoiceRepository } from './repositories/voice.repository.js';
import { AccountService } from './services/account.service.js';
import { AuthService } from './services/auth.service.js';
import { deriveKey } from './services/keys.js';
import { SessionService } from './services/session.service.js';
import { FileService } from './services/file.service.js';
import { HealthService } from './services/health.service.js';
import { LogNotifier, WebhookNotifier, type CaptchaNotifier } from './services/notifier.js';
import { TokenService } from './services/token.service.js';
import { VoiceService } from './services/voice.service.js';
import { SpeechService } from './services/speech.service.js';
import { OpenAiService } from './services/openai/openai.service.js';
import { OpenAiRepository } from './repositories/openai.repository.js';
import { bundledFfmpegPath, SpeechEncoder } from './audio/stream-encoder.js';
import type { BlobStore } from './storage/blob-store.js';
import { DiskBlobStore } from './storage/disk.js';
import type { S3BlobStore } from './storage/s3.js';
import { UrlSigner } from './storage/signed-url.js';
import { AudioWork } from './workers/audio-work.js';
import { cpuFailureError, CpuPool, CpuTaskError } from './workers/cpu-pool.js';
import { MemoryCounter, RedisCounter, UsageLimits } from './services/usage-limits.js';

/** Adapters a caller may supply (tests pass doubles); everything else comes from config. */
export interface Adapters {
  notifier?: CaptchaNotifier;
  blobs?: BlobStore;
  provider?: VoiceProvider;
  queue?: JobQueue;
  redis?: Redis;
  now?: () => Date;
  /** Options for the SQL queue (tests shorten its poll and backoff). */
  sqlQueue?: ConstructorParameters<typeof SqlJobQueue>[2];
  /** Options for the job (tests shorten provider polling). */
  jobSettings?: { pollMinMs?: number; pollMaxMs?: number };
  /** A worker pool to use instead of one made from config (not closed by this container). */
  cpu?: CpuPool;
}

export interface Services {
  config: Config;
  db: DbHandle;
  metrics: Metrics;
  redis?: Redis;
  tokens: TokenService;
  auth: AuthService;
  sessions: SessionService;
  accounts: AccountService;
  blobs: BlobStore;
  files: FileService;
  voices: VoiceService;
  health: HealthService;
  /** Per-user quotas and work in flight. */
  limits: UsageLimits;
  /**
   * Extra load-shedding checks: each returns true while the server is too
   * busy (e.g. a worker pool's queue is full); requests then get 503.
   */
  pressureChecks: (() => boolean)[];
  /** Text to streamed audio, for every synthesis route. */
  speech: SpeechService;
  /** The `/v1` OpenAI-compatible API. */
  openai: OpenAiService;
  provider: VoiceProvider;
  queue: JobQueue;
  handlers: JobHandlers;
  /** The worker pool for CPU work; `cpu.load()` tells how busy it is. */
  cpu: CpuPool;
  audio: AudioWork;
  /** News of finished voice creations (across processes when Redis is configured). */
  events: VoiceEvents;
  /** This process's worker heartbeat (started by whoever starts the worker). */
  heartbeats: WorkerHeartbeats;
  /** How many job workers are alive, across every process (cached for a second). */
  workersAlive(): Promise<number>;
  /** Closes what this container opened (queue, provider sockets, worker pool, Redis). */
  close(): Promise<void>;
}

/**
 * The composition root shared by the HTTP server and the worker process:
 * repositories, adapters and services, wired once from config.
 */
export async function createServices(
  config: Config,
  db: DbHandle,
  log: Logger,
  adapters: Adapters = {},
): Promise<Services> {
  const now = adapters.now ?? (() => new Date());
  const ownsRedis = !adapters.redis && !!config.redisUrl;
  // ioredis and BullMQ load only when Redis is configured (start-up time on SQLite).
  const RedisClient = ownsRedis ? (await import('ioredis')).Redis : undefined;
  // BullMQ's connection waits for Redis to come back (as BullMQ requires).
  const redis =
    adapters.redis ??
    (config.redisUrl && RedisClient
      ? new RedisClient(config.redisUrl, { maxRetriesPerRequest: null })
      : undefined);
  // Requests must not wait for Redis: the cache, the rate limits and the health
  // check use a connection whose commands fail at once while Redis is away
  // (the cache is then bypassed and the limits skipped, health says 503).
  const requestRedis =
    adapters.redis ??
    (config.redisUrl && RedisClient
      ? new RedisClient(config.redisUrl, {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectTimeout: 2000,
        })
      : undefined);
  for (const [name, conn] of [
    ['queue', redis],
    ['requests', requestRedis],
  ] as const) {
    let lastLogged = 0;
    conn?.on('error', (err: Error) => {
      // ioredis reports every failed reconnect; once per 10 s is enough.
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      log.warn({ err, connection: name }, 'redis connection error');
    });
  }

  // The queue gauge reads the queue made below (it needs the metrics for its
  // outcome counter); the gauge is only read on a scrape, after both exist.
  const metrics = new Metrics(() => queue.stats(), adapters.blobs ? undefined : config.storage.dir);
  const instrumentedDb = db.db.withPlugin(metrics.dbPlugin());
  const census = new WorkerCensus(instrumentedDb, config.jobs.heartbeatSec, now);
  metrics.watchWorkers(() => census.alive());

  const BullJobQueue =
    !adapters.queue && redis ? (await import('./jobs/bull-queue.js')).BullJobQueue : undefined;
  const queue =
    adapters.queue ??
    (redis && BullJobQueue
      ? new BullJobQueue(redis, log.child({ component: 'queue' }), {
          name: config.jobs.queueName,
          prefix: config.redisPrefix.queue,
          // A job whose worker died is re-run after the same lease as on the SQL queue.
          lockDurationMs: config.jobs.leaseSec * 1000,
          onOutcome: (type, outcome) => metrics.jobs.inc({ type, outcome }),
        })
      : new SqlJobQueue(
          instrumentedDb,
          log.child({ component: 'queue' }),
          {
            leaseMs: config.jobs.leaseSec * 1000,
            ...adapters.sqlQueue,
            onOutcome: (type, outcome) => metrics.jobs.inc({ type, outcome }),
          },
          now,
        ));

  const ownsCpu = !adapters.cpu;
  const cpu =
    adapters.cpu ??
    new CpuPool({
      threads: config.cpu.threads,
      maxQueue: config.cpu.maxQueue,
      taskTimeoutMs: config.cpu.taskTimeoutSec * 1000,
      taskMemoryMb: config.cpu.taskMemoryMb,
      onTask: (task, outcome, seconds) => {
        metrics.cpuTaskSeconds.observe({ task, outcome }, seconds);
        if (outcome !== 'ok' && outcome !== 'error')
          metrics.cpuTaskFailures.inc({ task, failure: outcome });
      },
    });
  metrics.watchCpuPool(() => cpu.load());
  const audio = new AudioWork(cpu, { maxSampleSec: config.maxSampleSec });

  const ns = `${config.redisPrefix.keys}:`;
  const cache: Cache = requestRedis ? new RedisCache(requestRedis, ns) : new NoCache();
  const jsonCache = new JsonCache(cache, config.cacheTtlSec, (hit) =>
    metrics.cacheLookups.inc({ result: hit ? 'hit' : 'miss' }),
  );

  // With Redis a finish reaches waiting requests in every process at once, and
  // the row re-read is only a slow safety net; without it jobs run in this
  // process (or a SQL worker beside it), which the 1 s re-read covers.
  const events: VoiceEvents =
    redis && requestRedis
      ? new RedisVoiceEvents(
          requestRedis,
          () => redis.duplicate(),
          `${config.redisPrefix.keys}:voice-finished`,
          log.child({ component: 'voice-events' }),
        )
      : new LocalVoiceEvents();
  const waitFallbackMs = events instanceof RedisVoiceEvents ? 5000 : 1000;

  const users = new UserRepository(instrumentedDb);
  const tokens = new TokenService(config.jwt, now, (id) => users.isDisabled(id));
  const captchaRepo = new CaptchaRepository(instrumentedDb);
  const sessions = new SessionService(
    new SessionRepository(instrumentedDb),
    new ApiKeyRepository(instrumentedDb),
    users,
    tokens,
    {
      lifetimeSec: config.jwt.refreshTtlSec,
      checkCacheSec: config.jwt.sessionCheckCacheSec,
      apiKeyHashKey: deriveKey(config.jwt.secret, 'api-keys'),
    },
    now,
  );
  tokens.useChecker(sessions);
  const notifier =
    adapters.notifier ??
    (config.captcha.notifier === 'webhook' && config.captcha.webhookUrl
      ? new WebhookNotifier(config.captcha.webhookUrl)
      : new LogNotifier(log, config.env !== 'production'));
  const auth = new AuthService(
    users,
    captchaRepo,
    sessions,
    requestRedis ? new RedisThrottle(requestRedis, ns) : new MemoryThrottle(),
    notifier,
    {
      bcryptRounds: config.bcryptRounds,
      captchaTtlSec: config.captcha.ttlSec,
      captchaEcho: config.captcha.echo && config.env !== 'production',
      requireCaptchaForRegister: config.captcha.requiredForRegister,
      secret: deriveKey(config.jwt.secret, 'captcha-codes'),
      maxFailures: config.bruteForce.maxFailures,
      maxFailuresPerAddress: config.bruteForce.maxFailuresPerAddress,
      failureWindowSec: config.bruteForce.windowSec,
      captchaSendsPerIdentifier: config.bruteForce.captchaSendsPerIdentifier,
      captchaSendWindowSec: config.bruteForce.captchaSendWindowSec,
    },
    now,
    {
      hash: (password, rounds) => runCpu(() => cpu.run('hash_password', { password, rounds })),
      compare: (password, hash) => runCpu(() => cpu.run('compare_password', { password, hash })),
    },
  );

  let blobs = adapters.blobs;
  let s3Store: S3BlobStore | undefined;
  if (!blobs && config.storage.backend === 's3' && config.storage.s3) {
    // The AWS SDK loads only when S3 is configured (start-up time on local disk).
    const { S3BlobStore } = await import('./storage/s3.js');
    s3Store = new S3BlobStore(config.storage.s3);
    blobs = s3Store;
  }
  if (!blobs) {
    const disk = new DiskBlobStore(config.storage.dir);
    await disk.init();
    blobs = disk;
  }
  if (config.storage.backend === 'disk' && !adapters.blobs && queue.kind === 'bullmq') {
    // A shared queue hands jobs to any process: each must see the same blobs.
    log.warn(
      { storage_dir: config.storage.dir, queue: queue.kind },
      'STORAGE IS LOCAL BUT THE QUEUE IS SHARED: every API and worker process must use the same ' +
        'storage (one shared folder, or STORAGE_URL=s3://…), or jobs fail with missing blobs',
    );
  }
  const signer = new UrlSigner(
    deriveKey(config.jwt.secret, 'signed-links').toString('base64url'),
    config.publicBaseUrl,
    config.storage.signedUrlTtlSec,
    now,
  );
  const files = new FileService(
    redis
      ? new CachedFileRepository(instrumentedDb, jsonCache)
      : new FileRepository(instrumentedDb),
    blobs,
    signer,
    log.child({ component: 'files' }),
    {
      maxBytes: config.storage.maxBytes,
      onUpload: (outcome) => metrics.uploads.inc({ outcome }),
      audio,
      downloadMode:
        config.storage.downloadMode === 'redirect'
          ? { kind: 'redirect', ttlSec: config.storage.redirectTtlSec }
          : config.storage.downloadMode === 'x-accel'
            ? { kind: 'x-accel', prefix: config.storage.xAccelPrefix }
            : { kind: 'stream' },
    },
    now,
  );

  const rawProvider = adapters.provider ?? createProvider(config, log, { cpu, audio });
  const provider = new InstrumentedProvider(rawProvider, (operation, outcome, seconds) => {
    metrics.providerCalls.inc({ provider: rawProvider.name, operation, outcome });
    metrics.providerCallSeconds.observe({ provider: rawProvider.name, operation }, seconds);
  });

  const limits = new UsageLimits(
    requestRedis ? new RedisCounter(requestRedis) : new MemoryCounter(),
    {
      createPerHour: config.rateLimit.createPerHour,
      inFlight: { assess: config.inFlight.assess, synthesize: config.inFlight.synthesize },
      retryAfterSec: config.retryAfterSec,
    },
  );
  const voiceRepo = new VoiceRepository(instrumentedDb, {
    reader: db.reader === db.db ? instrumentedDb : db.reader.withPlugin(metrics.dbPlugin()),
  });
  const encoder = new SpeechEncoder({
    ffmpegPath: config.speech.ffmpegPath ?? bundledFfmpegPath(),
    maxConcurrent: config.speech.encoderConcurrency,
    timeoutMs: config.speech.timeoutSec * 1000,
  });
  const speech = new SpeechService(
    provider,
    encoder,
    { timeoutSec: config.speech.timeoutSec },
    log.child({ component: 'speech' }),
    limits,
  );

  const voices = new VoiceService(
    voiceRepo,
    users,
    files,
    provider,
    queue,
    {
      createWaitSec: config.voice.createWaitSec,
      auditionText: config.voice.auditionText,
      audio,
      maxInProgress: config.inFlight.createInProgress,
      retryAfterSec: config.retryAfterSec,
      synthMaxChars: config.speech.maxChars,
      workersAlive: () => census.alive(),
      events,
      waitFallbackMs,
    },
    jsonCache,
    log.child({ component: 'voices' }),
    limits,
    now,
    speech,
  );

  const openai = new OpenAiService(
    new OpenAiRepository(instrumentedDb),
    voices,
    files,
    speech,
    provider,
    { maxInputChars: config.openai.maxInputChars, defaultVoice: config.openai.defaultVoice },
    log.child({ component: 'openai' }),
    now,
  );

  files.onWithdraw((file, reason) => voices.withdrawFrom(file, reason));
  const accounts = new AccountService(
    auth,
    sessions,
    users,
    captchaRepo,
    files,
    voices,
    log.child({ component: 'accounts' }),
  );

  const handlers: JobHandlers = {
    create_voice: createVoiceJob({
      voices: voiceRepo,
      files,
      audio,
      provider,
      queue,
      cache: jsonCache,
      events,
      log: log.child({ component: 'create-voice' }),
      settings: {
        auditionText: config.voice.auditionText,
        readyTimeoutSec: config.voice.readyTimeoutSec,
        pollMinMs: config.voice.pollMinMs,
        pollMaxMs: config.voice.pollMaxMs,
        ...adapters.jobSettings,
      },
      onFinished: (outcome, seconds) => metrics.creationSeconds.observe({ outcome }, seconds),
      now,
    }),
    delete_provider_voice: deleteProviderVoiceJob({ provider }),
    purge_provider_prefix: purgeProviderPrefixJob({ provider }),
  };

  const heartbeats = new WorkerHeartbeats(
    instrumentedDb,
    log.child({ component: 'heartbeat' }),
    config.jobs.heartbeatSec,
    queue.kind,
    now,
  );

  return {
    config,
    db,
    metrics,
    redis: requestRedis,
    tokens,
    auth,
    sessions,
    accounts,
    blobs,
    files,
    voices,
    limits,
    health: new HealthService(db, requestRedis, () => census.alive()),
    pressureChecks: [],
    speech,
    openai,
    provider,
    queue,
    handlers,
    cpu,
    audio,
    events,
    heartbeats,
    workersAlive: () => census.alive(),
    close: async () => {
      await queue.close();
      await events.close();
      await heartbeats.stop();
      await provider.close();
      if (ownsCpu) await cpu.close();
      s3Store?.close();
      if (ownsRedis) {
        redis?.disconnect();
        requestRedis?.disconnect();
      }
    },
  };
}

/** Pool failures of password work are the server's: 503 with Retry-After. */
async function runCpu<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CpuTaskError) throw cpuFailureError(err);
    throw err;
  }
}
