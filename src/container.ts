import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { JsonCache, NoCache, type Cache } from './cache/cache.js';
import { CachedFileRepository } from './cache/cached-file.repository.js';
import { RedisCache } from './cache/redis-cache.js';
import type { Config } from './config.js';
import { BullJobQueue } from './jobs/bull-queue.js';
import {
  createVoiceJob,
  deleteProviderVoiceJob,
  purgeProviderPrefixJob,
} from './jobs/create-voice.job.js';
import type { JobHandlers, JobQueue } from './jobs/queue.js';
import { SqlJobQueue } from './jobs/sql-queue.js';
import { WorkerCensus, WorkerHeartbeats } from './jobs/heartbeat.js';
import { Metrics } from './metrics.js';
import { createProvider } from './providers/index.js';
import { InstrumentedProvider } from './providers/instrumented.js';
import type { VoiceProvider } from './providers/provider.js';
import { CaptchaRepository } from './repositories/captcha.repository.js';
import type { DbHandle } from './repositories/db.js';
import { FileRepository } from './repositories/file.repository.js';
import { UserRepository } from './repositories/user.repository.js';
import { VoiceRepository } from './repositories/voice.repository.js';
import { AuthService } from './services/auth.service.js';
import { FileService } from './services/file.service.js';
import { LogNotifier, WebhookNotifier, type CaptchaNotifier } from './services/notifier.js';
import { TokenService } from './services/token.service.js';
import { VoiceService } from './services/voice.service.js';
import type { BlobStore } from './storage/blob-store.js';
import { DiskBlobStore } from './storage/disk.js';
import { S3BlobStore } from './storage/s3.js';
import { UrlSigner } from './storage/signed-url.js';

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
}

export interface Services {
  config: Config;
  db: DbHandle;
  metrics: Metrics;
  redis?: Redis;
  tokens: TokenService;
  auth: AuthService;
  blobs: BlobStore;
  files: FileService;
  voices: VoiceService;
  provider: VoiceProvider;
  queue: JobQueue;
  handlers: JobHandlers;
  /** This process's worker heartbeat (started by whoever starts the worker). */
  heartbeats: WorkerHeartbeats;
  /** How many job workers are alive, across every process (cached for a second). */
  workersAlive(): Promise<number>;
  /** Closes what this container opened (queue, provider sockets, Redis). */
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
  a: Adapters = {},
): Promise<Services> {
  const now = a.now ?? (() => new Date());
  const ownsRedis = !a.redis && !!config.redisUrl;
  // BullMQ's connection waits for Redis to come back (as BullMQ requires).
  const redis =
    a.redis ??
    (config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: null }) : undefined);
  // Requests must not wait for Redis: the cache, the rate limits and the health
  // check use a connection whose commands fail at once while Redis is away
  // (the cache is then bypassed and the limits skipped, health says 503).
  const fastRedis =
    a.redis ??
    (config.redisUrl
      ? new Redis(config.redisUrl, {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          connectTimeout: 2000,
        })
      : undefined);
  for (const [name, conn] of [
    ['queue', redis],
    ['requests', fastRedis],
  ] as const) {
    let lastLogged = 0;
    conn?.on('error', (err: Error) => {
      // ioredis reports every failed reconnect; once per 10 s is enough.
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      log.warn({ err, connection: name }, 'redis connection error');
    });
  }

  // The queue gauge reads the queue made below (it needs the metrics for its outcome counter).
  const queueHolder: { queue?: JobQueue } = {};
  const metrics = new Metrics(() => queueHolder.queue!.stats());
  const kdb = db.db.withPlugin(metrics.dbPlugin());
  const census = new WorkerCensus(kdb, config.jobs.heartbeatSec, now);
  metrics.watchWorkers(() => census.alive());

  const queue =
    a.queue ??
    (redis
      ? new BullJobQueue(redis, log.child({ component: 'queue' }), {
          name: config.jobs.queueName,
          // A job whose worker died is re-run after the same lease as on the SQL queue.
          lockDurationMs: config.jobs.leaseSec * 1000,
          onOutcome: (type, outcome) => metrics.jobs.inc({ type, outcome }),
        })
      : new SqlJobQueue(
          kdb,
          log.child({ component: 'queue' }),
          {
            leaseMs: config.jobs.leaseSec * 1000,
            ...a.sqlQueue,
            onOutcome: (type, outcome) => metrics.jobs.inc({ type, outcome }),
          },
          now,
        ));
  queueHolder.queue = queue;

  const cache: Cache = fastRedis ? new RedisCache(fastRedis) : new NoCache();
  const jsonCache = new JsonCache(cache, config.cacheTtlSec, (hit) =>
    metrics.cacheLookups.inc({ result: hit ? 'hit' : 'miss' }),
  );

  const users = new UserRepository(kdb);
  const tokens = new TokenService(config.jwt, now);
  const notifier =
    a.notifier ??
    (config.captcha.notifier === 'webhook' && config.captcha.webhookUrl
      ? new WebhookNotifier(config.captcha.webhookUrl)
      : new LogNotifier(log, config.env !== 'production'));
  const auth = new AuthService(
    users,
    new CaptchaRepository(kdb),
    tokens,
    notifier,
    {
      bcryptRounds: config.bcryptRounds,
      captchaTtlSec: config.captcha.ttlSec,
      captchaEcho: config.captcha.echo && config.env !== 'production',
      requireCaptchaForRegister: config.captcha.requiredForRegister,
      secret: config.jwt.secret,
    },
    now,
  );

  let blobs = a.blobs;
  let s3Store: S3BlobStore | undefined;
  if (!blobs && config.storage.backend === 's3' && config.storage.s3) {
    s3Store = new S3BlobStore(config.storage.s3);
    blobs = s3Store;
  }
  if (!blobs) {
    const disk = new DiskBlobStore(config.storage.dir);
    await disk.init();
    blobs = disk;
  }
  if (config.storage.backend === 'disk' && !a.blobs && queue.kind === 'bullmq') {
    // A shared queue hands jobs to any process: each must see the same blobs.
    log.warn(
      { storage_dir: config.storage.dir, queue: queue.kind },
      'STORAGE IS LOCAL BUT THE QUEUE IS SHARED: every API and worker process must use the same ' +
        'storage (one shared folder, or STORAGE_URL=s3://…), or jobs fail with missing blobs',
    );
  }
  const signer = new UrlSigner(
    config.jwt.secret,
    config.publicBaseUrl,
    config.storage.signedUrlTtlSec,
    now,
  );
  const files = new FileService(
    redis ? new CachedFileRepository(kdb, jsonCache) : new FileRepository(kdb),
    blobs,
    signer,
    log.child({ component: 'files' }),
    {
      maxBytes: config.storage.maxBytes,
      onUpload: (outcome) => metrics.uploads.inc({ outcome }),
      downloadMode:
        config.storage.downloadMode === 'redirect'
          ? { kind: 'redirect', ttlSec: config.storage.redirectTtlSec }
          : config.storage.downloadMode === 'x-accel'
            ? { kind: 'x-accel', prefix: config.storage.xAccelPrefix }
            : { kind: 'stream' },
    },
    now,
  );

  const rawProvider = a.provider ?? createProvider(config, log);
  const provider = new InstrumentedProvider(rawProvider, (operation, outcome, seconds) => {
    metrics.providerCalls.inc({ provider: rawProvider.name, operation, outcome });
    metrics.providerCallSeconds.observe({ provider: rawProvider.name, operation }, seconds);
  });

  const voiceRepo = new VoiceRepository(kdb);
  const voices = new VoiceService(
    voiceRepo,
    users,
    files,
    provider,
    queue,
    {
      createWaitSec: config.voice.createWaitSec,
      auditionText: config.voice.auditionText,
      workersAlive: () => census.alive(),
    },
    jsonCache,
    log.child({ component: 'voices' }),
    now,
  );

  const handlers: JobHandlers = {
    create_voice: createVoiceJob({
      voices: voiceRepo,
      files,
      provider,
      queue,
      cache: jsonCache,
      log: log.child({ component: 'create-voice' }),
      settings: {
        auditionText: config.voice.auditionText,
        readyTimeoutSec: config.voice.readyTimeoutSec,
        ...a.jobSettings,
      },
      onFinished: (outcome, seconds) => metrics.creationSeconds.observe({ outcome }, seconds),
      now,
    }),
    delete_provider_voice: deleteProviderVoiceJob({ provider }),
    purge_provider_prefix: purgeProviderPrefixJob({ provider }),
  };

  const heartbeats = new WorkerHeartbeats(
    kdb,
    log.child({ component: 'heartbeat' }),
    config.jobs.heartbeatSec,
    queue.kind,
    now,
  );

  return {
    config,
    db,
    metrics,
    redis: fastRedis,
    tokens,
    auth,
    blobs,
    files,
    voices,
    provider,
    queue,
    handlers,
    heartbeats,
    workersAlive: () => census.alive(),
    close: async () => {
      await queue.close();
      await heartbeats.stop();
      await provider.close();
      s3Store?.close();
      if (ownsRedis) {
        redis?.disconnect();
        fastRedis?.disconnect();
      }
    },
  };
}
