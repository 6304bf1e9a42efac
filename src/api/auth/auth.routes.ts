import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireAccessToken, requireRefreshToken } from '../plugins/auth.js';
import { envelope, responses } from '../schemas/common.js';

const Identity = {
  identifier: Type.String({ maxLength: 255 }),
  type: Type.String({ maxLength: 10 }),
};

/** `/api/auth/*`: register, login, refresh, send_captcha (contract §Auth). */
export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { auth, tokens } = app.services;

  app.post(
    '/register',
    {
      schema: {
        tags: ['auth'],
        body: Type.Object({
          username: Type.String({ maxLength: 200 }),
          ...Identity,
          password: Type.String({ maxLength: 1000 }),
          code: Type.Optional(Type.String({ maxLength: 20 })),
        }),
        response: responses({ 201: envelope({ user_id: Type.String() }) }),
      },
    },
    async (request, reply) => {
      const result = await auth.register(request.body);
      return reply.status(201).send({ code: 201, message: 'create user success', ...result });
    },
  );

  app.post(
    '/login',
    {
      schema: {
        tags: ['auth'],
        body: Type.Object({
          ...Identity,
          password: Type.Optional(Type.String({ maxLength: 1000 })),
          code: Type.Optional(Type.String({ maxLength: 20 })),
        }),
        response: responses({
          200: envelope({
            access_token: Type.String(),
            refresh_token: Type.String(),
            user_id: Type.String(),
            username: Type.String(),
            avatar_url: Type.Union([Type.String(), Type.Null()]),
            phone: Type.Union([Type.String(), Type.Null()]),
            email: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    },
    async (request) => {
      const result = await auth.login(request.body, {
        ip: request.ip,
        device: request.headers['user-agent'],
      });
      return { code: 200, message: 'user login success', ...result };
    },
  );

  app.post(
    '/refresh',
    {
      onRequest: requireRefreshToken(tokens),
      schema: {
        tags: ['auth'],
        security: [{ bearer: [] }],
        response: responses({
          200: envelope({ access_token: Type.String(), refresh_token: Type.String() }),
        }),
      },
    },
    async (request) => {
      const pair = await auth.refresh(request.refreshClaims!);
      return { code: 200, message: 'token refreshed', ...pair };
    },
  );

  app.post(
    '/send_captcha',
    {
      config: { rateLimitProfile: 'captcha' },
      schema: {
        tags: ['auth'],
        body: Type.Object(Identity),
        response: responses({
          200: envelope({
            is_first_use: Type.Boolean(),
            captcha: Type.Optional(Type.String()),
          }),
        }),
      },
    },
    async (request) => {
      const r = await auth.sendCaptcha(request.body);
      // The original answered a known identifier with HTTP 200 and body code 204.
      return r.isFirstUse
        ? { code: 200, message: `${r.type} first use`, is_first_use: true, ...pick(r.captcha) }
        : { code: 204, message: 'captcha sent', is_first_use: false, ...pick(r.captcha) };
    },
  );
};

/** **new** `GET /api/auth/me`: the caller's profile (handy for clients and the web page). */
export const meRoute: FastifyPluginAsyncTypebox = async (app) => {
  const { auth, tokens } = app.services;
  app.get(
    '/me',
    {
      onRequest: requireAccessToken(tokens),
      schema: {
        tags: ['auth'],
        security: [{ bearer: [] }],
        response: responses({
          200: envelope({
            user: Type.Object({
              user_id: Type.String(),
              username: Type.String(),
              avatar_url: Type.Union([Type.String(), Type.Null()]),
              phone: Type.Union([Type.String(), Type.Null()]),
              email: Type.Union([Type.String(), Type.Null()]),
              created_at: Type.String(),
            }),
          }),
        }),
      },
    },
    async (request) => ({ code: 200, message: 'ok', user: await auth.profile(request.userId) }),
  );
};

function pick(captcha: string | undefined): { captcha?: string } {
  return captcha === undefined ? {} : { captcha };
}
