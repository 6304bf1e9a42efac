import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { mapError } from '../plugins/error-handler.js';

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function typeFor(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  return 'invalid_request_error';
}

function codeFor(status: number, fallback: string | null): string | null {
  switch (status) {
    case 401:
      return 'invalid_api_key';
    case 404:
      return fallback ?? 'not_found';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limit_exceeded';
    case 503:
      return 'service_unavailable';
    default:
      return status >= 500 ? 'server_error' : fallback;
  }
}

/**
 * Any error as OpenAI's shape, with the status, headers (Retry-After) and
 * message Timbre's own mapper chose; `param` names the request field when known.
 */
export function openAiError(
  err: unknown,
  requestId: string,
): { status: number; headers?: Record<string, string>; body: OpenAiErrorBody } {
  const mapped = mapError(err, requestId);
  const b = mapped.body as { message?: string; error_info?: string; request_id?: string };
  let param: string | null = null;
  let code: string | null = null;
  if (err instanceof AppError && typeof err.extra?.param === 'string') param = err.extra.param;
  if (err instanceof AppError && typeof err.extra?.openai_code === 'string')
    code = err.extra.openai_code;
  const validation = (
    err as { validation?: { instancePath?: string; params?: Record<string, unknown> }[] }
  ).validation;
  if (!param && validation?.[0]) {
    const first = validation[0];
    const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const missing = first.params?.missingProperty;
    param = path || (typeof missing === 'string' ? missing : null);
  }
  let message = b.message ?? 'error';
  if (b.error_info) message += ` (${b.error_info})`;
  if (b.request_id) message += ` [request id ${b.request_id}]`;
  return {
    status: mapped.status,
    headers: mapped.headers,
    body: {
      error: { message, type: typeFor(mapped.status), param, code: codeFor(mapped.status, code) },
    },
  };
}

/** Errors and unknown routes of this scope answer in OpenAI's shape. */
export function registerOpenAiErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = openAiError(err, request.id);
    if (e.status >= 500) request.log.error({ err }, 'request failed');
    else if (!(err instanceof AppError))
      request.log.info({ status: e.status, reason: e.body.error.message }, 'request rejected');
    if (e.headers) void reply.headers(e.headers);
    return reply.status(e.status).type('application/json; charset=utf-8').send(e.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: OpenAiErrorBody = {
      error: {
        message: `Unknown request URL: ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_url',
      },
    };
    return reply.status(404).type('application/json; charset=utf-8').send(body);
  });
}
