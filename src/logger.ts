import type { LoggerOptions } from 'pino';

/** Paths pino replaces with [Redacted]: credentials never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  '*.password',
  '*.password_hash',
  '*.access_token',
  '*.refresh_token',
  '*.apiKey',
  '*.api_key',
  '*.token',
  'password',
  'apiKey',
];

/** Hides the signature of signed download links in logged URLs. */
export function scrubUrl(url: string): string {
  return url.replace(/([?&](?:sig|signature|token)=)[^&]*/gi, '$1[Redacted]');
}

/** Pino options shared by the HTTP server and the worker. */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
        method: req.method,
        url: scrubUrl(req.url),
        remote: req.ip,
      }),
    },
  };
}
