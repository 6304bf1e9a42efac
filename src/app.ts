import type { FastifyBaseLogger } from 'fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.js';
import multipart from '@fastify/multipart';
import { authRoutes, meRoute } from './api/auth/routes.js';
import { fileRoutes, providerDownloadRoutes } from './api/files/routes.js';
import { healthRoutes } from './api/health/routes.js';
import { registerErrorHandling } from './api/plugins/error-handler.js';
import { ErrorEnvelope } from './api/schemas/common.js';
import { loggerOptions } from './logger.js';
import type { DbHandle } from './repositories/db.js';
import { CaptchaRepository } from './repositories/captcha.repository.js';
import { FileRepository } from './repositories/file.repository.js';
import { FileService } from './services/file.service.js';
import type { BlobStore } from './storage/blob-store.js';
import { DiskBlobStore } from './storage/disk.js';
import { UrlSigner } from './storage/signed-url.js';
import { UserRepository } from './repositories/user.repository.js';
import { AuthService } from './services/auth.service.js';
import { LogNotifier, WebhookNotifier, type CaptchaNotifier } from './services/notifier.js';
import { TokenService } from './services/token.service.js';

/** Everything the app talks to, passed in so tests can choose real parts or doubles. */
export interface AppDeps {
  config: Config;
  db: DbHandle;
  /** A pino logger, or false for silence (tests). Default: JSON lines at config.logLevel. */
  logger?: FastifyBaseLogger | false;
  notifier?: CaptchaNotifier;
  /** Where file bytes go. Default: a DiskBlobStore in config.storage.dir. */
  blobs?: BlobStore;
  now?: () => Date;
}

export interface Services {
  config: Config;
  db: DbHandle;
  tokens: TokenService;
  auth: AuthService;
  blobs: BlobStore;
  files: FileService;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{8,64}$/;

/** Builds the app without listening: `server.ts` listens, tests `inject`. */
export async function build(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  const now = deps.now ?? (() => new Date());
  const app = Fastify({
    ...(deps.logger === false
      ? { logger: false }
      : deps.logger
        ? { loggerInstance: deps.logger }
        : { logger: loggerOptions(config.logLevel) }),
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorEnvelope);
  registerErrorHandling(app);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  const tokens = new TokenService(config.jwt, now);
  const notifier =
    deps.notifier ??
    (config.captcha.notifier === 'webhook' && config.captcha.webhookUrl
      ? new WebhookNotifier(config.captcha.webhookUrl)
      : new LogNotifier(app.log as never, config.env !== 'production'));
  const auth = new AuthService(
    new UserRepository(db.db),
    new CaptchaRepository(db.db),
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
  let blobs = deps.blobs;
  if (!blobs) {
    const disk = new DiskBlobStore(config.storage.dir);
    await disk.init();
    blobs = disk;
  }
  const signer = new UrlSigner(
    config.jwt.secret,
    config.publicBaseUrl,
    config.storage.signedUrlTtlSec,
    now,
  );
  const files = new FileService(
    new FileRepository(db.db),
    blobs,
    signer,
    app.log as never,
    { maxBytes: config.storage.maxBytes },
    now,
  );
  app.decorate('services', { config, db, tokens, auth, blobs, files });

  await app.register(multipart, {
    limits: {
      // One byte over the limit, so the store sees the overflow and says 413.
      fileSize: config.storage.maxBytes + 1,
      files: 2,
      fields: 10,
      fieldSize: 64 * 1024,
      parts: 20,
    },
  });

  await app.register(healthRoutes, { prefix: '/api' });
  await app.register(authRoutes, { prefix: '/api/auth' });
  await app.register(meRoute, { prefix: '/api/auth' });
  await app.register(fileRoutes, { prefix: '/api/file' });
  await app.register(providerDownloadRoutes, { prefix: '/api' });
  return app;
}
