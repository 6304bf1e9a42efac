import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireAccessToken } from '../plugins/auth.js';
import { envelope, responses, Timestamp, Uuid } from '../schemas/common.js';

const Session = Type.Object({
  id: Type.String(),
  device: Type.String(),
  created_at: Timestamp,
  last_used_at: Timestamp,
  current: Type.Boolean(),
});

/**
 * `/api/auth/*` **new**: sessions (logout, logout_all, list, end one),
 * password change and reset, and leaving (deleting the account).
 */
export const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { auth, sessions, accounts, tokens } = app.services;
  const signedIn = requireAccessToken(tokens);
  const security = [{ bearer: [] }];

  app.post(
    '/logout',
    {
      onRequest: signedIn,
      schema: { tags: ['auth'], security, response: responses({ 200: envelope({}) }) },
    },
    async (request) => {
      await sessions.logout(request.actor);
      return { code: 200, message: 'logged out' };
    },
  );

  app.post(
    '/logout_all',
    {
      onRequest: signedIn,
      schema: {
        tags: ['auth'],
        security,
        response: responses({ 200: envelope({ sessions_ended: Type.Integer() }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'logged out everywhere',
      sessions_ended: await sessions.revokeAll(request.userId),
    }),
  );

  app.get(
    '/sessions',
    {
      onRequest: signedIn,
      schema: {
        tags: ['auth'],
        security,
        response: responses({ 200: envelope({ sessions: Type.Array(Session) }) }),
      },
    },
    async (request) => ({ code: 200, message: 'ok', sessions: await sessions.list(request.actor) }),
  );

  app.delete(
    '/sessions/:id',
    {
      onRequest: signedIn,
      schema: {
        tags: ['auth'],
        security,
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: envelope({}) }),
      },
    },
    async (request) => {
      await sessions.revoke(request.actor, request.params.id);
      return { code: 200, message: 'session ended' };
    },
  );

  app.post(
    '/change_password',
    {
      onRequest: signedIn,
      schema: {
        tags: ['auth'],
        security,
        body: Type.Object({
          old_password: Type.String({ maxLength: 1000 }),
          new_password: Type.String({ maxLength: 1000 }),
        }),
        response: responses({ 200: envelope({ sessions_ended: Type.Integer() }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'password changed',
      ...(await auth.changePassword(request.actor, request.body)),
    }),
  );

  app.post(
    '/reset_password',
    {
      config: { rateLimitProfile: 'captcha' },
      schema: {
        tags: ['auth'],
        body: Type.Object({
          identifier: Type.String({ maxLength: 255 }),
          type: Type.String({ maxLength: 10 }),
          code: Type.String({ maxLength: 20 }),
          new_password: Type.String({ maxLength: 1000 }),
        }),
        response: responses({ 200: envelope({ sessions_ended: Type.Integer() }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'password reset',
      ...(await auth.resetPassword(request.body, { ip: request.ip })),
    }),
  );

  app.delete(
    '/me',
    {
      onRequest: signedIn,
      schema: {
        tags: ['auth'],
        security,
        body: Type.Object({ password: Type.String({ maxLength: 1000 }) }),
        response: responses({ 200: envelope({}) }),
      },
    },
    async (request) => {
      await accounts.deleteAccount(request.actor, request.body.password);
      return { code: 200, message: 'account deleted' };
    },
  );
};
