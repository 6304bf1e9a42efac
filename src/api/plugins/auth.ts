import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, type Actor, type TokenService } from '../../services/token.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user's id (set by `requireAccessToken`). */
    userId: string;
    /** The whole caller: user, and the session or API key it came through. */
    actor: Actor;
  }
}

/**
 * onRequest hook: a valid access token of a live session, or an API key
 * (`Bearer tmb_…`); otherwise the original's 401.
 */
export function requireAccessToken(tokens: TokenService) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const actor = await tokens.authenticate(request.headers.authorization);
    request.actor = actor;
    request.userId = actor.userId;
    request.log = request.log.child({ user_id: request.userId });
  };
}

/** onRequest hook for /refresh: a valid refresh token (its session is checked by the service). */
export function requireRefreshToken(tokens: TokenService) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const claims = await tokens.verify(bearerToken(request.headers.authorization), 'refresh');
    request.userId = claims.userId;
    request.actor = { userId: claims.userId, sessionId: claims.sessionId };
    request.refreshClaims = claims;
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified refresh token (set by `requireRefreshToken`). */
    refreshClaims?: import('../../services/token.service.js').TokenClaims;
  }
}
