import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A stricter limit for expensive routes. */
    rateLimitProfile?: 'captcha' | 'synthesize';
  }
}

/**
 * Per-user (else per-IP) request limits, shared across processes through
 * Redis when configured, in memory otherwise. Captcha codes and syntheses are
 * stricter. The hourly creation quota is counted per created voice by the
 * voice service (services/usage-limits.ts), so failed creations can give it back.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  config: Config,
  redis?: Redis,
): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: (request: FastifyRequest) => {
      switch (request.routeOptions.config.rateLimitProfile) {
        case 'captcha':
          return 5;
        case 'synthesize':
          return Math.max(1, Math.floor(config.rateLimit.perMinute / 5));
        case undefined:
        default:
          return config.rateLimit.perMinute;
      }
    },
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => {
      const profile = request.routeOptions.config.rateLimitProfile ?? 'all';
      // request.userId is set by the auth hook, which runs before preHandler.
      const who = (request as FastifyRequest & { userId?: string }).userId ?? `ip:${request.ip}`;
      return `${profile}:${who}`;
    },
    ...(redis ? { redis, nameSpace: `${config.redisPrefix.keys}-rl:` } : {}),
    skipOnError: true,
    allowList: (request: FastifyRequest) =>
      request.url.split('?')[0] === '/api/health' ||
      request.url.startsWith('/metrics') ||
      !(request.url.startsWith('/api/') || request.url.startsWith('/v1/')),
    errorResponseBuilder: (request, context) =>
      new AppError(429, 'Too many requests', {
        // context.after is the time left in the window, not the window itself.
        info: `limit of ${context.max} per minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      }),
  });
}
