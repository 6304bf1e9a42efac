import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { apiKeyRoutes } from './api/auth/api-key.routes.js';
import { authRoutes, meRoute } from './api/auth/auth.routes.js';
import { sessionRoutes } from './api/auth/session.routes.js';
import { fileVoicesRoutes } from './api/files/file-voices.routes.js';
import { fileRoutes, providerDownloadRoutes } from './api/files/files.routes.js';
import { healthRoutes } from './api/health/health.routes.js';
import { metricsRoutes } from './api/ops/ops.routes.js';
import { clientErrorHandler, frameworkErrors, registerEdge } from './api/plugins/edge.js';
import { registerErrorHandling } from './api/plugins/error-handler.js';
import { addPageSecurityHeaders } from './api/plugins/page-security.js';
import { registerRateLimits } from './api/plugins/rate-limit.js';
import { sharedSerializers } from './api/plugins/serializers.js';
import { ErrorEnvelope } from './api/schemas/common.js';
import { voiceRoutes } from './api/voices/voices.routes.js';
import { defaultVoiceRoutes } from './api/openai/default-voice.routes.js';
import { openAiRoutes } from './api/openai/openai.routes.js';
import { createServices, type Adapters, type Services } from './container.js';
import { loggerOptions } from './logger.js';
import { SRC_DIR } from './paths.js';
import type { DbHandle } from './repositories/db.js';
import { workerOptions } from './jobs/loop-room.js';

/** Everything the app talks to, passed in so tests can choose real parts or doubles. */
export interface AppDeps extends Adapters {
  config: Config;
  db: DbHandle;
  /** A pino logger, or false for silence (tests). Default: JSON lines at config.logLevel. */
  logger?: FastifyBaseLogger | false;
  /** Run jobs in this process (default true; a web-only node behind `npm run worker` sets false). */
  runWorker?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{8,64}$/;
/** The web page: `web/` at the repository root, seen from `src/` (tsx) or `dist/src/` (built). */
const webDir =
  [path.resolve(SRC_DIR, '..', 'web'), path.resolve(SRC_DIR, '..', '..', 'web')].find((d) =>
    existsSync(path.join(d, 'index.html')),
  ) ?? path.resolve(SRC_DIR, '..', 'web');

/** Builds the app without listening: `server.ts` listens, tests `inject`. */
export async function build(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  const app = Fastify({
    ...(deps.logger === false
      ? { logger: false }
      : deps.logger
        ? { loggerInstance: deps.logger }
        : { logger: loggerOptions(config.logLevel) }),
    trustProxy: config.trustProxy,
    // Shutdown closes idle keep-alive sockets at once and lets requests in flight
    // finish (the process's grace period bounds them).
    forceCloseConnections: 'idle',
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Each distinct response schema is compiled once, not once per route (start-up time).
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
    // Router and parser errors answer inside the envelope too (plugins/edge.ts).
    frameworkErrors,
    clientErrorHandler,
    // Backstop for any body: uploads are cut earlier by their own idle and total timeouts.
    requestTimeout: (config.upload.totalTimeoutSec + 30) * 1000,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const services = await createServices(config, db, app.log as unknown as Logger, deps);
  app.decorate('services', services);
  app.addHook('onClose', async () => services.close());

  app.addSchema(ErrorEnvelope);
  registerErrorHandling(app, config.retryAfterSec);
  await registerEdge(app, config, services.pressureChecks);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.httpSeconds.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Timbre', version: '0.1.0', description: 'Voice cloning service API' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await registerRateLimits(app, config, services.redis);
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
  await app.register(sessionRoutes, { prefix: '/api/auth' });
  await app.register(apiKeyRoutes, { prefix: '/api/auth' });
  await app.register(fileVoicesRoutes, { prefix: '/api/file' });
  await app.register(fileRoutes, { prefix: '/api/file' });
  await app.register(providerDownloadRoutes, { prefix: '/api' });
  await app.register(voiceRoutes, { prefix: '/api/voice' });
  await app.register(metricsRoutes);
  await app.register(openAiRoutes, { prefix: '/v1' });
  await app.register(defaultVoiceRoutes, { prefix: '/api/voice' });
  if (existsSync(path.join(webDir, 'index.html'))) {
    addPageSecurityHeaders(app);
    await app.register(fastifyStatic, {
      root: webDir,
      prefix: '/',
      index: ['index.html'],
      wildcard: false,
    });
  }

  if (deps.runWorker !== false) {
    app.addHook('onReady', async () => {
      await services.queue.startWorker(services.handlers, workerOptions(config.jobs));
      await services.heartbeats.start();
    });
  }
  return app;
}
