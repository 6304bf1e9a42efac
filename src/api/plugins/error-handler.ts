import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

interface Mapped {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/**
 * The one place where errors become HTTP responses: domain `AppError`s keep
 * their status and message, framework errors get a reason naming the field,
 * anything else is a 500 with only the request id (the cause is logged once).
 */
export function mapError(err: unknown, requestId: string, retryAfterSec = 5): Mapped {
  if (err instanceof AppError) {
    return {
      status: err.status,
      headers:
        err.status === 503 && !err.headers?.['retry-after']
          ? { ...err.headers, 'retry-after': String(retryAfterSec) }
          : err.headers,
      body: {
        code: err.status,
        message: err.message,
        ...(err.info ? { error_info: err.info } : {}),
        ...err.extra,
        ...(err.status >= 500 ? { request_id: requestId } : {}),
      },
    };
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown[] };
  // A client error that carries a network code is the client's: Node's
  // "aborted" (ECONNRESET, a client gone in the middle of its body) is not a
  // database outage.
  const clientsOwn = typeof fe.statusCode === 'number' && fe.statusCode < 500;
  if (!clientsOwn && databaseUnavailable(err)) {
    return {
      status: 503,
      headers: { 'retry-after': String(retryAfterSec) },
      body: {
        code: 503,
        message: 'Service temporarily unavailable',
        error_info: `the database is not answering; retry in ${retryAfterSec} s`,
        request_id: requestId,
      },
    };
  }
  if (fe.validation && fe.validationContext) {
    return { status: 400, body: validationBody(fe) };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return client(400, 'Malformed JSON body', fe.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return client(413, 'Request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return client(415, 'Unsupported Content-Type', fe.message);
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return client(415, 'Expected multipart/form-data');
    case 'FST_FILES_LIMIT':
      return client(400, 'Only one file may be uploaded');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return client(400, 'Too many form fields');
    case undefined:
    default:
      break;
  }
  if (err instanceof SyntaxError && /JSON/.test(err.message)) {
    return client(400, 'Malformed JSON body', err.message);
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) return client(status, fe.message ?? 'bad request');
  return {
    status: 500,
    body: { code: 500, message: 'internal server error', request_id: requestId },
  };
}

/** Codes of a database that is down, unreachable, gone or overloaded (mysql2, better-sqlite3, Node). */
const DB_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_BAD_DB_ERROR',
  'ER_NO_DB_ERROR',
  'ER_NO_SUCH_TABLE',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_OPTION_PREVENTS_STATEMENT',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
]);

/**
 * Whether `err` (or an error it wraps) says the database cannot serve now:
 * such a request failed for the server's reasons and may be retried (503).
 */
export function databaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (DB_DOWN_CODES.has(code) || /^SQLITE_(IOERR|BUSY|CANTOPEN)_/.test(code)) return true;
    }
    const msg = (e as { message?: unknown }).message;
    if (typeof msg === 'string' && /^Pool is closed|^Timeout acquiring a connection/.test(msg)) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function client(status: number, message: string, info?: string): Mapped {
  return { status, body: { code: status, message, ...(info ? { error_info: info } : {}) } };
}

function validationBody(fe: Partial<FastifyError> & { validation?: unknown[] }) {
  const issues = (fe.validation ?? []) as {
    instancePath?: string;
    keyword?: string;
    params?: Record<string, unknown>;
    message?: string;
  }[];
  const missing = issues
    .filter((i) => i.keyword === 'required')
    .map((i) => i.params?.missingProperty)
    .filter((m): m is string => typeof m === 'string')
    .filter(Boolean);
  if (missing.length) {
    return { code: 400, message: `Missing fields: ${missing.join(', ')}`, error_info: fe.message };
  }
  const first = issues[0];
  const field =
    (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || fe.validationContext;
  return {
    code: 400,
    message: `Invalid field: ${field}`,
    error_info: `${field} ${first?.message ?? 'is invalid'}`,
  };
}

export function registerErrorHandling(app: FastifyInstance, retryAfterSec = 5): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = mapError(err, request.id, retryAfterSec);
    if (mapped.status >= 500) {
      request.log.error({ err }, 'request failed');
    } else if (!(err instanceof AppError)) {
      request.log.info({ status: mapped.status, reason: mapped.body.message }, 'request rejected');
    }
    if (mapped.headers) void reply.headers(mapped.headers);
    return reply.status(mapped.status).type('application/json; charset=utf-8').send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    return reply.status(404).send({
      code: 404,
      message: 'Not found',
      error_info: `no route for ${request.method} ${request.url.split('?')[0]}`,
    });
  });
}
