import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A stricter limit for expensive routes. */
    rateLimitProfile?: 'create' | 'captcha' | 'synthesize';
  }
}

/**
 * Per-user (else per-IP) limits, shared across processes through Redis when
 * configured, in memory otherwise. Creation and captcha codes are stricter.
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
        case 'create':
          return config.rateLimit.createPerHour;
        case 'captcha':
          return 5;
        case 'synthesize':
          return Math.max(1, Math.floor(config.rateLimit.perMinute / 5));
        case undefined:
        default:
          return config.rateLimit.perMinute;
      }
    },
    // The creation limit is per hour, the others per minute. (A route-level
    // `config.rateLimit` set from an onRoute hook here would come too late: the
    // plugin's own onRoute hook, registered first, has already attached the
    // global limiter to the route by then.)
    timeWindow: (request: FastifyRequest) =>
      request.routeOptions.config.rateLimitProfile === 'create' ? 3_600_000 : 60_000,
    keyGenerator: (request: FastifyRequest) => {
      const profile = request.routeOptions.config.rateLimitProfile ?? 'all';
      // request.userId is set by the auth hook, which runs before preHandler.
      const who = (request as FastifyRequest & { userId?: string }).userId ?? `ip:${request.ip}`;
      return `${profile}:${who}`;
    },
    ...(redis ? { redis, nameSpace: 'timbre-rl:' } : {}),
    skipOnError: true,
    allowList: (request: FastifyRequest) =>
      request.url.split('?')[0] === '/api/health' ||
      request.url.startsWith('/metrics') ||
      !(request.url.startsWith('/api/') || request.url.startsWith('/v1/')),
    errorResponseBuilder: (request, context) =>
      new AppError(429, 'Too many requests', {
        // context.after is the time left in the window, not the window itself.
        info: `limit of ${context.max} per ${request.routeOptions.config.rateLimitProfile === 'create' ? 'hour' : 'minute'}; retry in ${Math.ceil(context.ttl / 1000)} s`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      }),
  });
}
