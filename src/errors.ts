/**
 * Domain errors. Services throw `AppError`s built from the ERRORS table; the
 * one error handler (api/plugins/error-handler.ts) turns them into the
 * `{code, message, error_info?}` envelope. Nothing else sets HTTP statuses.
 */

export interface AppErrorOptions {
  /** Human-readable detail, sent as `error_info`. */
  info?: string;
  /** Extra envelope keys (e.g. `msg` for token failures, `voice_id`). */
  extra?: Record<string, unknown>;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly info?: string;
  readonly extra?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    opts: AppErrorOptions = {},
  ) {
    super(message, { cause: opts.cause });
    this.info = opts.info;
    this.extra = opts.extra;
    this.headers = opts.headers;
  }
}

const make =
  (status: number, fallback: string) =>
  (message: string = fallback, opts?: AppErrorOptions) =>
    new AppError(status, message, opts);

export const ERRORS = {
  badRequest: make(400, 'bad request'),
  unauthorized: make(401, 'unauthorized'),
  forbidden: make(403, 'forbidden'),
  notFound: make(404, 'not found'),
  requestTimeout: make(408, 'request timeout'),
  conflict: make(409, 'conflict'),
  tooLarge: make(413, 'payload too large'),
  uriTooLong: make(414, 'URI too long'),
  unsupportedMedia: make(415, 'unsupported media type'),
  rangeNotSatisfiable: make(416, 'range not satisfiable'),
  unprocessable: make(422, 'unprocessable entity'),
  tooManyRequests: make(429, 'too many requests'),
  badGateway: make(502, 'bad gateway'),
  unavailable: make(503, 'service unavailable'),
  /** A token problem: 401 with the envelope plus the original's `msg` key. */
  token: (msg: string) => new AppError(401, msg, { extra: { msg } }),
} as const;
