import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, type TokenService } from '../../services/token.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user's id (set by `requireAccessToken`). */
    userId: string;
  }
}

/** onRequest hook: a valid access token or the original's 401. */
export function requireAccessToken(tokens: TokenService) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.userId = await tokens.verify(bearerToken(request.headers.authorization), 'access');
    request.log = request.log.child({ user_id: request.userId });
  };
}

/** onRequest hook for /refresh: a valid refresh token. */
export function requireRefreshToken(tokens: TokenService) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.userId = await tokens.verify(bearerToken(request.headers.authorization), 'refresh');
  };
}
