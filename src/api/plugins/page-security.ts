import type { FastifyInstance } from 'fastify';

/**
 * The web page's Content-Security-Policy: its own scripts and styles only (no
 * inline script, style or style attribute), audio from object URLs, calls to
 * this origin, never framed.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Sends the page's security headers with every response except the API
 * reference under /docs (swagger-ui runs inline code and keeps no policy).
 */
export function addPageSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    if (request.url === '/docs' || request.url.startsWith('/docs/')) return;
    if (!reply.hasHeader('content-security-policy')) {
      void reply.header('content-security-policy', PAGE_CSP);
    }
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
  });
}
